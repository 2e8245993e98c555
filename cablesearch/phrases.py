"""Phrases matched a segment at a time: the same documents and scores as whoosh's ``Phrase``, in
whole-array operations instead of a tree of matchers.

whoosh matches ``"human rights"`` with a ``SpanNear2`` over an intersection of term matchers: for
every document holding all the words, several layers of Python calls move the matchers, build a
``Span`` object per position and score each word through a column lookup: about 23 µs a candidate
(1.9 s for ``"human rights"`` at 250,000 cables). :class:`Phrase` reads each word's postings block
by block, intersects the document numbers, decodes the candidates' positions into one sorted
array of ``document << 32 | position`` keys per word (``codec.CompactPositions`` values in a few
vector operations; whoosh's pickled ones one posting at a time) and follows the words with binary
searches over those keys.

An exact phrase (a slop of 1) whose neighbouring words make a pair the index keeps as a term of
its own (``engine.WordPairs``: ``"human rights"``, ``loc:"Costa Rica"``) takes its documents from
the pair's list first: for two words that is the answer, and no position is read; a longer
phrase follows its pairs' positions where the index keeps them (fewer than its words': a pair
at ``p`` covering words ``k`` and ``k + 1`` puts the phrase's start at ``p - k``), and the
positions of any word no pair covers; in an index whose pairs have no positions it is narrowed
to the documents holding its pairs before its words' positions are decoded. A word's positions
are inflated only in the blocks holding a candidate (``bulk.Values.for_postings``). In a bulk
search the matches stay arrays (``bulk.Listed``).

Same answer, by construction:

* a document matches when each word ``k`` has a position ``q`` with ``1 <= q - p <= slop`` for a
  position ``p`` reached by word ``k - 1`` (``SpanNear2(ordered=True, mindist=1)``, whose merged
  spans end at the last word's position): for each ``q``, the last reached key before it is
  tested;
* its score is whoosh's: each word's BM25F score as whoosh's scorer computes it (``bulk._bm25``:
  the same operations in the same order, with the field length whoosh reads), added in the order
  of whoosh's binary tree of intersections, times the boost;
* deleted documents are left out, as whoosh's filtered postings leave them out.

Anything else (another weighting model or posting format, a searcher over several segments, a
codec without block reads) is whoosh's own ``Phrase.matcher``. ``tests/test_phrases.py`` compares
both, document by document, on the real build.
"""

from __future__ import annotations

import sys
from array import array
from itertools import accumulate, chain, pairwise
from pickle import loads
from typing import Any

import numpy as np
from whoosh import formats, matching
from whoosh import query as wq
from whoosh.reading import TermNotFound
from whoosh.scoring import BM25FScorer
from whoosh.system import _INT_SIZE

from .bulk import (
    Listed,
    Values,
    _bm25,
    _deleted,
    _info_postings,
    _Unsupported,
    bulk_context,
    posting_values,
    postings,
)
from .codec import _ITEMSIZE, CompactPositions
from .engine import WordPairs, pairs_name
from .weighting import field_lengths


class Phrase(wq.Phrase):
    """whoosh's ``Phrase`` with a faster matcher on one segment (see the module)."""

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        try:
            found = _match(self, searcher, context)
        except _Unsupported:
            found = None
        if found is None:
            return super().matcher(searcher, context)
        ids, scores = found
        if not len(ids):
            return matching.NullMatcher()
        if bulk_context(context):  # arrays from end to end
            return Listed(searcher, ids, scores)
        return matching.ListMatcher(ids.tolist(), weights=scores.tolist())


def _pickled(value: bytes) -> Any:
    """The position deltas of a ``formats.Positions`` value (a count, then a pickled list)."""
    return loads(value[_INT_SIZE:])


def _packed(value: bytes) -> Any:
    """The position deltas of a ``codec.CompactPositions`` value (a typecode, then an array)."""
    return array(chr(value[0]), value[1:])


