"""Phrases matched a segment at a time: the same documents and scores as whoosh's ``Phrase``, in
a few set operations and one short loop per candidate instead of a tree of matchers.

whoosh matches ``"human rights"`` with a ``SpanNear2`` over an intersection of term matchers: for
every document holding all the words, several layers of Python calls move the matchers, build a
``Span`` object per position and score each word through a column lookup: about 23 µs a candidate
(1.9 s for ``"human rights"`` at 250,000 cables). :class:`Phrase` reads each word's postings block
by block, intersects the document numbers as sets, and for each candidate decodes the positions
(whoosh's format: a pickled list of deltas; ``codec.CompactPositions``: an array) and follows the chain of positions.

Same answer, by construction:

* a document matches when each word ``k`` has a position ``q`` with ``1 <= q - p <= slop`` for a
  position ``p`` reached by word ``k - 1`` (``SpanNear2(ordered=True, mindist=1)``, whose merged
  spans end at the last word's position);
* its score is whoosh's: each word's BM25F score from whoosh's own scorer (``_score(weight,
  length)``, with the field length whoosh reads), added in the order of whoosh's binary tree of
  intersections, times the boost;
* deleted documents are left out, as whoosh's filtered postings leave them out.

Anything else (another weighting model or posting format, a searcher over several segments, a
codec without block reads) is whoosh's own ``Phrase.matcher``. ``tests/test_phrases.py`` compares
both, document by document, on the real build.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from itertools import accumulate, compress, count
from pickle import loads
from typing import Any

from whoosh import formats, matching
from whoosh import query as wq
from whoosh.scoring import BM25FScorer
from whoosh.system import _INT_SIZE

from .bulk import postings
from .codec import CompactPositions
from .weighting import field_lengths


class Phrase(wq.Phrase):
    """whoosh's ``Phrase`` with a faster matcher on one segment (see the module)."""

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        found = _match(self, searcher, context)
        if found is None:
            return super().matcher(searcher, context)
        ids, scores = found
        return matching.ListMatcher(ids, weights=scores) if ids else matching.NullMatcher()


def _pickled(value: bytes) -> Any:
    """The position deltas of a ``formats.Positions`` value (a count, then a pickled list)."""
    return loads(value[_INT_SIZE:])


def _packed(value: bytes) -> Any:
    """The position deltas of a ``codec.CompactPositions`` value (a typecode, then an array)."""
    return array(chr(value[0]), value[1:])


#: How each posting format this module reads keeps a posting's position deltas.
_DELTAS = {formats.Positions: _pickled, CompactPositions: _packed}


def _tree_sum(scores: list[float]) -> float:
    """Add as whoosh's ``make_binary_tree(IntersectionMatcher, ...)`` adds its words' scores."""
    if len(scores) == 1:
        return scores[0]
    half = len(scores) // 2
    return _tree_sum(scores[:half]) + _tree_sum(scores[half:])


