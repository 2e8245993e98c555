"""Searching an open whoosh index: pages of hits with snippets, counts, facets, similar cables.

The engine functions behind ``CableIndex.search/count/facets/iter_search/more_like``. Each takes a
*source* and a query:

- source: a whoosh ``Index`` (every call opens a fresh searcher, so a committed update is seen),
  a zero-argument callable returning the current whoosh ``Index`` (re-resolved on every call, so
  a rebuild that swaps generations is followed), or an open whoosh ``Searcher`` (used as is: the
  caller's snapshot). A read that fails because files vanished under it is retried once on a
  freshly opened index; a second failure raises :class:`~cablesearch.errors.IndexStateError`.
- query: query text (parsed and compiled with :mod:`cablesearch.query`, wildcard expansion
  checked against the index), a parsed ``Query``, or a compiled whoosh query.

Everything returned is plain data built inside the searcher (``Hit``, ``Snippet``,
:class:`SearchResults`), usable after the index is closed. With ``ordering.py``, ``highlight.py``
and ``facets.py`` this is the search side of the engine adapter; renderers never see whoosh.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from whoosh import query as wq
from whoosh.searching import Searcher

from .engine import _TRANSIENT, _borrowed, _open, stored_fields, with_searcher
from .errors import IndexStateError
from .facets import DEFAULT_FACETS, count_facets, leaf_docs
from .highlight import DEFAULT_WIDTH, Highlighter, build_highlighter, lead_snippet
from .model import Hit, Snippet
from .ordering import SORTS, ordered

DEFAULT_LIMIT = 10
#: Hits built per step of :func:`iter_search`.
BATCH = 500
#: Terms of a cable's body (and subject) that ``more_like`` searches for.
LIKE_BODY_TERMS, LIKE_SUBJECT_TERMS = 12, 4


@dataclass(frozen=True, slots=True)
class SearchResults:
    """One page of hits, plain data. ``len()`` and iteration are over this page's hits."""

    hits: tuple[Hit, ...]
    total: int
    page: int = 1
    pagelen: int = DEFAULT_LIMIT
    query: str = ""
    warnings: tuple[Any, ...] = ()
    elapsed: float = 0.0
    sort: str = "relevance"

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.pagelen))

    @property
    def is_last_page(self) -> bool:
        return self.page >= self.pages

    def __len__(self) -> int:
        return len(self.hits)

    def __iter__(self) -> Iterator[Hit]:
        return iter(self.hits)

    def __getitem__(self, i: int) -> Hit:
        return self.hits[i]


# --------------------------------------------------------------------------- sources and queries


def prepare_query(query: Any, schema: Any, reader: Any = None) -> tuple[wq.Query, str, tuple[Any, ...]]:
    """``(whoosh query, query text, warnings)`` for query text, a parsed ``Query`` or a whoosh query."""
    if isinstance(query, wq.Query):
        return query, str(query), ()
    from .query import compile_query, parse_query

    parsed = parse_query(query) if isinstance(query, str) else query  # a Query, or a bare AST node
    warnings = list(getattr(parsed, "warnings", ()))
    compiled = compile_query(parsed, schema, reader=reader, warnings=warnings)
    return compiled, getattr(parsed, "text", "") or str(compiled), tuple(warnings)


def _check(limit: int, page: int, sort: str) -> None:
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
    if limit < 1 or page < 1:
        raise ValueError("limit and page must be 1 or more")


# --------------------------------------------------------------------------- hits


def _tags(value: Any) -> tuple[str, ...]:
    if isinstance(value, list | tuple):
        return tuple(value)
    return tuple(t for t in (value or "").split(",") if t)