#: How each posting format this module reads keeps a posting's position deltas.
_DELTAS = {formats.Positions: _pickled, CompactPositions: _packed}


def _tree_sum(scores: list[Any]) -> Any:
    """Add as whoosh's ``make_binary_tree(IntersectionMatcher, ...)`` adds its words' scores."""
    if len(scores) == 1:
        return scores[0]
    half = len(scores) // 2
    return _tree_sum(scores[:half]) + _tree_sum(scores[half:])


class _Word:
    """One word's postings in the segment: ids (ascending) and weights (None: all 1.0) as arrays;
    values either joined (:class:`~cablesearch.bulk.Values`) or a list of bytes."""

    __slots__ = ("ids", "joined", "listed", "places", "weights")

    def __init__(self, ids: Any, weights: Any, joined: Values | None, listed: list[bytes] | None) -> None:
        self.ids, self.weights, self.joined, self.listed = ids, weights, joined, listed
        self.places: Any = None

    def at(self, docs: Any) -> Any:
        """The places of ``docs`` (each holds the word) in this word's postings: looked up in a
        slot a document up to the last that holds it (a binary search for each of tens of
        thousands of documents cost several times as much)."""
        if self.places is None:
            ids = self.ids
            self.places = np.zeros(int(ids[-1]) + 1 if len(ids) else 0, dtype=np.int64)
            self.places[ids] = np.arange(len(ids))
        return self.places[docs]

    def keys(self, docs: Any, deltas: Any) -> Any:
        """``doc << 32 | position`` of every position of this word in ``docs`` (each holds it),
        ascending."""
        at = self.at(docs)
        if self.joined is not None:
            return _joined_keys(self.joined.for_postings(at), at, docs)
        per = [list(accumulate(deltas(self.listed[i]))) for i in at.tolist()]
        counts = [len(p) for p in per]
        positions = np.fromiter(chain.from_iterable(per), dtype=np.int64, count=sum(counts))
        return (np.repeat(docs, counts) << 32) | positions


def _joined_keys(values: Values, at: Any, docs: Any) -> Any:
    """:meth:`_Word.keys` of postings ``at`` (one for each of ``docs``) of joined
    ``CompactPositions`` values, every typecode at once, in running sums: each position's delta is
    read where it lies (a value's first delta right after its typecode byte, each next one its
    item size further) as the four bytes starting there, little-endian as ``array`` writes them
    on the machines that read an index (see ``codec.py``), masked to its item size; the deltas
    are summed into keys, each posting's first one moved to its document's key."""
    if not _LITTLE:
        raise _Unsupported  # an index of a big-endian machine: whoosh's matcher reads its arrays
    raw = np.frombuffer(values.data, dtype=np.uint8)
    starts, sizes = values.starts[at], values.sizes[at]
    if not len(starts):
        return np.zeros(0, dtype=np.int64)
    size = _ITEMSIZES[raw[starts]]
    if not size.all():
        raise _Unsupported  # a position value of an unknown typecode: whoosh's matcher decides
    counts = (sizes - 1) // size
    if (counts < 1).any():  # an empty list of positions: not written by CompactPositions
        raise _Unsupported
    first = np.cumsum(counts) - counts  # each posting's first place among all the positions
    step = np.repeat(size, counts)  # each position's item size
    # each position's byte: an item size after the one before, a posting's first right after its
    # typecode (a step back from the previous posting's last)
    where = step.copy()
    where[first] = starts + 1 - np.concatenate(([0], (starts + 1 + (counts - 1) * size)[:-1]))
    where = np.cumsum(where)
    words = np.ndarray((len(raw),), dtype="<u4", buffer=values.data + b"\0\0\0", strides=(1,))
    deltas = (words[where] & _SIZE_MASKS[step]).astype(np.int64)
    # one running sum for all: each posting's first delta (its first position) also steps from
    # the previous posting's last key to its own document's key
    last = np.add.reduceat(deltas, first)  # each posting's last position
    top = docs << 32
    deltas[first] += top - np.concatenate(([0], (top + last)[:-1]))
    return np.cumsum(deltas)


