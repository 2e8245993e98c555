"""The storage adapter: open an index, read cables back, figures about it; builds via ``build_index``.

Only this module, :mod:`cablesearch.build`, :mod:`cablesearch.buildworkers`, ``engine.py`` and
``query/compile.py`` know about whoosh. A :class:`CableIndex` is a snapshot: it opens one whoosh
searcher on the live generation when it is created and keeps it (every file stays open), so a
concurrent rebuild or update never pulls files from under it; :meth:`CableIndex.refresh` moves it
to the newest generation.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from whoosh.index import EmptyIndexError

from . import indexdir
from . import search as _search
from .build import BUILD_JSON, DEFAULT_INDEX, SKIPPED_TSV, BuildProgress, BuildReport, build_index
from .buildworkers import open_whoosh
from .errors import IndexNotFoundError, IndexStateError, UnsafeIndexError
from .ledger import fields_fingerprint
from .model import LEVELS, Cable, Classification, Entity, EntityType, Hit
from .trust import check_index_trust, trusted_by_env

#: Opening races a concurrent swap or commit (a file listed, then removed): retry this often.
_OPEN_ATTEMPTS = 5


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
        if fp is not None and fp != fields_fingerprint():
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
                return dict(s.stored_fields(docnum))
        return None

    # -- searching (the engine functions live in cablesearch.search) ---------------------------

    def _engine(self) -> Any:
        """What cablesearch.search reads: this snapshot's searcher in the opening thread; in other
        threads a fresh searcher per call (a whoosh searcher must never be shared between threads)."""
        return self.searcher() if threading.get_ident() == self._thread else self._ix

    def search(self, query: Any, *, limit: int = 10, page: int = 1, sort: str = "relevance",
               snippets: int = 3, snippet_chars: int = 200) -> _search.SearchResults:
        """One page of the cables matching ``query`` (text in the query language, or a parsed Query)."""
        return _search.search(self._engine(), query, limit=limit, page=page, sort=sort,
                              snippets=snippets, snippet_chars=snippet_chars)

    def count(self, query: Any) -> int:
        """How many cables match ``query``."""
        return _search.count(self._engine(), query)

    def facets(self, query: Any, *, by: tuple[str, ...] = _search.DEFAULT_FACETS,
               top: int = 10) -> dict[str, list[tuple[Any, int]]]:
        """For each field in ``by``, the ``top`` values over all matches with their counts."""
        return _search.facets(self._engine(), query, by=by, top=top)

    def iter_search(self, query: Any, *, sort: str = "relevance", snippets: int = 0) -> Iterator[Hit]:
        """Every match, streamed in batches (for export)."""
        return _search.iter_search(self._engine(), query, sort=sort, snippets=snippets)

    def more_like(self, ref: str, *, limit: int = 10, snippets: int = 0) -> _search.SearchResults:
        """Cables similar to the cable ``ref``, without itself."""
        return _search.more_like(self._engine(), ref, limit=limit, snippets=snippets)

    def highlighter(self, query: Any) -> Any:
        """Marks what ``query`` matches in a cable's text (used by ``render_cable_text``)."""
        return _search.highlighter(query, self._engine())

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

    def term_counts(self, fieldname: str) -> Counter[str]:
        """Documents per indexed term of a keyword/id field, deleted documents excluded."""
        reader = self.searcher().reader()
        return Counter({t.decode("utf-8"): n for t, n in _live_terms(reader, fieldname)})

    def stats(self, top: int = 20) -> dict[str, Any]:
        """Figures about the index, as plain data (the README's "Stats" table lists the keys)."""
        s = self.searcher()
        reader = s.reader()
        classes = self.term_counts("class")
        years = Counter({int(k): v for k, v in _numeric_counts(s, "year").items()})
        dates = _date_range(s)
        tags = self.term_counts("tag")
        origins = self.term_counts("origin")
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


def _live_terms(reader: Any, fieldname: str) -> list[tuple[bytes, int]]:
    """``(term, live documents)`` for every term of a field; exact even with deleted documents."""
    if fieldname not in reader.schema or not reader.schema[fieldname].indexed:
        return []
    out = []
    if not reader.has_deletions():
        for term, info in reader.iter_field(fieldname):
            out.append((term, info.doc_frequency()))
        return out
    for term, _info in reader.iter_field(fieldname):
        n = sum(1 for _ in reader.postings(fieldname, term).all_ids())
        if n:
            out.append((term, n))
    return out


def _numeric_counts(searcher: Any, fieldname: str) -> dict[Any, int]:
    """Live documents per value of a NUMERIC/DATETIME field (full-precision terms only)."""
    reader = searcher.reader()
    field = reader.schema[fieldname]
    out: dict[Any, int] = {}
    for term in field.sortable_terms(reader, fieldname):
        if reader.has_deletions():
            n = sum(1 for _ in reader.postings(fieldname, term).all_ids())
        else:
            n = reader.doc_frequency(fieldname, term)
        if n:
            out[field.from_bytes(term)] = n
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