def to_hit(
    s: Searcher, docnum: int, score: float | None = None, rank: int = 0, *,
    highlighter: Highlighter | None = None, snippets: int = 3, width: int = DEFAULT_WIDTH,
) -> Hit:
    """A plain :class:`Hit` from the stored fields of one document, with its snippets."""
    f = stored_fields(s, docnum, apart=snippets > 0)  # the body only for its snippets
    subject = f.get("subject")
    shown: list[Snippet] = []
    if snippets > 0:
        body = f.get("body") or ""
        if highlighter is not None and subject:
            shown.extend(highlighter.snippets(subject, count=1, width=len(subject) + 1, field="subject"))
        body_snippets = highlighter.snippets(body, count=snippets, width=width) if highlighter else ()
        lead = None if body_snippets else lead_snippet(body, width=width)
        shown.extend(body_snippets or ((lead,) if lead else ()))
    try:
        entities = json.loads(f.get("entities") or "{}")
    except ValueError:
        entities = {}
    return Hit(
        ref=f.get("ref", ""), score=score, date=f.get("date"), classification=f.get("label") or "",
        origin=f.get("origin"), tags=_tags(f.get("tag")), subject=subject, entities=entities,
        snippets=tuple(shown), source=f.get("path"), rank=rank,
    )


# --------------------------------------------------------------------------- the API


def search(
    source: Any, query: Any, *, limit: int = DEFAULT_LIMIT, page: int = 1, sort: str = "relevance",
    snippets: int = 3, snippet_chars: int = DEFAULT_WIDTH,
) -> SearchResults:
    """Page ``page`` (from 1) of ``limit`` hits for ``query``, ordered by ``sort``: ``relevance``
    (BM25F, subject above body), ``date`` (oldest first) or ``-date`` (newest first); ties by ref.
    ``snippets`` passages of about ``snippet_chars`` characters per hit; 0 for none (faster)."""
    _check(limit, page, sort)
    t0 = time.perf_counter()

    def run(s: Searcher) -> SearchResults:
        q, text, warnings = prepare_query(query, s.schema, s.reader())
        total, rows = ordered(s, q, sort, page * limit)
        hl = build_highlighter(q, s.schema, s.reader()) if snippets > 0 else None
        first = (page - 1) * limit
        hits = tuple(
            to_hit(s, d, score, first + i + 1, highlighter=hl, snippets=snippets, width=snippet_chars)
            for i, (d, score) in enumerate(rows[first:first + limit])
        )
        return SearchResults(hits, total, page, limit, text, warnings, time.perf_counter() - t0, sort)

    return with_searcher(source, run)


def count(source: Any, query: Any) -> int:
    """How many cables match ``query``."""

    def run(s: Searcher) -> int:
        q, _, _ = prepare_query(query, s.schema, s.reader())
        return sum(len(leaf_docs(leaf, q)) for leaf, _offset in s.leaf_searchers())

    return with_searcher(source, run)


def facets(
    source: Any, query: Any, *, by: tuple[str, ...] = DEFAULT_FACETS, top: int = 10
) -> dict[str, list[tuple[Any, int]]]:
    """For each field in ``by``: the ``top`` values (0: all) among ALL matches of ``query`` with how many
    matches have each, most first (``{"tag": [("PREL", 310), ...], "year": [(2009, 120), ...]}``).
    Values as users read them: tags, origins and classification levels uppercase, years as ints,
    entity mentions as written. Field aliases are accepted (``classification`` is ``class``)."""

    def run(s: Searcher) -> dict[str, list[tuple[Any, int]]]:
        q, _, _ = prepare_query(query, s.schema, s.reader())
        return count_facets(s, q, by, top)

    return with_searcher(source, run)


def iter_search(
    source: Any, query: Any, *, sort: str = "relevance", snippets: int = 0,
    snippet_chars: int = DEFAULT_WIDTH, batch: int = BATCH,
) -> Iterator[Hit]:
    """Every match of ``query`` as :class:`Hit`, in ``sort`` order, built ``batch`` at a time from one
    snapshot of the index (an update committed meanwhile is not seen). Holds only the ordered
    document numbers and one batch of hits in memory. Snippets are off by default (export)."""
    _check(1, 1, sort)
    borrowed = _borrowed(source)
    if borrowed is not None:
        yield from _iter_hits(borrowed, query, sort, snippets, snippet_chars, batch)
        return
    for attempt in (0, 1):
        try:
            s = _open(source)
        except _TRANSIENT as e:
            if attempt:
                raise IndexStateError(f"the index could not be read: {e}") from e
            continue
        with s:
            try:
                prepared = _prepare_iter(s, query, sort)
            except _TRANSIENT as e:
                if attempt:
                    raise IndexStateError(f"the index could not be read: {e}") from e
                continue
            yield from _hits_in_batches(s, *prepared, snippets, snippet_chars, batch)
            return


