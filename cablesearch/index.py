"""The storage adapter: open an index, read cables back, figures about it; builds via ``build_index``.

Only this module, :mod:`cablesearch.build`, :mod:`cablesearch.buildworkers`, ``engine.py`` and
``query/compile.py`` know about whoosh. A :class:`CableIndex` is a snapshot: it opens one whoosh
searcher on the live generation when it is created and keeps it (every file stays open), so a
concurrent rebuild or update never pulls files from under it; :meth:`CableIndex.refresh` moves it
to the newest generation.
"""

from __future__ import annotations

import itertools
import json
import os
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from whoosh.codec.whoosh3 import W3TermInfo
from whoosh.index import EmptyIndexError
from whoosh.reading import TermNotFound

from . import indexdir
from .engine import fold, open_whoosh, stored_fields, with_searcher
from .errors import IndexNotFoundError, IndexStateError, UnsafeIndexError
from .facets import DEFAULT_FACETS
from .indexdir import BUILD_JSON, DEFAULT_INDEX, SKIPPED_TSV
from .model import LEVELS, Cable, Classification, Entity, EntityType, Hit
from .schema import FIELD_BY_NAME, readable_fingerprints
from .trust import check_index_trust, trusted_by_env

if TYPE_CHECKING:
    from . import search as _search
    from .build import BuildProgress, BuildReport

# Opening an index must not import the build path (build -> buildworkers -> sources -> cable and
# its parser's regexes: most of the shell's start-up).
#: The build path, imported on first use.
_LAZY = {"BuildProgress", "BuildReport"}