_LITTLE = sys.byteorder == "little"
#: The bits of a four-byte read that an item of each size (1, 2 or 4 bytes) holds.
_SIZE_MASKS = np.array([0, 0xFF, 0xFFFF, 0, 0xFFFFFFFF], dtype=np.uint32)

#: A ``CompactPositions`` typecode byte -> the size of its items (0: not a typecode).
_ITEMSIZES = np.zeros(256, dtype=np.int64)
for _code, _size in _ITEMSIZE.items():
    _ITEMSIZES[_code] = _size


def _follow(reached: Any, keys: Any, slop: int) -> Any:
    """The keys of the next word that follow a reached key of the same document by 1 to ``slop``:
    for each, the last reached key before it."""
    i = np.searchsorted(reached, keys - 1, side="right") - 1
    last = reached[np.maximum(i, 0)]
    return keys[(i >= 0) & (keys - last <= slop) & ((last >> 32) == (keys >> 32))]


def _pair_lists(q: wq.Phrase, searcher: Any, reader: Any, places: bool = False) -> dict[int, Any] | None:
    """For each two neighbouring words ``k``, ``k + 1`` of an exact phrase (a slop of 1) that make a
    pair the index keeps (``engine.WordPairs``: a listed pair, kept wherever it stands), the
    documents of the segment holding the pair, deleted ones included; None when such a pair is in
    no document of the segment. Empty for a phrase with a slop, or in an index without word pairs
    (built before them).

    With ``places``, each pair's postings as a :class:`_Word` whose positions are the pair's (its
    first word's), when the index keeps them (``codec.CompactPositions`` values in compact blocks;
    an index of schema layout 2 keeps the documents only): else empty."""
    name = pairs_name(q.fieldname)
    if q.slop != 1 or len(q.words) < 2 or name not in searcher.schema:
        return {}
    field = searcher.schema[name]
    if type(field.analyzer) is not WordPairs:
        return {}
    if places and type(field.format) is not CompactPositions:
        return {}
    kept = field.analyzer.pairs
    found = {}
    for k, (a, b) in enumerate(pairwise(q.words)):
        pair = f"{a} {b}"
        if pair in kept:
            try:
                info = reader.term_info(name, pair.encode("utf-8"))
            except TermNotFound:
                return None
            if not places:
                found[k] = _info_postings(reader, info, field.format)[0]
                continue
            joined = posting_values(reader, info, field.format)
            if joined is not None:
                found[k] = _Word(joined[0], None, joined[2], None)
                continue
            got = postings(reader, name, pair.encode("utf-8"), field.format)  # in the term's info
            if got is None:
                return {}
            found[k] = _Word(np.array(got[0], dtype=np.int64), None, None, got[2])
    return found


def _keys_at(unit: _Word, docs: Any, offset: int, deltas: Any) -> Any:
    """``doc << 32 | p - offset`` for each position ``p`` of ``unit`` in ``docs`` (each holds it):
    where a phrase would start whose word ``offset`` stands at ``p``; ascending."""
    keys = unit.keys(docs, deltas)
    if offset:
        keys = keys[(keys & 0xFFFFFFFF) >= offset] - offset
    return keys


def _documents(keys: Any) -> Any:
    """The documents of ascending ``doc << 32 | position`` keys, each once, ascending."""
    docs = keys >> 32
    return docs[np.concatenate(([True], docs[1:] != docs[:-1]))] if len(docs) else docs


#: No match: no documents, no scores.
_NONE = (np.zeros(0, dtype=np.int64), np.zeros(0))