def _prepare_iter(s: Searcher, query: Any, sort: str) -> tuple[list[tuple[int, float | None]], Highlighter]:
    q, _, _ = prepare_query(query, s.schema, s.reader())
    _, rows = ordered(s, q, sort, None)
    return rows, build_highlighter(q, s.schema, s.reader())


def _iter_hits(s: Searcher, query: Any, sort: str, snippets: int, width: int, batch: int) -> Iterator[Hit]:
    yield from _hits_in_batches(s, *_prepare_iter(s, query, sort), snippets, width, batch)


def _hits_in_batches(
    s: Searcher, rows: list[tuple[int, float | None]], hl: Highlighter, snippets: int, width: int, batch: int
) -> Iterator[Hit]:
    for start in range(0, len(rows), max(1, batch)):
        chunk = [
            to_hit(s, d, score, start + i + 1, highlighter=hl, snippets=snippets, width=width)
            for i, (d, score) in enumerate(rows[start:start + batch])
        ]
        yield from chunk


def more_like(
    source: Any, ref: str, *, limit: int = DEFAULT_LIMIT, snippets: int = 0, snippet_chars: int = DEFAULT_WIDTH,
) -> SearchResults:
    """Cables similar to cable ``ref``: its most telling body and subject words, searched in body
    and subject; the cable itself is left out. No such cable: no hits, and a warning."""
    _check(limit, 1, "relevance")
    t0 = time.perf_counter()
    shown = f"like:{ref}"

    def run(s: Searcher) -> SearchResults:
        key = [t.text for t in s.schema["ref"].tokenize(ref)]
        docnum = s.document_number(ref=key[0]) if key else None
        if docnum is None:
            return SearchResults((), 0, 1, limit, shown, (f"no cable {ref!r} in the index",), 0.0)
        q = similar_query(s, stored_fields(s, docnum))
        if q is None:
            return SearchResults((), 0, 1, limit, shown, (), time.perf_counter() - t0)
        total, rows = ordered(s, q, "relevance", limit, mask={docnum})
        hl = build_highlighter(q, s.schema) if snippets > 0 else None
        hits = tuple(to_hit(s, d, score, i + 1, highlighter=hl, snippets=snippets, width=snippet_chars)
                     for i, (d, score) in enumerate(rows))
        return SearchResults(hits, total, 1, limit, shown, (), time.perf_counter() - t0)

    return with_searcher(source, run)


def similar_query(s: Searcher, stored: dict[str, Any]) -> wq.Query | None:
    """An OR of the key terms of a cable's body and subject (Bo1 weights as boosts), over both fields."""
    terms: dict[str, float] = {}
    for fieldname, n in (("body", LIKE_BODY_TERMS), ("subject", LIKE_SUBJECT_TERMS)):
        text = stored.get(fieldname) or ""
        if not text.strip():
            continue
        found = s.key_terms_from_text(fieldname, text, numterms=n * 3)
        good = [(w, b) for w, b in found if len(w) > 2 and not w.isdigit() and set(w) != {"x"}]
        for word, weight in good[:n]:
            terms[word] = max(terms.get(word, 0.0), weight)
    if not terms:
        return None
    return wq.Or([wq.Term(f, w, boost=b) for w, b in terms.items() for f in ("body", "subject")])


def highlighter(query: Any, source: Any = None) -> Highlighter:
    """The :class:`Highlighter` for query text, to mark matches in any text (``render_cable_text``).
    With a ``source`` (index), fuzzy words expand against it; without, the default schema is used."""
    if source is None:
        from .engine import whoosh_schema

        schema = whoosh_schema()
        q, _, _ = prepare_query(query, schema)
        return build_highlighter(q, schema)

    def run(s: Searcher) -> Highlighter:
        q, _, _ = prepare_query(query, s.schema, s.reader())
        return build_highlighter(q, s.schema, s.reader())

    return with_searcher(source, run)


__all__ = [
    "DEFAULT_FACETS",
    "SORTS",
    "SearchResults",
    "count",
    "facets",
    "highlighter",
    "iter_search",
    "more_like",
    "ordered",
    "prepare_query",
    "search",
    "similar_query",
    "to_hit",
    "with_searcher",
]
