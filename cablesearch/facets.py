"""Facet counts over every match of a query, and the per-document values they are read from.

Per segment, each document's display values (a tuple: its tags, its class, its year) are worked
out once and coded as a small int per document (:func:`segment_codes`, cached: segments never
change); a count is then a ``Counter`` of the matching documents' ints, and each distinct tuple
adds its count to each of its values. The matching documents come from :func:`leaf_docs` (ANDs,
ORs and NOTs as set operations). The values come, fastest first, from:

1. the field's column, when the schema makes the field ``sortable``, read whole in one sweep
   (:func:`column_values`; the only way that stays fast on a large index),
2. a cache of per-segment value lists built from the term index (lexicon + postings): costly
   once per segment and field, then as fast as a column. Segments never change once written,
   so the cache (the most recent :data:`CACHE_SEGMENTS` entries) serves every later searcher,
3. for entity fields without a column, the stored ``entities`` JSON: a stored-fields read per
   document, slow (about 50 µs each).

Displayed values: tags, origins and classification levels uppercase; numbers as ints; entity
mentions as written; redaction placeholders (``XXXXXXXXXXXX``) and the ``sbu`` alias left out.
"""

from __future__ import annotations

import json
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from whoosh import query as wq

from .engine import MENTION_SEP
from .errors import QueryError, UnknownFieldError
from .schema import ENTITY_FIELDS, FIELD_BY_NAME, resolve_field, suggest_fields

T = TypeVar("T")

DEFAULT_FACETS: tuple[str, ...] = ("tag", "class", "origin", "year")
FACET_KINDS = ("keyword", "id", "number", "entity")
#: Segment value lists kept (each is one list of tuples per document of a segment).
CACHE_SEGMENTS = 64

_cache: OrderedDict[tuple[str, str], Any] = OrderedDict()
_lock = threading.Lock()


def facet_field(name: str) -> str:
    """The canonical field for a facet name; raises ``UnknownFieldError``/``QueryError``."""
    canon = resolve_field(name)
    if canon is None:
        raise UnknownFieldError(name, suggest_fields(name))
    if FIELD_BY_NAME[canon].kind not in FACET_KINDS:
        kind = FIELD_BY_NAME[canon].kind
        what = {"text": "running text", "date": "dates (count by year)", "stored": "a value shown, not searched"}
        raise QueryError(f"cannot count by '{canon}': it holds {what.get(kind, kind)}, not values to count")
    return canon


def _display(fieldname: str) -> Callable[[Any], Any]:
    kind = FIELD_BY_NAME[fieldname].kind
    if kind == "number":
        return int
    if kind == "entity":
        return str
    return lambda v: str(v).upper()


def _keep(fieldname: str, value: Any) -> bool:
    if isinstance(value, int):
        return True
    v = value.strip()
    if not v:
        return False
    if fieldname == "class" and v.lower() == "sbu":  # to_document's alias of "sensitive"
        return False
    return not (FIELD_BY_NAME[fieldname].kind == "entity" and set(v.lower()) <= {"x", " "})


def _split(fieldname: str, raw: Any) -> tuple[Any, ...]:
    """A column value -> the document's distinct display values."""
    kind = FIELD_BY_NAME[fieldname].kind
    if kind == "number":
        return (int(raw),) if raw is not None else ()
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw or "")
    sep = MENTION_SEP if kind == "entity" else ","
    parts = text.split(sep) if kind in ("keyword", "entity") else [text]
    show = _display(fieldname)
    return tuple(dict.fromkeys(show(p.strip()) for p in parts if _keep(fieldname, p)))


def _segment_key(reader: Any) -> str | None:
    try:
        return reader.segment().segment_id()
    except (AttributeError, NotImplementedError):
        return None


def _cached(reader: Any, name: str, make: Callable[[], T]) -> T:
    """``make()`` for one segment reader, kept (LRU) under the segment's id and ``name``; not
    kept for a reader that is not one segment."""
    key = _segment_key(reader)
    if key is None:
        return make()
    with _lock:
        hit = _cache.get((key, name))
        if hit is not None:
            _cache.move_to_end((key, name))
            return hit
    got = make()
    with _lock:
        _cache[(key, name)] = got
        while len(_cache) > CACHE_SEGMENTS * 8:
            _cache.popitem(last=False)
    return got


