"""The order of search results: relevance or date, then ref, so ties and pages are stable.

``ordered(searcher, query, sort, limit)`` gives the exact number of matches and the first
``limit`` ``(docnum, score)`` in **one pass** over the matches (whoosh's own top-N collector
skips blocks, so its total needs a second run of the query; here every match is visited once and
counted). By relevance, every match's score comes from :mod:`cablesearch.bulk` (the matchers
evaluated as whole arrays, whoosh's scores to the last bit); each segment keeps its first
``limit`` by score and then ref (``np.partition``, and the segment's ref ranks for the ties at
its cut), and only those few are compared across segments. A query bulk cannot evaluate is
walked by a collector that offers each match to a bounded heap, as is a sort by date (no
scores needed).

The order is total: the key (score, highest first, or date) and then the cable's ref, so pages
never overlap. Only the cables tied with the last one kept need their ref: the collector keeps
the ``limit`` best keys plus every match tied with the worst of them (the *tied group at the
cut*), and only those are ordered by ref at the end; no sort of the whole result set. Refs and
dates are read from each segment's column once and cached (:func:`cablesearch.facets.column_values`).
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections.abc import Callable
from typing import Any

from whoosh import collectors
from whoosh import query as wq
from whoosh.searching import Searcher

from .facets import _cached, column_values, segment_values
from .weighting import WEIGHTING

SORTS = ("relevance", "date", "-date")

#: The sort key of an undated cable: after every date, whichever way dates are ordered.
_UNDATED = 1 << 80


class _Top:
    """The ``limit`` smallest keys seen, plus every item tied with the largest of them; all items
    when ``limit`` is None. Items are ``(key, docnum)``; smaller keys come first."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.total = 0
        self.heap: list[tuple[Any, int]] = []  # (-key, docnum): the root is the worst key kept
        self.ties: list[tuple[Any, int]] = []  # dropped items whose key equals the root's

    def add(self, key: Any, docnum: int) -> None:
        self.total += 1
        heap, neg = self.heap, -key
        if self.limit is None:
            heap.append((neg, docnum))
        elif len(heap) < self.limit:
            heapq.heappush(heap, (neg, docnum))
        elif neg > heap[0][0]:  # better than the worst kept
            old = heapq.heapreplace(heap, (neg, docnum))
            if heap[0][0] == old[0]:
                self.ties.append(old)
            elif self.ties:
                self.ties = []
        elif neg == heap[0][0]:
            self.ties.append((neg, docnum))

    def candidates(self) -> list[tuple[Any, int]]:
        """``(key, docnum)`` of every item that may be among the first ``limit``: no item left out
        can come before any of them, whatever its ref."""
        return [(-neg, d) for neg, d in self.heap + self.ties]


class _Collector(collectors.ScoredCollector):
    """Counts every match and keeps the best by score (``keys`` None) or by a per-document key
    (``keys(segment reader) -> list``: the date). Never skips blocks, so the count is exact."""

    def __init__(self, top: _Top, keys: Callable[[Any], list[Any]] | None = None) -> None:
        super().__init__()
        self.top = top
        self.keys = keys
        self._seg_keys: list[Any] = []

    def prepare(self, top_searcher: Searcher, q: wq.Query, context: Any) -> None:
        if self.keys is not None:  # no scores needed: whoosh may read document numbers in bulk
            context = context.set(needs_current=False, weighting=None)
        super().prepare(top_searcher, q, context)

    def set_subsearcher(self, subsearcher: Searcher, offset: int) -> None:
        super().set_subsearcher(subsearcher, offset)
        if self.keys is not None:
            self._seg_keys = self.keys(subsearcher.reader())

    def computes_count(self) -> bool:
        return True

    def count(self) -> int:
        return self.top.total

    def _use_block_quality(self) -> bool:
        return False

    def matches(self) -> Any:
        if self.keys is not None:
            return collectors.Collector.matches(self)
        return super().matches()

    def collect(self, sub_docnum: int) -> Any:
        if self.keys is None:
            return super().collect(sub_docnum)  # scores, then _collect
        self.top.add(self._seg_keys[sub_docnum], self.offset + sub_docnum)
        return 0

    def _collect(self, global_docnum: int, score: float) -> Any:
        self.top.add(-score, global_docnum)
        return -score

    def results(self) -> Any:
        raise NotImplementedError("read .top")


def _date_keys(reverse: bool) -> Callable[[Any], list[Any]]:
    def keys(reader: Any) -> list[Any]:
        if not reader.has_column("date"):
            return [_UNDATED] * reader.doc_count_all()
        missing = reader.schema["date"].column_type.default_value()
        sign = -1 if reverse else 1
        return [_UNDATED if v == missing else sign * v for v in column_values(reader, "date")]

    return keys


