"""The order of search results: relevance or date, then ref, so ties and pages are stable.

``ordered(searcher, query, sort, limit)`` gives the number of matches and the first ``limit``
``(docnum, score)``. Relevance first tries whoosh's top-N collector (block-max skipping, no key
computed for every match) and orders its ties by ref; when a tie straddles the cut, or for a
date sort, whoosh's sorting collector orders every match by (score or date, ref). The ref keys
come from the ``ref`` column when the schema makes it sortable, else from the term index
(cached per segment by ``facets.segment_values``); both paths use the same keys.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from whoosh import query as wq
from whoosh import sorting
from whoosh.searching import Searcher

from .facets import segment_values
from .schema import FIELD_BY_NAME

SORTS = ("relevance", "date", "-date")


class _RefFacet(sorting.FacetType):
    """Orders by ref when the index has no ``ref`` column: per-segment refs from the term index,
    cached (see ``facets.segment_values``). With ``ref`` sortable whoosh's column is used instead."""

    def categorizer(self, global_searcher: Searcher) -> sorting.Categorizer:
        return _RefCategorizer()


class _RefCategorizer(sorting.Categorizer):
    def set_searcher(self, segment_searcher: Searcher, docoffset: int) -> None:
        self._refs = segment_values(segment_searcher.reader(), "ref")

    def key_for(self, matcher: Any, segment_docnum: int) -> str:
        refs = self._refs[segment_docnum]
        return refs[0] if refs else ""


class _DateFacet(sorting.FacetType):
    """Orders by the ``date`` column, oldest first (or newest first); undated cables last either way."""

    def __init__(self, reverse: bool) -> None:
        self.reverse = reverse

    def categorizer(self, global_searcher: Searcher) -> sorting.Categorizer:
        return _DateCategorizer(self.reverse)


class _DateCategorizer(sorting.Categorizer):
    def __init__(self, reverse: bool) -> None:
        self.reverse = reverse

    def set_searcher(self, segment_searcher: Searcher, docoffset: int) -> None:
        r = segment_searcher.reader()
        self._col = r.column_reader("date", translate=False) if r.has_column("date") else None
        self._missing = r.schema["date"].column_type.default_value() if self._col is not None else None

    def key_for(self, matcher: Any, segment_docnum: int) -> tuple[int, int]:
        v = self._col[segment_docnum] if self._col is not None else self._missing
        if v == self._missing:
            return (1, 0)
        return (0, -v if self.reverse else v)


def _sortedby(s: Searcher, sort: str) -> list[sorting.FacetType]:
    reader = s.reader()
    tie = sorting.FieldFacet("ref") if reader.has_column("ref") else _RefFacet()
    if sort == "relevance":
        return [sorting.ScoreFacet(), tie]
    reverse = sort == "-date"
    by_date = _DateFacet(reverse) if reader.has_column("date") else sorting.FieldFacet("date", reverse=reverse)
    return [by_date, tie]


def ordered(
    s: Searcher, q: wq.Query, sort: str, limit: int | None, mask: Any = None, *, exact: bool = True
) -> tuple[int, list[tuple[int, float | None]]]:
    """The number of matches and the first ``limit`` (all when None) ``(docnum, score)`` in
    ``sort`` order: score (or date) first, then ref, so ties and pages are stable. ``exact=False``
    (relevance only) takes whoosh's top-N as it is, ties in index order."""
    relevance = sort == "relevance"
    if limit is not None:
        if relevance and not exact:
            r = s.search(q, limit=limit, mask=mask)
            return len(r), [(docnum, score) for score, docnum in r.top_n]
        by_date = None if relevance else _sortedby(s, sort)[0]
        fast = _top_then_ties(s, q, limit, mask, by_date) if not relevance or _varied_scores(q) else None
        if fast is not None:
            return fast
    r = s.search(q, limit=limit, sortedby=_sortedby(s, sort), mask=mask)
    rows = [(docnum, -key[0] if relevance else None) for key, docnum in r.top_n]
    return len(r), rows


def _ref_key(s: Searcher) -> Callable[[int], Any]:
    """Document number -> the key ties are ordered by: the same keys the full sort uses."""
    reader = s.reader()
    if reader.has_column("ref"):
        return reader.column_reader("ref", translate=False).__getitem__  # FieldFacet's raw bytes
    return lambda d: (s.stored_fields(d).get("ref") or "").lower().upper()  # _RefFacet's indexed term


def _varied_scores(q: wq.Query) -> bool:
    """Whether scores may differ between matches: not when every leaf is ``*``, a date/number range
    or an id field such as ``origin`` (constant scores: matches tie, and the full sort is quicker)."""
    leaves = q.leaves() if not q.is_leaf() else [q]
    return any(not isinstance(leaf, wq.Every | wq.NumericRange)
               and getattr(FIELD_BY_NAME.get(leaf.field() or ""), "kind", None) != "id" for leaf in leaves)


def _top_then_ties(
    s: Searcher, q: wq.Query, limit: int, mask: Any, by_date: sorting.FacetType | None
) -> tuple[int, list[tuple[int, float | None]]] | None:
    """The first ``limit`` by score (whoosh's top-N collector: block-max skipping) or by date alone
    (one key per match instead of two), their ties then ordered by ref; None when a tie straddles
    the cut, so that only the full sort can say which side each tied cable falls on."""
    r = s.search(q, limit=limit + 1, mask=mask, sortedby=by_date)
    top = list(r.top_n)  # (score, docnum) best first, or (date key, docnum) in order
    if len(top) > limit and top[limit][0] == top[limit - 1][0]:
        return None
    top = top[:limit]
    shared = Counter(k for k, _ in top)
    ref = _ref_key(s)
    top.sort(key=lambda kd: (kd[0] if by_date else -kd[0], ref(kd[1]) if shared[kd[0]] > 1 else 0))
    return len(r), [(docnum, None if by_date else k) for k, docnum in top]


__all__ = ["SORTS", "ordered"]