def segment_values(reader: Any, fieldname: str) -> list[tuple[Any, ...]]:
    """Per document of one segment reader: the distinct display values of ``fieldname``, cached."""
    return _cached(reader, fieldname, lambda: _build(reader, fieldname))


def column_values(reader: Any, fieldname: str) -> list[Any]:
    """The raw column values of ``fieldname`` for every document of one segment reader, read in
    one sweep (far cheaper than a column lookup per document) and cached like :func:`segment_values`.
    Equal values share one object. The field must have a column (``reader.has_column``)."""

    def make() -> list[Any]:
        shared: dict[Any, Any] = {}
        return [shared.setdefault(v, v) for v in reader.column_reader(fieldname, translate=False)]

    return _cached(reader, "\0column:" + fieldname, make)


def _has_column(reader: Any, fieldname: str) -> bool:
    """``reader.has_column``, False for a field the index does not have (``entity``: counted from
    the stored mentions), where whoosh raises KeyError."""
    return fieldname in reader.schema and reader.has_column(fieldname)


def _build(reader: Any, fieldname: str) -> list[tuple[Any, ...]]:
    n = reader.doc_count_all()
    if _has_column(reader, fieldname):
        expand = _expander(reader, fieldname)
        return [expand(v) for v in column_values(reader, fieldname)]
    if FIELD_BY_NAME[fieldname].kind == "entity":
        return [_stored_entities(reader, fieldname, d) for d in range(n)]
    lists: list[tuple[Any, ...]] = [()] * n
    if fieldname not in reader.indexed_field_names():
        return lists
    fieldobj = reader.schema[fieldname]
    show = _display(fieldname)
    numeric = FIELD_BY_NAME[fieldname].kind == "number"
    terms = ((b, None) for b in fieldobj.sortable_terms(reader, fieldname)) if numeric else reader.iter_field(fieldname)
    for btext, info in terms:
        value = fieldobj.from_bytes(btext)
        if not _keep(fieldname, value):
            continue
        shown = show(value)
        if info is not None and info.doc_frequency() == 1:  # a unique key (ref): no postings to open
            docs: Any = (info.min_id(),)
        else:
            docs = reader.postings(fieldname, btext).all_ids()
        for d in docs:
            lists[d] = (*lists[d], shown)
    return lists


def _expander(reader: Any, fieldname: str) -> Callable[[Any], tuple[Any, ...]]:
    """Raw column value -> the document's distinct display values (memoized: values repeat)."""
    fieldobj = reader.schema[fieldname]
    missing = fieldobj.column_type.default_value()
    memo: dict[Any, tuple[Any, ...]] = {}

    def expand(raw: Any) -> tuple[Any, ...]:
        got = memo.get(raw)
        if got is None:
            got = memo[raw] = () if raw == missing else _split(fieldname, fieldobj.from_column_value(raw))
        return got

    return expand


def _stored_entities(reader: Any, fieldname: str, docnum: int) -> tuple[Any, ...]:
    try:
        by_type = json.loads(reader.stored_fields(docnum).get("entities") or "{}")
    except ValueError:
        return ()
    types = [t.value for t in ENTITY_FIELDS.values()] if fieldname == "entity" else [ENTITY_FIELDS[fieldname].value]
    out = (m for t in types for m in by_type.get(t, ()))
    return tuple(dict.fromkeys(m.strip() for m in out if _keep(fieldname, m)))


def segment_codes(reader: Any, fieldname: str) -> tuple[list[int], list[tuple[Any, ...]]]:
    """:func:`segment_values` as small ints: ``codes[docnum]`` indexes ``table``, the distinct value
    tuples of the segment (documents share them: a class label, a tag set). Counting ints is the
    fastest way to count a segment's matches; cached per segment like the values."""

    def make() -> tuple[list[int], list[tuple[Any, ...]]]:
        ids: dict[tuple[Any, ...], int] = {}
        codes = [ids.setdefault(v, len(ids)) for v in segment_values(reader, fieldname)]
        return codes, list(ids)

    return _cached(reader, "\0codes:" + fieldname, make)