def _segment_refs(reader: Any) -> list[Any]:
    """Per document of one segment reader, the ref its ties are ordered by: the ``ref`` column's
    raw value (the ref as written), or without a column the indexed term (cached per segment)."""
    if reader.has_column("ref"):
        return column_values(reader, "ref")
    return [v[0] if v else "" for v in segment_values(reader, "ref")]


def _ref_ranks(reader: Any) -> Any:
    """Per document of one segment reader, its place among the segment's documents in the order of
    :func:`_segment_refs` (a numpy array, cached with the segment)."""
    import numpy as np

    def make() -> Any:
        refs = _segment_refs(reader)
        ranks = np.empty(len(refs), dtype=np.int64)
        ranks[sorted(range(len(refs)), key=refs.__getitem__)] = np.arange(len(refs))
        return ranks

    return _cached(reader, "\0refranks", make)


def _ref_of(s: Searcher) -> Callable[[int], Any]:
    """Document number -> the ref its ties are ordered by (:func:`_segment_refs`)."""
    leaves = s.leaf_searchers()
    offsets = [off for _, off in leaves]
    lists: dict[int, list[Any]] = {}

    def refs_of(i: int) -> list[Any]:
        got = lists.get(i)
        if got is None:
            got = lists[i] = _segment_refs(leaves[i][0].reader())
        return got

    def ref(docnum: int) -> Any:
        i = bisect_right(offsets, docnum) - 1
        return refs_of(i)[docnum - offsets[i]]

    return ref


def ordered(
    s: Searcher, q: wq.Query, sort: str, limit: int | None, mask: Any = None
) -> tuple[int, list[tuple[int, float | None]]]:
    """The exact number of matches and the first ``limit`` (all when None) ``(docnum, score)`` in
    ``sort`` order: score (highest first) or date (``date`` oldest first, ``-date`` newest first,
    undated last), then ref; ``score`` is None for a date sort. One pass over the matches.
    ``mask``: document numbers to leave out."""
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
    if limit is not None and limit < 1:
        raise ValueError("limit must be 1 or more, or None for every match")
    relevance = sort == "relevance"
    found = _scored_in_bulk(s, q, limit, mask) if relevance else None
    if found is not None:
        total, items = found
    else:
        top = _Top(limit)
        c: collectors.Collector = _Collector(top, None if relevance else _date_keys(sort == "-date"))
        if mask:
            c = collectors.FilterCollector(c, restrict=mask)
        s.search_with_collector(q, c, context=s.context(weighting=WEIGHTING))
        total, items = top.total, top.candidates()
    if not items:
        return total, []
    ref = _ref_of(s)
    if limit is None:
        items.sort(key=lambda kd: (kd[0], ref(kd[1])))
    else:
        items = heapq.nsmallest(limit, items, key=lambda kd: (kd[0], ref(kd[1])))
    return total, [(d, -k if relevance else None) for k, d in items]


def _scored_in_bulk(s: Searcher, q: wq.Query, limit: int | None, mask: Any) -> tuple[int, list[tuple[Any, int]]] | None:
    """The number of matches and the ``(-score, docnum)`` of every match that may be among the
    first ``limit`` (all when None): each segment's first ``limit`` by score and then ref (the
    segment's ref ranks order its ties, so no tie needs its ref read). From
    :func:`cablesearch.bulk.segment_arrays`; None when a segment's matchers cannot be evaluated in
    bulk (then the collector walks them)."""
    import numpy as np  # with bulk: imported on the first search, not when the shell starts

    from .bulk import segment_arrays

    context = s.context(weighting=WEIGHTING)
    masked = np.fromiter(mask, dtype=np.int64, count=len(mask)) if mask else None
    total = 0
    items: list[tuple[Any, int]] = []
    for leaf, offset in s.leaf_searchers():
        got = segment_arrays(leaf, q, context)
        if got is None:
            return None
        ids, scores = got
        if masked is not None:
            kept = ~np.isin(ids + offset, masked)
            ids, scores = ids[kept], scores[kept]
        total += len(ids)
        if limit is not None and len(ids) > limit:
            cut = np.partition(scores, len(ids) - limit)[len(ids) - limit]  # the limit-th best score
            above = np.flatnonzero(scores > cut)  # fewer than limit
            tied = np.flatnonzero(scores == cut)
            need = limit - len(above)
            if len(tied) > need:  # ties at the cut: the first by ref (ranks are unique in a segment)
                tied = tied[np.argpartition(_ref_ranks(leaf.reader())[ids[tied]], need - 1)[:need]]
            kept = np.concatenate((above, tied))
            ids, scores = ids[kept], scores[kept]
        items.extend(zip((-scores).tolist(), (ids + offset).tolist(), strict=True))
    return total, items


__all__ = ["SORTS", "ordered"]