def _match(q: wq.Phrase, searcher: Any, context: Any) -> tuple[list[int], list[float]] | None:
    fieldname = q.fieldname
    if fieldname not in searcher.schema or not searcher.is_atomic():
        return None
    field = searcher.schema[fieldname]
    deltas = _DELTAS.get(type(field.format))
    if deltas is None:
        return None
    reader = searcher.reader()
    btexts = []
    for word in q.words:
        try:
            btext = field.to_bytes(word)
        except ValueError:
            return [], []
        if (fieldname, btext) not in reader:
            return [], []
        btexts.append(btext)
    weighting = (context.weighting if context is not None else None) or searcher.weighting
    scorers = {b: weighting.scorer(searcher, fieldname, b) for b in set(btexts)}
    if any(type(s) is not BM25FScorer for s in scorers.values()):
        return None
    lengths = field_lengths(reader, fieldname)
    lists = {}
    for b in scorers:
        got = postings(reader, fieldname, b, field.format)
        if got is None or lengths is None:
            return None
        lists[b] = got
    candidates = set(lists[btexts[0]][0])
    for b in sorted(scorers, key=lambda b: len(lists[b][0])):
        candidates.intersection_update(lists[b][0])
    if reader.has_deletions():
        candidates -= reader.deleted_docs_set
    slop = q.slop
    cols = [lists[b] for b in btexts]
    if len(cols) == 2:
        ids, scores = _two_words(cols, [scorers[b] for b in btexts], sorted(candidates), lengths, slop, deltas)
        return ids, scores if q.boost == 1.0 else [s * q.boost for s in scores]
    score_fns = [scorers[b]._score for b in btexts]
    ids = []
    scores = []
    for doc in sorted(candidates):
        at = [bisect_left(c[0], doc) for c in cols]
        reached = list(accumulate(deltas(cols[0][2][at[0]])))
        for c, i in zip(cols[1:], at[1:], strict=True):
            reached = _follow(reached, list(accumulate(deltas(c[2][i]))), slop)
            if not reached:
                break
        else:
            length = lengths[doc]
            parts = [fn(c[1][i], length) for fn, c, i in zip(score_fns, cols, at, strict=True)]
            ids.append(doc)
            scores.append(parts[0] + parts[1] if len(parts) == 2 else _tree_sum(parts))
    if q.boost != 1.0:
        scores = [s * q.boost for s in scores]
    return ids, scores


#: ``p - 1``, as a C function for ``map``.
_BEFORE = (-1).__add__


def _two_words(cols: list[Any], scorers: list[Any], candidates: list[int], lengths: list[Any], slop: int,
               deltas: Any) -> tuple[list[int], list[float]]:
    """The loop of :func:`_match` for a phrase of two words (most of them), written out: the same
    tests and the same floats (``whoosh.scoring.bm25`` inline, added as the two-word tree adds)."""
    (ids_a, ws_a, vs_a), (ids_b, ws_b, vs_b) = cols
    sa, sb = scorers
    ia, fa, ba, ka = sa.idf, sa.avgfl, sa.B, sa.K1
    ib, fb, bb, kb = sb.idf, sb.avgfl, sb.B, sb.K1
    ids: list[int] = []
    scores: list[float] = []
    # Where each candidate is in each word's list, in document order, found in C loops (the
    # candidates are in both lists): instead of two binary searches a candidate.
    wanted = set(candidates)
    at_a = compress(count(), map(wanted.__contains__, ids_a))
    at_b = compress(count(), map(wanted.__contains__, ids_b))
    for doc, i, j in zip(candidates, at_a, at_b, strict=True):
        if slop == 1:  # as _follow with slop 1, stopping at the first position that follows:
            # does a position of b come right after one of a (is p - 1 one of a's positions)?
            if set(accumulate(deltas(vs_a[i]))).isdisjoint(map(_BEFORE, accumulate(deltas(vs_b[j])))):
                continue
        elif not _follow(list(accumulate(deltas(vs_a[i]))), list(accumulate(deltas(vs_b[j]))), slop):
            continue
        length = lengths[doc]
        wa, wb = ws_a[i], ws_b[j]
        ids.append(doc)
        scores.append(ia * ((wa * (ka + 1)) / (wa + ka * ((1 - ba) + ba * length / fa)))
                      + ib * ((wb * (kb + 1)) / (wb + kb * ((1 - bb) + bb * length / fb))))
    return ids, scores


def _follow(ends: list[int], positions: list[int], slop: int) -> list[int]:
    """The positions of the next word that follow one of ``ends`` (sorted) by 1 to ``slop``."""
    if slop == 1:
        after = {p + 1 for p in ends}
        return [p for p in positions if p in after]
    out = []
    for p in positions:
        i = bisect_right(ends, p - 1) - 1  # the last end before p
        if i >= 0 and p - ends[i] <= slop:
            out.append(p)
    return out


__all__ = ["Phrase"]