def _count_segment(reader: Any, fieldname: str, docs: list[int], into: Counter) -> None:
    """Add the values of ``docs`` (one segment) to ``into``: the segment's value tuples are counted
    first as ints (:func:`segment_codes`: built once per segment from its column, read whole), then
    each distinct tuple adds its count to each of its values."""
    if not _has_column(reader, fieldname) and FIELD_BY_NAME[fieldname].kind == "entity":
        key = _segment_key(reader)
        with _lock:
            cached = _cache.get((key, fieldname)) if key is not None else None
        if cached is None:  # slow: a stored-fields read per document; not worth a whole segment's
            for value, n in Counter(_stored_entities(reader, fieldname, d) for d in docs).items():
                for v in value:
                    into[v] += n
            return
    codes, table = segment_codes(reader, fieldname)
    for code, n in Counter(map(codes.__getitem__, docs)).items():
        for v in table[code]:
            into[v] += n


#: An AND is worked out as sets unless one part is this many times smaller than another: then
#: whoosh's intersection, which skips through the big part's postings, is cheaper.
SKEW = 100


def leaf_docs(leaf: Any, q: Any) -> set[int]:
    """The document numbers of one segment searcher that match the whoosh query ``q``, as a set.

    ANDs, ORs and the NOTs inside an AND (the shapes the query compiler makes) are worked out as
    set operations on their parts' documents; every other part (a term, phrase, range, pattern)
    is whoosh's own ``q.docs``. whoosh combines its matchers one document at a time in Python,
    several calls per document and part; a set operation is one C loop."""
    kind = type(q)
    if kind is wq.Or:
        out: set[int] = set()
        for part in q.subqueries:
            out |= leaf_docs(leaf, part)
        return out
    if kind is wq.And:
        include = [p for p in q.subqueries if not isinstance(p, wq.Not)]
        exclude = [p.query for p in q.subqueries if isinstance(p, wq.Not)]
        if include:
            reader = leaf.reader()
            sizes = [p.estimate_size(reader) for p in include]
            if min(sizes) * SKEW >= max(sizes):
                sets = sorted((leaf_docs(leaf, p) for p in include), key=len)
                out = sets[0].intersection(*sets[1:])
                for p in exclude:
                    if not out:
                        break
                    out -= leaf_docs(leaf, p)
                return out
    if issubclass(kind, wq.Term) and not issubclass(kind, wq.MultiTerm):  # wq.Term, bulk.Term
        from .bulk import term_docs  # bulk -> weighting -> facets: imported when first needed

        found = term_docs(leaf.reader(), q.fieldname, q.text)
        if found is not None:
            return found
    return set(q.docs(leaf))


def count_facets(s: Any, q: Any, by: tuple[str, ...], top: int) -> dict[str, list[tuple[Any, int]]]:
    """Facet counts of the whoosh query ``q`` over every match (see :func:`cablesearch.search.facets`)."""
    names = {name: facet_field(name) for name in by}
    counters: dict[str, Counter] = {canon: Counter() for canon in names.values()}
    for leaf, _offset in s.leaf_searchers():
        docs = sorted(leaf_docs(leaf, q))
        if docs:
            for canon, counter in counters.items():
                _count_segment(leaf.reader(), canon, docs, counter)
    out: dict[str, list[tuple[Any, int]]] = {}
    for name, canon in names.items():
        items = sorted(counters[canon].items(), key=lambda kv: (-kv[1], str(kv[0])))
        out[name] = items[:top] if top else items
    return out


def clear_cache() -> None:
    """Forget cached segment values (tests; memory)."""
    with _lock:
        _cache.clear()


__all__ = ["DEFAULT_FACETS", "clear_cache", "column_values", "count_facets", "facet_field", "leaf_docs",
           "segment_codes", "segment_values"]