def _match(q: wq.Phrase, searcher: Any, context: Any) -> tuple[Any, Any] | None:
    fieldname = q.fieldname
    if fieldname not in searcher.schema or not searcher.is_atomic():
        return None
    field = searcher.schema[fieldname]
    deltas = _DELTAS.get(type(field.format))
    if deltas is None:
        return None
    reader = searcher.reader()
    btexts = []
    infos = {}
    for word in q.words:
        try:
            btext = field.to_bytes(word)
            infos[btext] = reader.term_info(fieldname, btext)
        except (ValueError, TermNotFound):
            return _NONE
        btexts.append(btext)
    weighting = (context.weighting if context is not None else None) or searcher.weighting
    scorers = {b: weighting.scorer(searcher, fieldname, b) for b in set(btexts)}
    if any(type(s) is not BM25FScorer for s in scorers.values()):
        return None
    if field_lengths(reader, fieldname) is None:
        return None
    # three words or more: the positions of their kept pairs, where the index has them
    placed = _pair_lists(q, searcher, reader, places=True) if len(btexts) > 2 else {}
    if placed is None:
        return _NONE  # a pair of its words is in no cable of the segment
    pairs = {k: w.ids for k, w in placed.items()} if placed else _pair_lists(q, searcher, reader)
    if pairs is None:
        return _NONE
    # two words whose pair is kept: the pair's cables are the phrase's, no position to read
    exact = len(btexts) == 2 and len(pairs) == 1
    paired = {b for k in pairs for b in btexts[k:k + 2]}  # held wherever their pair is
    # the words no placed pair covers: their own positions are read
    alone = [k for k in range(len(btexts)) if placed and k not in placed and k - 1 not in placed]
    positioned = {btexts[k] for k in alone} if placed else set(btexts)
    words: dict[bytes, _Word] = {}
    n = reader.doc_count_all()
    for b in scorers:
        if exact or b not in positioned:  # only the frequencies, for the scores
            ids, weights = _info_postings(reader, infos[b], field.format)
            words[b] = _Word(ids, weights, None, None)
            continue
        joined = posting_values(reader, infos[b], field.format) if deltas is _packed else None
        if joined is not None:
            words[b] = _Word(joined[0], joined[1], joined[2], None)
            continue
        got = postings(reader, fieldname, b, field.format)
        if got is None:
            return None
        words[b] = _Word(np.array(got[0], dtype=np.int64), np.array(got[1], dtype=np.float64), None, got[2])
    # the documents holding every word (and every kept pair), deleted ones left out: one slot a
    # document of the segment
    holding = ~_deleted(reader) if reader.has_deletions() else np.ones(n, dtype=bool)
    for ids in [*pairs.values(), *(w.ids for b, w in words.items() if b not in paired)]:
        held = np.zeros(n, dtype=bool)
        held[ids] = True
        holding &= held
    docs = np.flatnonzero(holding)
    if exact:
        reached = docs
    elif placed:
        # where the phrase would start, by each placed pair and each word left alone: it is
        # matched where all agree (a slop of 1: each word right after the one before)
        units = [(k, w, _packed) for k, w in placed.items()] + [(k, words[btexts[k]], deltas) for k in alone]
        reached = None
        for k, unit, unit_deltas in units:
            keys = _keys_at(unit, docs, k, unit_deltas) if len(docs) else docs
            reached = keys if reached is None else reached[np.isin(reached, keys, assume_unique=True)]
            docs = _documents(reached)
    else:
        reached = words[btexts[0]].keys(docs, deltas) if len(docs) else docs
        for b in btexts[1:]:
            if not len(reached):
                break
            reached = _follow(reached, words[b].keys(docs, deltas), q.slop)
            docs = _documents(reached)  # fewer to decode next
    if not len(reached):
        return _NONE
    parts = []
    for b in btexts:
        w = words[b]
        weights = None if w.weights is None else w.weights[w.at(docs)]
        try:
            parts.append(_bm25(scorers[b], reader, fieldname, docs, weights))
        except _Unsupported:
            return None
    scores = _tree_sum(parts)
    if q.boost != 1.0:
        scores = scores * q.boost
    return docs, scores


__all__ = ["Phrase"]