def build_index(*args: Any, **kwargs: Any) -> BuildReport:
    """:func:`cablesearch.build.build_index` (same arguments), imported when first called: so that
    ``from cablesearch.index import build_index, open_index`` stays cheap for the shell."""
    from .build import build_index as build

    return build(*args, **kwargs)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import build

        return getattr(build, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _api() -> Any:
    """:mod:`cablesearch.search`, imported on the first search, not when an index is opened: the
    shell reaches its prompt without it (and imports it in the background once the prompt is up)."""
    from . import search

    return search


#: Opening races a concurrent swap or commit (a file listed, then removed): retry this often.
_OPEN_ATTEMPTS = 5
#: About how many terms of the word list :meth:`CableIndex.prefix_counts` reads (shared by segments).
PREFIX_SCAN = 2_000


def open_index(path: str | os.PathLike[str] | None = None, *, trust: bool = False) -> CableIndex:
    """Open the index at ``path`` (default ``./index``).

    IndexNotFoundError when there is none (including a folder with only ``.gitkeep``);
    IndexStateError when it exists but cannot be used (damaged, or built for another field table);
    UnsafeIndexError (an IndexStateError) when another user owns it or others can write it, unless
    ``trust`` or ``CABLESEARCH_TRUST_INDEX=1`` (see :mod:`cablesearch.trust`).
    """
    return CableIndex(Path(DEFAULT_INDEX if path is None else path), trust=trust)


def current_whoosh_index(path: str | os.PathLike[str] | None = None) -> Any:
    """The whoosh index of the live generation at ``path``, resolved now (a zero-argument
    ``functools.partial`` of this follows rebuilds). Opened without mmap: see ``open_whoosh``."""
    return open_whoosh(indexdir.live_generation(Path(DEFAULT_INDEX if path is None else path)))


class CableIndex:
    """An open index. Use as a context manager, or call :meth:`close`."""

    def __init__(self, root: Path, *, trust: bool = False) -> None:
        self.root = root
        self.trust = trust
        self._searcher: Any = None
        self.generation: Path = root
        self.meta: dict[str, Any] = {}
        self._open()

    # -- lifecycle -----------------------------------------------------------------------------

    def _open(self) -> None:
        last: Exception | None = None
        for attempt in range(_OPEN_ATTEMPTS):
            try:
                gen = indexdir.live_generation(self.root)
                if not (self.trust or trusted_by_env()):
                    check_index_trust(self.root, gen)  # before whoosh unpickles anything
                ix = open_whoosh(gen)
                searcher = ix.searcher()
            except (IndexNotFoundError, UnsafeIndexError):
                raise
            except (IndexStateError, EmptyIndexError, OSError) as e:
                # CURRENT read just before a swap whose old generation is gone by now, or a file
                # removed by a commit between listing and opening: read CURRENT again.
                last = e
                time.sleep(0.02 * (attempt + 1))
                continue
            try:
                self._check_meta(gen)
            except BaseException:
                searcher.close()
                raise
            self._ix, self._searcher, self.generation = ix, searcher, gen
            self._thread = threading.get_ident()
            return
        if isinstance(last, IndexStateError):
            raise last
        raise IndexStateError(f"cannot open the index in {self.root}: {last}")

    def _check_meta(self, gen: Path) -> None:
        try:
            self.meta = json.loads((gen / BUILD_JSON).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.meta = {}
        fp = self.meta.get("fields")
        if fp is not None and fp not in readable_fingerprints():
            raise IndexStateError(f"the index in {self.root} was built for another version of the field table; "
                                  "rebuild it (`cablesearch build SOURCES`)")

    def refresh(self) -> bool:
        """Move to the newest generation (after a build or update). True when anything changed."""
        old_gen, old_toc = self.generation, self._ix.latest_generation()
        try:
            current = indexdir.live_generation(self.root)
        except (IndexNotFoundError, IndexStateError):
            return False
        if current == old_gen and self._searcher.up_to_date():
            return False
        previous = self._searcher
        self._open()
        previous.close()
        return self.generation != old_gen or self._ix.latest_generation() != old_toc

    def close(self) -> None:
        if self._searcher is not None:
            self._searcher.close()
            self._searcher = None

    def __enter__(self) -> CableIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def whoosh_index(self) -> Any:
        """The whoosh index of this snapshot's generation (a new searcher of it sees later updates)."""
        return self._ix

    def searcher(self) -> Any:
        """The whoosh searcher of this snapshot (owned by the index: do not close it; one thread at
        a time, like every whoosh searcher)."""
        if self._searcher is None:
            raise IndexStateError("the index is closed")
        return self._searcher

    # -- reading -------------------------------------------------------------------------------

    def doc_count(self) -> int:
        return self.searcher().doc_count()

    def __len__(self) -> int:
        return self.doc_count()

    def get(self, ref: str) -> Cable | None:
        """The cable with this key (case-insensitive), rebuilt from its stored fields, or None."""
        stored = self.get_stored(ref)
        return None if stored is None else cable_from_stored(stored)

    def get_stored(self, ref: str) -> dict[str, Any] | None:
        """The stored fields of the cable with this key, or None."""
        s = self.searcher()
        for token in s.schema["ref"].process_text(ref, mode="index"):
            docnum = s.document_number(ref=token)
            if docnum is not None:
                return dict(stored_fields(s, docnum))
        return None

    # -- searching (the engine functions live in cablesearch.search) ---------------------------

    def _engine(self) -> Any:
        """What cablesearch.search reads: this snapshot's searcher in the opening thread; in other
        threads a fresh searcher per call (a whoosh searcher must never be shared between threads)."""
        return self.searcher() if threading.get_ident() == self._thread else self._ix

    def search(self, query: Any, *, limit: int = 10, page: int = 1, sort: str = "relevance",
               snippets: int = 3, snippet_chars: int = 200) -> _search.SearchResults:
        """One page of the cables matching ``query`` (text in the query language, or a parsed Query)."""
        return _api().search(self._engine(), query, limit=limit, page=page, sort=sort,
                              snippets=snippets, snippet_chars=snippet_chars)

    def count(self, query: Any) -> int:
        """How many cables match ``query``."""
        return _api().count(self._engine(), query)

    def facets(self, query: Any, *, by: tuple[str, ...] = DEFAULT_FACETS,
               top: int = 10) -> dict[str, list[tuple[Any, int]]]:
        """For each field in ``by``, the ``top`` values over all matches with their counts."""
        return _api().facets(self._engine(), query, by=by, top=top)

    def iter_search(self, query: Any, *, sort: str = "relevance", snippets: int = 0) -> Iterator[Hit]:
        """Every match, streamed in batches (for export)."""
        return _api().iter_search(self._engine(), query, sort=sort, snippets=snippets)

    def more_like(self, ref: str, *, limit: int = 10, snippets: int = 0) -> _search.SearchResults:
        """Cables similar to the cable ``ref``, without itself."""
        return _api().more_like(self._engine(), ref, limit=limit, snippets=snippets)

    def highlighter(self, query: Any) -> Any:
        """Marks what ``query`` matches in a cable's text (used by ``render_cable_text``)."""
        return _api().highlighter(query, self._engine())

    def refs(self) -> list[str]:
        """Every key in the index (lowercased, as the ``ref`` field indexes them), sorted."""
        reader = self.searcher().reader()
        terms = [t for t, _info in reader.iter_field("ref")]
        if reader.has_deletions():
            # Only a deleted document's key can be a term without a live document: check those.
            field = reader.schema["ref"]
            suspects = {tok.encode("utf-8") for d in range(reader.doc_count_all()) if reader.is_deleted(d)
                        for tok in field.process_text(reader.stored_fields(d).get("ref", ""), mode="index")}
            terms = [t for t in terms if t not in suspects or any(True for _ in reader.postings("ref", t).all_ids())]
        return [t.decode("utf-8") for t in terms]

    def term_counts(self, fieldname: str, *, exact: bool = True) -> Counter[str]:
        """Documents per indexed term of a field, deleted documents excluded. ``exact=False``
        reads the lexicon's document frequencies only (at once, at any size), which still count
        the documents deleted or replaced since their segment was written: a count may be high by
        their share, and a term may have no live document left (see :meth:`live_terms`).
        ``entity`` (a union of org, per, loc and misc): exact, the cables with the word in any of
        them; not exact, the most cables of one of them (a lower bound)."""
        reader = self.searcher().reader()
        parts = _parts(reader, fieldname)
        if len(parts) == 1:
            return Counter({t.decode("utf-8"): n for t, n in _live_terms(reader, fieldname, exact)})
        if exact:  # entity: the live cables with the word in any of org, per, loc and misc
            return Counter({t.decode("utf-8"): n for t, n in _union_counts(reader, parts)})
        return _most_of(Counter({t.decode("utf-8"): n for t, n in _live_terms(reader, p, False)}) for p in parts)

    def live_terms(self, fieldname: str, terms: Iterable[str]) -> set[str]:
        """Those of the indexed ``terms`` of ``fieldname`` that a live (not deleted) document has:
        for the few values a completion shows. Safe to call from any thread."""

        def run(s: Any) -> set[str]:
            reader = s.reader()
            parts = _parts(reader, fieldname)
            return {t for t in terms if any(_is_live(reader, p, t.encode("utf-8")) for p in parts)}

        return with_searcher(self._engine(), run)

    def prefix_counts(self, fieldname: str, prefix: str, limit: int = 100,
                      scan: int = PREFIX_SCAN) -> list[tuple[str, int]]:
        """Up to ``limit`` indexed terms of ``fieldname`` that start with ``prefix`` (folded),
        most documents first, each with at least one live document and its lexicon document
        frequency (a hint: it still counts the replaced cables of the segments).
        Reads about ``scan`` terms of the word list from the prefix on (each segment its share), so
        it answers at once at any size: with a short prefix on a big index, the terms ranked are
        the first ones in alphabetical order, not all of them. Safe to call from any thread.
        For ``entity``, a word's count is the most of one of org, per, loc and misc."""

        def run(s: Any) -> list[tuple[str, int]]:
            reader = s.reader()
            parts = _parts(reader, fieldname)
            if len(parts) == 1:
                return one(reader, fieldname)
            return _most_of(Counter(dict(one(reader, p))) for p in parts).most_common(limit)

        def one(reader: Any, fieldname: str) -> list[tuple[str, int]]:
            if fieldname not in reader.schema or not reader.schema[fieldname].indexed:
                return []
            start = fold(prefix).encode("utf-8")  # as the index keeps words: lowercased, accents off
            hints: Counter[bytes] = Counter()
            live: set[bytes] = set()  # terms sure to have a live document, from the counts alone
            total = max(1, reader.doc_count_all())
            for leaf, _offset in reader.leaf_readers():  # each its share of ``scan``, by size
                share = max(50, scan * leaf.doc_count_all() // total)
                deleted = leaf.doc_count_all() - leaf.doc_count()
                for term, info in prefix_terms(leaf, fieldname, start, share):
                    n = info.doc_frequency()
                    hints[term] += n
                    if n > deleted:  # more documents than the segment has deleted: one is live
                        live.add(term)
            out: list[tuple[str, int]] = []
            for term, hint in hints.most_common():
                if term in live or _is_live(reader, fieldname, term):
                    out.append((term.decode("utf-8"), hint))
                    if len(out) >= limit:
                        break
            return out

        return with_searcher(self._engine(), run)

    def stats(self, top: int = 20) -> dict[str, Any]:
        """Figures about the index, as plain data (the README's "Stats" table lists the keys)."""
        s = self.searcher()
        reader = s.reader()
        # From the columns, as facets read them: exact live counts at once at any size (the
        # lexicon's counts would include replaced cables; reading postings takes seconds).
        counts = self.facets("*", by=("class", "tag", "origin", "year"), top=0)
        classes = Counter({str(v).lower(): n for v, n in counts["class"]})
        years = Counter({int(v): n for v, n in counts["year"]})
        dates = _date_range(s)
        tags = Counter({str(v).lower(): n for v, n in counts["tag"]})
        origins = Counter({str(v).lower(): n for v, n in counts["origin"]})
        return {
            "path": str(self.root),
            "generation": self.generation.name,
            "cables": s.doc_count(),
            "by_classification": {lvl: classes.get(lvl.lower(), 0) for lvl in LEVELS if classes.get(lvl.lower())},
            "by_caveat": {c: classes[c] for c in ("noforn", "sensitive", "for official use only") if classes.get(c)},
            "by_year": dict(sorted(years.items())),
            "first_date": dates[0],
            "last_date": dates[1],
            "top_tags": [(t.upper(), n) for t, n in tags.most_common(top)],
            "top_origins": [(o.upper(), n) for o, n in origins.most_common(top)],
            "distinct_tags": len(tags),
            "distinct_origins": len(origins),
            "size_bytes": indexdir.dir_size(self.generation),
            "segments": len(reader.leaf_readers()),
            "deleted": reader.doc_count_all() - reader.doc_count(),
            "built_at": self.meta.get("built_at"),
            "updated_at": self.meta.get("updated_at"),
            "skipped": self.meta.get("skipped", 0),
            "duplicates": self.meta.get("duplicates", 0),
            "sources": self.meta.get("sources"),
            "skipped_report": str(self.generation / SKIPPED_TSV),
        }


# ---------------------------------------------------------------------------------------------


def cable_from_stored(stored: dict[str, Any]) -> Cable:
    """A Cable from the stored fields (what the index keeps: not paragraphs, refs or the DECL date).

    ``ref`` is the cable's key, so a cable without a reference id comes back with its derived key.
    """
    entities: list[Entity] = []
    raw = stored.get("entities")
    if raw:
        try:
            by_type = json.loads(raw)
        except ValueError:
            by_type = {}
        for kind, texts in by_type.items():
            if kind in EntityType.__members__:
                entities.extend(Entity(EntityType(kind), t) for t in texts)
    tags = stored.get("tag") or ""
    return Cable(
        ref=stored.get("ref"),
        origin=stored.get("origin"),
        serial=stored.get("serial"),
        date=_as_datetime(stored.get("date")),
        released=_as_datetime(stored.get("released")),
        classification=Classification.from_label(stored.get("label") or ""),
        tags=tuple(t for t in tags.split(",") if t),
        subject=stored.get("subject"),
        entities=tuple(entities),
        body=stored.get("body") or "",
        redactions=int(stored.get("redactions") or 0),
        source=stored.get("path"),
    )


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return None


def _parts(reader: Any, fieldname: str) -> tuple[str, ...]:
    """The indexed fields ``fieldname``'s values are in: ``entity``'s are in org, per, loc and misc.
    (An index built before keeps postings of its own for entity, but not for the cables an update
    added since: the four fields serve there too.)"""
    field = FIELD_BY_NAME.get(fieldname)
    return field.union_of if field is not None and field.union_of else (fieldname,)


def _most_of(counts: Iterable[Counter[str]]) -> Counter[str]:
    """For each word, its largest count among ``counts``: for a union field, the cables of the one
    field that names the word most (a lower bound of its cables in any of them, which summing the
    fields would overstate)."""
    out: Counter[str] = Counter()
    for c in counts:
        for word, n in c.items():
            if n > out[word]:
                out[word] = n
    return out


def _union_counts(reader: Any, fieldnames: tuple[str, ...]) -> list[tuple[bytes, int]]:
    """``(term, live documents with it in any of fieldnames)``, exact."""
    docs: dict[bytes, set[int]] = {}
    for fieldname in fieldnames:
        if fieldname not in reader.schema or not reader.schema[fieldname].indexed:
            continue
        for term, _info in reader.iter_field(fieldname):
            docs.setdefault(term, set()).update(reader.postings(fieldname, term).all_ids())
    if reader.has_deletions():
        gone = {d for d in set().union(*docs.values()) if reader.is_deleted(d)}
        docs = {t: d - gone for t, d in docs.items()}
    return sorted((t, len(d)) for t, d in docs.items() if d)


#: Bytes of a segment's term table read at once by :func:`prefix_terms`.
TERMS_CHUNK = 1 << 16
_KEY_AND_VALUE_LENGTHS = struct.Struct("!ii")  # whoosh's filetables._lengths


def prefix_terms(leaf: Any, fieldname: str, prefix: bytes, limit: int) -> list[tuple[bytes, Any]]:
    """``list(islice(leaf.iter_prefix(fieldname, prefix), limit))``: the first ``limit`` terms of
    ``fieldname`` in one segment that start with ``prefix``, with their term infos. From whoosh 3's
    term table, read in chunks of :data:`TERMS_CHUNK` bytes: whoosh reads each term with three
    small reads of the file (two thirds of a first completion's time at 250,000 cables)."""
    try:
        terms = leaf._terms
        table = terms._tindex
        dbfile, end_of_data = table.dbfile, table.endofdata
        decode = type(terms).__module__ == "whoosh.codec.whoosh3" and W3TermInfo.from_bytes
    except AttributeError:
        decode = None
    if not decode:  # another codec or reader: whoosh's own walk
        return list(itertools.islice(leaf.iter_prefix(fieldname, prefix), limit))
    if fieldname not in terms._fieldmap or limit <= 0:
        return []
    key = terms._keycoder(fieldname, prefix)  # the field's number, then the prefix
    pos = table.closest_key_pos(key)
    out: list[tuple[bytes, Any]] = []
    head = _KEY_AND_VALUE_LENGTHS.size
    buf, at = b"", 0  # buf holds the file's bytes from ``at`` on
    while pos is not None and pos < end_of_data and len(out) < limit:
        if pos + head > at + len(buf):
            buf, at = dbfile.get(pos, min(TERMS_CHUNK, end_of_data - pos)), pos
        keylen, datalen = _KEY_AND_VALUE_LENGTHS.unpack_from(buf, pos - at)
        stop = pos + head + keylen + datalen
        if stop > at + len(buf):
            buf, at = dbfile.get(pos, min(max(TERMS_CHUNK, stop - pos), end_of_data - pos)), pos
        o = pos - at + head
        k = buf[o:o + keylen]
        if not k.startswith(key):  # past the prefix, or past the field
            break
        out.append((k[len(key) - len(prefix):], decode(buf[o + keylen:o + keylen + datalen])))
        pos = stop
    return out


def _is_live(reader: Any, fieldname: str, term: bytes) -> bool:
    """Whether a live document has this term: from the counts when a segment holds it in more
    documents than it has deleted, else from its postings (stopping at the first live one)."""
    for leaf, _offset in reader.leaf_readers():
        try:
            n = leaf.doc_frequency(fieldname, term)
        except TermNotFound:
            continue
        if n and (n > leaf.doc_count_all() - leaf.doc_count()
                  or any(True for _ in leaf.postings(fieldname, term).all_ids())):
            return True
    return False


def _live_terms(reader: Any, fieldname: str, exact: bool = True) -> list[tuple[bytes, int]]:
    """``(term, live documents)`` for every term of a field; exact even with deleted documents,
    unless ``exact`` is False: then the lexicon's document frequencies (deleted documents counted)."""
    if fieldname not in reader.schema or not reader.schema[fieldname].indexed:
        return []
    out = []
    if not exact or not reader.has_deletions():
        # Segment by segment: whoosh's merged word list costs several times the sum of the parts.
        hints: Counter[bytes] = Counter()
        for leaf, _offset in reader.leaf_readers():
            for term, info in leaf.iter_field(fieldname):
                hints[term] += info.doc_frequency()
        return sorted(hints.items())
    for term, _info in reader.iter_field(fieldname):
        n = sum(1 for _ in reader.postings(fieldname, term).all_ids())
        if n:
            out.append((term, n))
    return out


def _date_range(searcher: Any) -> tuple[str | None, str | None]:
    """The first and last ``date`` of the live documents, ISO 8601."""
    reader = searcher.reader()
    field = reader.schema["date"]
    terms = list(field.sortable_terms(reader, "date"))

    def live(term: bytes) -> bool:
        return not reader.has_deletions() or any(True for _ in reader.postings("date", term).all_ids())

    first = next((t for t in terms if live(t)), None)
    last = next((t for t in reversed(terms) if live(t)), None)
    if first is None or last is None:
        return None, None
    return field.from_bytes(first).isoformat(), field.from_bytes(last).isoformat()


__all__ = [
    "DEFAULT_INDEX",
    "BuildProgress",
    "BuildReport",
    "CableIndex",
    "build_index",
    "cable_from_stored",
    "current_whoosh_index",
    "open_index",
]
