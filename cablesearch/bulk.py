"""Every match of a query with its score, a segment at a time, worked out in bulk with numpy.

whoosh ranks by walking its tree of matchers one document at a time: for each match, the
collector asks the tree for the current document, its score and the next one, and each layer
(union, intersection, boost, the filter of deleted documents, the term's block reader) answers
with a Python call. At 250,000 cables a page of ``tag:PREL`` makes about 10 calls for each of
160,000 matches. :func:`segment_arrays` builds the same tree of matchers and then, instead of
walking it, evaluates it node by node as whole arrays, one slot a document of the segment (a
segment holds a few tens of thousands): a term's postings are decoded from their blocks and
scored in a few vector operations, an intersection is an ``&`` of two masks and an addition, a
tree of unions (an OR, a pattern's words) one pass that adds each document's values where the
tree's two sides meet.

The scores are whoosh's, number for number: each node does the arithmetic its matcher does, in
the same order and grouping (``a.score() + b.score()`` for the two sides of an intersection or
union as the tree was built; ``score * boost`` for a boost; the running sum of a pre-loaded union;
the term scorer's ``bm25(idf, weight, length, avgfl, B, K1)`` written out), on float64 values,
which numpy adds, multiplies and divides with the same IEEE rounding as Python. A node it does
not know (a span, a coordination, a constant-score wrapper...) makes it return None, and the
search walks the matchers as before. ``tests/test_bulk.py`` compares every match and score with
whoosh's walk.
"""

from __future__ import annotations

import io
import pickle
import re
import struct
import weakref
from array import array
from bisect import bisect_left, bisect_right
from itertools import accumulate
from typing import Any

import numpy as np
from whoosh import formats, matching, scoring
from whoosh import query as wq
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3LeafMatcher
from whoosh.matching import combo, wrappers
from whoosh.reading import TermNotFound
from whoosh.util.numeric import byte_to_length, to_sortable
from zlib_ng import zlib_ng as zlib  # the stdlib's API and streams, inflated faster: see README, Performance

from .codec import (
    _KIND_BYTES,
    _KIND_NONE,
    _KIND_ONE,
    _VARIABLE,
    _ZIPPED,
    CompactCodec,
    CompactLeafMatcher,
    unpack_block,
)
from .facets import _cached
from .weighting import BM25F, field_length_codes, field_lengths

#: A length byte decoded as whoosh's ``doc_field_length`` decodes it (0 -> 0).
_LENGTHS = [byte_to_length(b) for b in range(256)]

Scores = dict[int, float]
_INT = struct.Struct("!i")  # whoosh.system's int: a block's length, negative for the last block


#: The term matchers whose blocks :func:`_blocks` reads: whoosh 3's, and ``codec``'s arrays.
_BLOCK_MATCHERS = (W3LeafMatcher, CompactLeafMatcher)


class _Unsupported(Exception):
    pass


def postings(reader: Any, fieldname: str, btext: bytes, fmt: Any, values: bool = True, weights: bool = True,
             ) -> tuple[list[int], list[float], list[Any]] | None:
    """Every posting of a term in one segment, deleted documents included: document numbers,
    weights and (``values``) raw values, read block by block; None when the codec's postings
    are not whoosh 3 blocks (or a one-document term's inlined list). Decoded as
    ``W3LeafMatcher._read_ids``/``_read_weights``/``_read_values`` decode them, in C loops."""
    return matcher_postings(reader._terms.matcher(fieldname, btext, fmt), fmt, values, weights)


def matcher_postings(m: Any, fmt: Any, values: bool = True, weights: bool = True,
                     ) -> tuple[list[int], list[float], list[Any]] | None:
    """:func:`postings` of the term of a segment's matcher ``m`` (wherever it stands: its blocks
    are read from the start), without looking the term up again."""
    if type(m) is matching.ListMatcher:  # a term of one document: its postings are in the term info
        return _listed(m)
    if type(m) not in _BLOCK_MATCHERS or m._byteids or (values and m._fixedsize not in (None, -1)):
        return None
    ids: list[int] = []
    ws: list[float] = []
    vals: list[Any] = []
    # Only positions are worth skipping in a pickle: a keyword's values are one empty string,
    # cheaper to unpickle than to step over. A compact block's values are simply not sliced.
    whole = values or (type(m) is W3LeafMatcher and type(fmt) is not formats.Positions)
    for length, block_ids, block_weights, block_values in _blocks(m, whole):
        ids.extend(accumulate(block_ids))  # whoosh's delta_decode
        if not weights:
            pass
        elif block_weights is None:
            ws.extend([1.0] * length)
        elif isinstance(block_weights, float):
            ws.extend([array("f", [block_weights])[0]] * length)  # stored as float32
        else:
            ws.extend(block_weights)
        if values:
            vals.extend(block_values)
    return ids, ws, vals


def _blocks(m: W3LeafMatcher, values: bool = True) -> Any:
    """``(length, ids, weights, values)`` of each posting block of ``m``'s term, as
    ``W3LeafMatcher._goto`` and ``_read_data`` read them, from one read of the term's whole
    posting list: the matcher reads each block's header with a seek, an int and a pickle loaded
    from the file (about 20 small reads a block, 2,600 for ``tag:PREL`` at 20,000 cables).

    Without ``values`` (None in their place), a block's pickle is read only up to its weights
    (see :func:`_ids_and_weights`), and decompressed only as far as that needs. A
    :class:`~cablesearch.codec.CompactLeafMatcher`'s blocks are arrays (``codec.unpack_block``)."""
    compact = type(m) is CompactLeafMatcher
    length = m._length[0] if isinstance(m._length, tuple) else m._length  # read back from disk as (n,)
    start, end = m._baseoffset, m._startoffset + length
    buf = m._postfile.get(start, end - start)
    stream = io.BytesIO(buf)
    pos = 0
    while pos < len(buf):
        size = _INT.unpack_from(buf, pos)[0]
        last = size < 0
        nextpos = pos + _INT.size + abs(size)
        stream.seek(pos + _INT.size)
        length, _maxid, _maxweight, compression, _mnlen, _mxlen = pickle.load(stream)
        data = buf[stream.tell():nextpos]
        head = None if values or compact else _ids_and_weights(data, compression, length)
        if compact:
            yield (length, *unpack_block(zlib.decompress(data) if compression else data, length, values))
        elif head is not None:
            yield length, head[0], head[1], None
        else:
            block = pickle.loads(zlib.decompress(data) if compression else data)
            yield length, block[0], block[1], block[2]
        if last:
            return
        pos = nextpos
    raise _Unsupported  # the list ended without its last block: let whoosh's own reader decide


# A block's data is the pickle (protocol 2) of ``(ids, weights, values)``: the ids a MARK ... TUPLE
# of small ints (the deltas), then the weights (None, one float, or a MARK ... TUPLE of floats),
# then the values. A body word's values are its positions, each a bytes object that protocol 2
# pickles as a call of ``codecs.encode``: most of the cost of reading the block, and not needed
# to score it. Possessive loops: an argument byte that looks like an opcode is never re-read as one.
# (One to three items are a TUPLE1/2/3 after them, with no MARK.)
_IDS = re.compile(rb"\x80\x02(?:\((?:K.|M..|J....)*+t|(?:K.|M..|J....){1,3}+[\x85-\x87])(?:q.|r....)?", re.S)
# None or one float must be followed by something other than a float or a TUPLE1/2/3 (else it was
# the first item of a tuple; and cut short by a partial decompression, it cannot be told).
_WEIGHTS = re.compile(rb"(?:N|G.{8})(?=[^\x85-\x87G])|(?:\((?:G.{8})*+t|(?:G.{8}){1,3}+[\x85-\x87])(?:q.|r....)?",
                      re.S)


def _ids_and_weights(data: bytes, compressed: bool, length: int) -> tuple[Any, Any] | None:
    """A block's ids and weights from the start of its pickle, exactly as unpickling all of it
    gives them (the same opcodes, ended with TUPLE2 and STOP); None when the start is not laid
    out as expected (then the whole block is unpickled)."""
    if compressed:
        # ids: at most 5 bytes each (J + 4), weights 9 (G + 8); MARKs, TUPLEs and PUTs: 16
        raw = zlib.decompressobj().decompress(data, 16 + 14 * length)
    else:
        raw = data
    ids = _IDS.match(raw)
    if ids is None:
        return None
    weights = _WEIGHTS.match(raw, ids.end())
    if weights is None:
        return None
    try:
        got = pickle.loads(raw[:weights.end()] + b"\x86.")
    except pickle.UnpicklingError:
        return None
    ok = type(got) is tuple and len(got) == 2 and type(got[0]) is tuple and len(got[0]) == length
    return got if ok else None


def term_docs(reader: Any, fieldname: str, text: Any) -> set[int] | None:
    """The live documents of one segment reader holding the term, as whoosh's ``Term.docs``
    finds them (its postings, deleted documents left out), read block by block; None when its
    postings cannot be read in bulk."""
    if fieldname not in reader.schema:
        return set()
    try:
        btext = reader.schema[fieldname].to_bytes(text)
    except ValueError:
        return set()
    if (fieldname, btext) not in reader:
        return set()
    got = postings(reader, fieldname, btext, reader.schema[fieldname].format, values=False, weights=False)
    if got is None:
        return None
    docs = set(got[0])
    if reader.has_deletions():
        docs -= reader.deleted_docs_set
    return docs


def _listed(m: Any) -> tuple[list[int], list[float], list[Any]] | None:
    ids = list(m._ids)
    if m._all_weights:
        weights = [m._all_weights] * len(ids)
    else:
        weights = list(m._weights) if m._weights else [1.0] * len(ids)  # ListMatcher.weight()
    values = list(m._values) if m._values else [None] * len(ids)
    return (ids, weights, values) if len(weights) == len(values) == len(ids) else None


def segment_scores(searcher: Any, q: Any, context: Any) -> Scores | None:
    """``{docnum: score}`` of every document of the one-segment ``searcher`` that ``q`` matches
    (deleted documents left out), exactly as whoosh's matchers score them; None when the query's
    matchers include a kind this module does not evaluate."""
    got = segment_arrays(searcher, q, context)
    if got is None:
        return None
    docs, scores = got
    return dict(zip(docs.tolist(), scores.tolist(), strict=True))


def segment_arrays(searcher: Any, q: Any, context: Any) -> tuple[Any, Any] | None:
    """:func:`segment_scores` as two numpy arrays: the matching document numbers, ascending, and
    their scores (float64, whoosh's numbers)."""
    if not searcher.is_atomic():
        return None
    try:
        if context is None:
            from whoosh.searching import SearchContext

            context = SearchContext(weighting=searcher.weighting)
        m = q.matcher(searcher, context.set(bulk=True))
        if type(m) is TermLeaf or type(m) is Listed:  # one term or phrase: its list as it is
            return m.sparse(searcher.reader())
        found = _eval(m, searcher.reader())
    except _Unsupported:
        return None
    docs = np.flatnonzero(found.present)
    return docs, found.scores[docs]


class _Found:
    """A node's matches in one segment, one slot a document: ``present[d]`` when ``d`` matches,
    ``scores[d]`` its score (0.0 where absent). A segment holds a few tens of thousands of
    documents, so whole-segment vector operations cost microseconds, whatever the matches.

    A score kept only where present is ``scores * present`` (a score times 1.0 is itself, and
    times 0.0 is 0.0: scores are never negative, boosts neither), not ``np.where(present,
    scores, 0.0)``: the same values, in a quarter of the time for a segment of 64,000 slots."""

    __slots__ = ("present", "scores")

    def __init__(self, present: Any, scores: Any) -> None:
        self.present = present
        self.scores = scores


def _nothing(n: int) -> _Found:
    return _Found(np.zeros(n, dtype=bool), np.zeros(n))


#: The masks of the last frozen sets of documents asked for (a segment's deleted documents,
#: which whoosh wraps around every term of a query): ``id(set) -> (set, n, mask)``.
_MASKS: dict[int, tuple[Any, int, Any]] = {}


def _mask_of(reader: Any, ids: Any) -> Any:
    """A boolean slot per document of ``reader``, true for the documents in the set ``ids`` (not
    to be changed: a frozen set's mask is kept and shared)."""
    n = reader.doc_count_all()
    frozen = type(ids) is frozenset
    if frozen:
        hit = _MASKS.get(id(ids))
        if hit is not None and hit[0] is ids and hit[1] == n:
            return hit[2]
    mask = np.zeros(n, dtype=bool)
    if ids:
        got = np.fromiter(ids, dtype=np.int64, count=len(ids))
        mask[got[(got >= 0) & (got < n)]] = True
    if frozen:
        mask.flags.writeable = False  # shared from now on
        if len(_MASKS) >= 64:
            _MASKS.clear()
        _MASKS[id(ids)] = (ids, n, mask)
    return mask


def _deleted(reader: Any) -> Any:
    return _mask_of(reader, reader.deleted_docs_set if reader.has_deletions() else ())


def _without_deleted(reader: Any, ids: Any, *arrays: Any) -> tuple[Any, ...]:
    """``ids`` (ascending, distinct) and the ``arrays`` that go with them, less the documents
    ``reader`` has deleted. A segment deletes a few of its documents (an update replaces some):
    each is looked for in ``ids`` by binary search, and the runs between them are joined, instead
    of a mask read for every id (42,000 ids, 25 deleted: 97 against 243 us here)."""
    gone = reader.deleted_docs_set
    if len(gone) * 16 > len(ids):
        kept = ~_deleted(reader)[ids]
        return (ids[kept], *(a[kept] for a in arrays))
    order = _sorted_ids(gone)
    at = np.searchsorted(ids, order)
    inside = at < len(ids)
    drop = at[inside][ids[at[inside]] == order[inside]]
    if not len(drop):
        return (ids, *arrays)
    starts, ends = [0, *(drop + 1).tolist()], [*drop.tolist(), len(ids)]  # the runs between dropped ids
    return tuple(np.concatenate([a[s:e] for s, e in zip(starts, ends, strict=True)]) for a in (ids, *arrays))


#: The sorted arrays of the last frozen sets of deleted documents asked for: ``id(set) -> (set, array)``.
_SORTED: dict[int, tuple[Any, Any]] = {}


def _sorted_ids(ids: Any) -> Any:
    """A frozen set of document numbers as a sorted int64 array (kept for the set, as :func:`_mask_of` keeps masks)."""
    hit = _SORTED.get(id(ids))
    if hit is not None and hit[0] is ids:
        return hit[1]
    got = np.sort(np.fromiter(ids, dtype=np.int64, count=len(ids)))
    got.flags.writeable = False
    if type(ids) is frozenset:
        if len(_SORTED) >= 64:
            _SORTED.clear()
        _SORTED[id(ids)] = (ids, got)
    return got


def _eval(m: Any, reader: Any) -> _Found:
    """``m``'s matches and scores, node by node, as whoosh's matcher of each kind computes them:
    each node's arithmetic is its matcher's, in the same order, on the same float64 values (IEEE
    addition, multiplication and division round the same in numpy as in Python)."""
    kind = type(m)
    if kind is matching.NullMatcherClass:
        return _nothing(reader.doc_count_all())
    if kind in _BLOCK_MATCHERS or kind is matching.ListMatcher:
        return _dense(reader, *_leaf(m, reader))
    if kind is wrappers.FilterMatcher:  # kept or dropped documents: as a list (see _sparse)
        return _dense(reader, *_sparse(m, reader))
    if kind is wrappers.WrappingMatcher:
        child = _eval(m.child, reader)
        return child if m.boost == 1.0 else _Found(child.present, child.scores * m.boost)
    if kind is matching.IntersectionMatcher:
        a, b = _eval(m.a, reader), _eval(m.b, reader)
        present = a.present & b.present
        both = a.scores + b.scores
        both *= present
        return _Found(present, both)
    if kind is matching.UnionMatcher:
        return _small_union(m, reader) if _leaf_count(m, SMALL_UNION) <= SMALL_UNION else _union(m, reader)
    if kind is matching.AndNotMatcher:
        a, b = _eval(m.a, reader), _eval(m.b, reader)
        present = a.present & ~b.present
        return _Found(present, a.scores * present)
    if kind is TermUnion or kind is TermLeaf or kind is Listed or kind is _Excluded:
        return m.evaluate(reader)
    if kind is combo.ArrayUnionMatcher:
        if not m._scored:
            raise _Unsupported
        boost = m._boost
        acc = np.zeros(reader.doc_count_all())
        for sub in m._submatchers:  # acc[d] = acc.get(d, 0) + s * boost, sub by sub
            ids, scores = _sparse(sub, reader)
            acc[ids] += scores * boost
        present = acc > 0  # the array's unset (0) slots are no match
        acc *= present
        return _Found(present, acc)
    if kind is wrappers.InverseMatcher:
        if getattr(m.missing, "__self__", None) is not reader:  # Not's matcher: missing = reader.is_deleted
            raise _Unsupported
        inside = _eval(m.child, reader)
        present = ~inside.present & ~_deleted(reader)
        present[m.limit:] = False
        return _Found(present, present * float(m._weight))
    raise _Unsupported


#: A length byte decoded as whoosh's ``doc_field_length`` decodes it, as float64 (exact: lengths are
#: far below 2**53).
_LENGTHS_F = np.array(_LENGTHS, dtype=np.float64)


def _leaf(m: Any, reader: Any) -> tuple[Any, Any]:
    """``(documents, scores)`` of a term's matcher: its postings, scored by its scorer."""
    scorer = m._scorer if type(m) is matching.ListMatcher else m.scorer
    ids, weights = _checked_postings(m, reader)
    if scorer is None or type(scorer) is scoring.WeightScorer:  # the weight is the score
        return ids, weights if weights is not None else np.ones(len(ids))
    if type(scorer) is not scoring.BM25FScorer or m.term() is None:
        raise _Unsupported
    return ids, _bm25(scorer, reader, m.term()[0], ids, weights)


def _checked_postings(m: Any, reader: Any) -> tuple[Any, Any]:
    """:func:`_posting_arrays` of a term's matcher in ``reader``; :class:`_Unsupported` when they
    cannot be read in bulk or name a document the segment does not have."""
    return _checked(_posting_arrays(m), reader)


def _checked(got: tuple[Any, ...] | None, reader: Any) -> tuple[Any, ...]:
    if got is None:
        raise _Unsupported
    ids = got[0]
    if len(ids) and (ids[-1] >= reader.doc_count_all() or ids[0] < 0):
        raise _Unsupported
    return got


def _info_postings(reader: Any, terminfo: Any, fmt: Any, values: bool = False) -> tuple[Any, ...]:
    """:func:`_checked_postings` of the term whose info in ``reader`` is ``terminfo``. In a segment
    of :class:`~cablesearch.codec.CompactCodec` the list is read straight from the postings file:
    whoosh's matcher, made first, would read the first block's header through about 20 small
    reads of the file (a tenth of a short query's time). With ``values``, as
    :func:`_compact_arrays` gives them."""
    terms = reader._terms
    if type(terms._codec) is CompactCodec and not terminfo.is_inlined():
        offset, length = terminfo.extent()
        length = length[0] if isinstance(length, tuple) else length  # read back from disk as (n,)
        return _checked(_compact_list(terms._postfile, offset, length, values), reader)
    m = terms._codec.postings_reader(terms._postfile, terminfo, fmt)
    if values:
        if type(m) is not CompactLeafMatcher or m._byteids:
            raise _Unsupported
        return _checked(_compact_arrays(m, values=True), reader)
    return _checked_postings(m, reader)


def _dense(reader: Any, ids: Any, scores: Any) -> _Found:
    present = np.zeros(reader.doc_count_all(), dtype=bool)
    present[ids] = True
    out = np.zeros(len(present))
    out[ids] = scores
    return _Found(present, out)


def _sparse(m: Any, reader: Any) -> tuple[Any, Any]:
    """:func:`_eval` of ``m`` as ``(documents, scores)``, the documents ascending: for a term (or a
    filter around one) without a slot for every document of the segment."""
    kind = type(m)
    if kind in _BLOCK_MATCHERS or kind is matching.ListMatcher:
        return _leaf(m, reader)
    if kind is TermLeaf or kind is TermUnion or kind is Listed or kind is _Excluded:
        return m.sparse(reader)
    if kind is wrappers.FilterMatcher:
        ids, scores = _sparse(m.child, reader)
        listed = _mask_of(reader, m._ids)[ids]
        kept = ~listed if m._exclude else listed
        ids, scores = ids[kept], scores[kept]
        return ids, scores if m.boost == 1.0 else scores * m.boost
    if kind is matching.NullMatcherClass:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    found = _eval(m, reader)
    ids = np.flatnonzero(found.present)
    return ids, found.scores[ids]


#: A tree of unions with at most this many leaves is added up a slot a document (:func:`_small_union`).
SMALL_UNION = 8


def _leaf_count(m: Any, stop: int) -> int:
    """How many leaves (not unions) the tree of ``UnionMatcher`` ``m`` has, counted up to just past ``stop``."""
    count, stack = 0, [m]
    while stack and count <= stop:
        node = stack.pop()
        if type(node) is matching.UnionMatcher:
            stack.extend((node.b, node.a))
        else:
            count += 1
    return count + len(stack)


def _small_union(m: Any, reader: Any) -> _Found:
    """:func:`_union` of a small tree (a word in the body or the subject: two leaves), node by node,
    each a slot a document: a node's score is its two sides' added (an absent side adds 0.0, which
    leaves the other exactly as it was), so every sum is whoosh's, in the tree's grouping. Each
    leaf is read as a list and put in its place; no sort, as the general case needs. A term's
    list keeps the segment's deleted documents, dropped from the whole at the end (:func:`_live`)."""
    n = reader.doc_count_all()
    present = np.zeros(n, dtype=bool)
    scores = np.zeros(n)
    for side in (m.a, m.b):
        if type(side) is matching.UnionMatcher:
            found = _small_union(side, reader)
            present |= found.present
            scores += found.scores
        else:
            ids, got = side.with_deleted(reader) if type(side) is TermLeaf else _sparse(side, reader)
            present[ids] = True
            scores[ids] += got  # ids are distinct: each slot adds once
    return _live(reader, _Found(present, scores))


def _live(reader: Any, found: _Found) -> _Found:
    """``found`` without the segment's deleted documents (in place): absent, and scored 0.0."""
    if reader.has_deletions():
        found.present &= ~_deleted(reader)
        found.scores *= found.present
    return found


def _union(m: Any, reader: Any) -> _Found:
    """A tree of ``UnionMatcher`` (whoosh's OR of several queries, a pattern's OR of its words)
    evaluated as a whole: a node scores the sum of its two sides where both match, else the one
    that does, so a document's score is its matching children's scores added in the tree's
    grouping. Each child is read once, without a slot a document (:func:`_sparse`); then, level by
    level from the deepest, each document's values move up to their parent node, and two that
    meet there (its two sides) are added. A document's values stay in tree order, so the two
    sides of a node are always next to each other."""
    parents: list[int] = []
    depths: list[int] = []
    children: list[tuple[Any, int]] = []
    stack = [(m, -1, 0)]
    while stack:
        node, parent, depth = stack.pop()
        k = len(parents)
        parents.append(parent)
        depths.append(depth)
        if type(node) is matching.UnionMatcher:
            stack.append((node.b, k, depth + 1))
            stack.append((node.a, k, depth + 1))  # popped first: children are met in tree order
        else:
            children.append((node, k))
    parts = [(*_sparse(child, reader), k) for child, k in children]
    docs = np.concatenate([ids for ids, _, _ in parts])
    values = np.concatenate([scores for _, scores, _ in parts])
    nodes = np.concatenate([np.full(len(ids), k, dtype=np.int64) for ids, _, k in parts])
    order = np.argsort(docs, kind="stable")  # by document, then child in tree order
    docs, values, nodes = docs[order], values[order], nodes[order]
    parent_of, depth_of = np.array(parents, dtype=np.int64), np.array(depths, dtype=np.int64)
    depth = depth_of[nodes]
    for level in range(max(depths), 0, -1):
        up = depth == level
        if not up.any():
            continue
        nodes[up] = parent_of[nodes[up]]
        depth[up] = level - 1
        pair = np.flatnonzero((docs[1:] == docs[:-1]) & (nodes[1:] == nodes[:-1]))
        if len(pair):
            values[pair] = values[pair] + values[pair + 1]  # a.score() + b.score()
            kept = np.ones(len(docs), dtype=bool)
            kept[pair + 1] = False
            docs, values, nodes, depth = docs[kept], values[kept], nodes[kept], depth[kept]
    return _dense(reader, docs, values)


def _bm25(scorer: Any, reader: Any, fieldname: str, ids: Any, weights: Any) -> Any:
    """``BM25FScorer._score(w, length)`` (that is ``whoosh.scoring.bm25``) of each posting, written
    out as whole-array operations: the same operations on the same values in the same order."""
    return _bm25_of(scorer.idf, scorer.avgfl, scorer.B, scorer.K1, reader, fieldname, ids, weights)


def _bm25_of(idf: float, avgfl: float, B: float, K1: float, reader: Any, fieldname: str, ids: Any, weights: Any,
             ) -> Any:
    codes = field_length_codes(reader, fieldname)
    if codes is not None:
        # A length is one of 256 bytes: the formula's length part worked out once per byte, in
        # the same operations as per posting below, then looked up (so the same bits).
        part = K1 * ((1 - B) + B * _LENGTHS_F / avgfl)
        code = np.frombuffer(codes, dtype=np.uint8)[ids]
        if weights is None:  # every weight 1.0 (a keyword, a word once in each cable)
            return idf * ((1.0 * (K1 + 1)) / (1.0 + part))[code]
        return idf * ((weights * (K1 + 1)) / (weights + part[code]))
    else:
        listed = field_lengths(reader, fieldname)
        if listed is None or any(listed[d] is None for d in ids.tolist()):
            raise _Unsupported
        lengths = np.array([listed[d] for d in ids.tolist()], dtype=np.float64)
    w: Any = 1.0 if weights is None else weights
    return idf * ((w * (K1 + 1)) / (w + K1 * ((1 - B) + B * lengths / avgfl)))


#: numpy's dtype of each array typecode a compact block uses.
_DTYPES = {ord("B"): np.uint8, ord("H"): np.uint16, ord("I"): np.uint32}
_ITEMSIZES = {np.uint8: 1, np.uint16: 2, np.uint32: 4}


def _posting_arrays(m: Any) -> tuple[Any, Any] | None:
    """``(ids, weights)`` of every posting of the term of ``m`` (from the start, whatever ``m`` has
    read), as int64 and float64 arrays; weights None when all are 1.0. None when the postings
    cannot be read in bulk."""
    if type(m) is CompactLeafMatcher and not m._byteids:
        return _compact_arrays(m)
    if type(m) is matching.ListMatcher and type(m._ids) is array and m._ids.typecode == "I" and m._all_weights:
        # a range's documents (ConstantScoreQuery, a column's range): every posting the one weight
        ids = np.frombuffer(m._ids, dtype=f"=u{m._ids.itemsize}").astype(np.int64)
        return ids, np.full(len(ids), float(m._all_weights))
    got = _listed(m) if type(m) is matching.ListMatcher else matcher_postings(m, m.format, values=False)
    if got is None:
        return None
    ids, weights, _ = got
    return np.array(ids, dtype=np.int64), np.array(weights, dtype=np.float64)


def _compact_arrays(m: Any, values: bool = False) -> tuple[Any, ...] | None:
    """:func:`_posting_arrays` of a :class:`~cablesearch.codec.CompactLeafMatcher`: each block is
    decompressed only as far as its ids and weights (a body word's positions follow them), and
    its arrays are read in place; the deltas of all blocks are decoded in one pass.

    With ``values``, a third item: :class:`Values`, every posting's value; None when a block does
    not keep one value a posting (see ``codec.pack_block``)."""
    length = m._length[0] if isinstance(m._length, tuple) else m._length
    return _compact_list(m._postfile, m._startoffset, length, values)


def _compact_list(postfile: Any, offset: int, length: int, values: bool = False) -> tuple[Any, ...] | None:
    """:func:`_compact_arrays` of the posting list at ``offset`` (``length`` bytes, whoosh 3's
    header tag first) in ``postfile``."""
    buf = postfile.get(offset, length)
    if buf[:len(WHOOSH3_HEADER_MAGIC)] != WHOOSH3_HEADER_MAGIC:
        raise _Unsupported
    view = memoryview(buf)  # a block's data is read in place, not copied
    stream = io.BytesIO(buf)
    pos = len(WHOOSH3_HEADER_MAGIC)
    deltas, weights, counts, blocks = [], [], [], []
    uniform = True  # every weight 1.0
    while True:
        if pos >= len(buf):
            raise _Unsupported  # the list ended without its last block: let whoosh's reader decide
        size = _INT.unpack_from(buf, pos)[0]
        nextpos = pos + _INT.size + abs(size)
        stream.seek(pos + _INT.size)
        count, _maxid, _maxweight, compression, _mnlen, _mxlen = pickle.load(stream)
        data: Any = view[stream.tell():nextpos]
        if compression:  # a block of an earlier version, compressed whole: without values, only
            # its head (4 kind bytes, the ids, the weights) is inflated
            data = zlib.decompress(data) if values else _inflated_head(data, count)
        idtype = _DTYPES.get(data[0])
        if idtype is None:
            raise _Unsupported  # not a block this module knows: whoosh's reader decides
        at = 4 + count * _ITEMSIZES[idtype]
        deltas.append(np.frombuffer(data, idtype, count, 4))
        counts.append(count)
        wkind = data[1]
        if wkind == _KIND_NONE:
            weights.append(count)
        else:
            uniform = False
            if wkind == _KIND_ONE:
                weights.append(np.full(count, np.frombuffer(data, np.float32, 1, at)[0]))
                at += 4
            elif wkind == _KIND_BYTES:
                weights.append(np.frombuffer(data, np.uint8, count, at))
                at += count
            else:
                weights.append(np.frombuffer(data, np.float32, count, at))
                at += 4 * count
        if values:  # read when asked for (Values.for_postings): only the blocks asked
            vkind, lencode = data[2], data[3]
            if vkind != _ZIPPED and vkind != _VARIABLE:
                return None
            if _DTYPES.get(lencode) is None:
                raise _Unsupported
            blocks.append((data, at, vkind, lencode))
        if size < 0:
            break
        pos = nextpos
    ids = running_sums(np.concatenate(deltas), np.array(counts))  # each block's first delta is from 0
    ws = None if uniform else np.concatenate(
        [np.ones(w, dtype=np.float32) if isinstance(w, int) else w for w in weights]).astype(np.float64)
    if not values:
        return ids, ws
    return ids, ws, Values.by_block(blocks, counts)


def _inflated_head(data: bytes, count: int) -> bytes:
    """The start of a compressed compact block of ``count`` postings, inflated just as far as its
    ids and weights reach (zlib inflates in order: what follows them, a body word's positions,
    is most of the block, and is left compressed). Its four kind bytes say how far that is."""
    stream = zlib.decompressobj()
    head = stream.decompress(data, 4)
    idtype = _DTYPES.get(head[0]) if len(head) == 4 else None
    if idtype is None:
        raise _Unsupported  # not a block this module knows: whoosh's reader decides
    wkind = head[1]
    weights = 0 if wkind == _KIND_NONE else 4 if wkind == _KIND_ONE else 4 * count
    return head + stream.decompress(stream.unconsumed_tail, count * np.dtype(idtype).itemsize + weights)


def running_sums(deltas: Any, counts: Any) -> Any:
    """The running sums (int64) of ``deltas`` cut into runs of ``counts`` (each at least 1), each run
    summed from 0: ``accumulate`` of each run, in one pass."""
    sums = np.cumsum(deltas, dtype=np.int64)
    if len(counts) > 1:
        ends = np.cumsum(counts)
        sums -= np.repeat(np.concatenate(([0], sums[ends[:-1] - 1])), counts)
    return sums


class Values:
    """Every posting's value of a term, joined: posting ``i``'s is ``data[starts[i]:starts[i] + sizes[i]]``.

    Or, from a list's compact blocks (:meth:`by_block`), the blocks still unread: their values are
    inflated when asked for (:meth:`for_postings`), only the blocks that hold the postings asked
    for (a phrase of rare and common words asks for a few postings of the common word's list)."""

    __slots__ = ("_read", "blocks", "data", "ends", "sizes", "starts")

    def __init__(self, data: bytes, starts: Any, sizes: Any) -> None:
        self.data, self.starts, self.sizes = data, starts, sizes
        self.blocks: list[tuple[Any, int, int, int]] | None = None

    @classmethod
    def by_block(cls, blocks: list[tuple[Any, int, int, int]], counts: list[int]) -> Values:
        """The values of a list's blocks, unread: ``(data, at, kind, lencode)`` for each (its data,
        where its lengths start, how its values are kept, its lengths' typecode), ``counts[i]``
        postings in block ``i``."""
        self = cls(b"", None, None)
        self.blocks, self.ends = blocks, np.cumsum(counts)
        self._read: dict[int, tuple[Any, Any]] = {}
        return self

    def _block(self, j: int) -> tuple[Any, Any]:
        """Block ``j``'s values (joined) and their lengths, read once."""
        got = self._read.get(j)
        if got is None:
            data, at, kind, lencode = self.blocks[j]  # type: ignore[index]
            if kind == _ZIPPED:  # the lengths and values: one zlib stream after the weights
                data, at = zlib.decompress(data[at:]), 0
            lentype = _DTYPES[lencode]
            count = int(self.ends[j] - (self.ends[j - 1] if j else 0))
            got = self._read[j] = (data[at + count * _ITEMSIZES[lentype]:],
                                   np.frombuffer(data, lentype, count, at).astype(np.int64))
        return got

    def for_postings(self, at: Any) -> Values:
        """Values holding those of postings ``at`` (ascending) at least: others may be empty."""
        if self.blocks is None:
            return self
        total = int(self.ends[-1]) if len(self.ends) else 0
        starts, sizes = np.zeros(total, dtype=np.int64), np.zeros(total, dtype=np.int64)
        parts, offset = [], 0
        needed = np.searchsorted(self.ends, at, side="right")
        for j in np.unique(needed).tolist():
            body, lengths = self._block(j)
            first = int(self.ends[j]) - len(lengths)
            sizes[first:first + len(lengths)] = lengths
            starts[first:first + len(lengths)] = offset + np.cumsum(lengths) - lengths
            parts.append(body)
            offset += len(body)
        return Values(b"".join(parts), starts, sizes)


def posting_values(reader: Any, terminfo: Any, fmt: Any) -> tuple[Any, Any, Values] | None:
    """``(ids, weights, values)`` of a term's every posting in one segment (its info there:
    ``terminfo``), deleted documents included, as arrays (weights None when all are 1.0) and
    :class:`Values`; None when its postings are not in compact blocks of one value a posting."""
    try:
        return _info_postings(reader, terminfo, fmt, values=True)
    except _Unsupported:
        return None


#: The weightings whose BM25F scorers :func:`_term_scores` works out (ours, and whoosh's it extends).
_BM25F = (BM25F, scoring.BM25F)

class _Lazy(matching.Matcher):
    """A matcher made only for :func:`segment_arrays` (a search context with ``bulk`` set), whose
    matches are worked out when first used: by :func:`_eval` (:meth:`evaluate`), or walked, from
    the same arrays, when another matcher walks it (an intersection finds its first match on
    construction)."""

    def __init__(self, searcher: Any, boost: float, weighting: Any) -> None:
        self.searcher, self.boost, self.weighting = searcher, boost, weighting
        self.found: _Found | None = None
        self._i = 0

    def evaluate(self, reader: Any) -> _Found:
        if self.found is None:
            self.found = self._work_out(reader)
        return self.found

    def _work_out(self, reader: Any) -> _Found:
        raise NotImplementedError

    def sparse(self, reader: Any) -> tuple[Any, Any]:
        """``(documents, scores)``: the matches, ascending, and their scores."""
        got = self.__dict__.get("_sparse")
        if got is None:
            found = self.evaluate(reader)
            docs = np.flatnonzero(found.present)
            got = self.__dict__["_sparse"] = (docs, found.scores[docs])
        return got

    def _walked(self) -> tuple[Any, Any]:
        return self.sparse(self.searcher.reader())

    # whoosh's matcher protocol, on the arrays
    def is_active(self) -> bool:
        return self._i < len(self._walked()[0])

    def id(self) -> int:
        return int(self._walked()[0][self._i])

    def next(self) -> None:
        self._i += 1

    def skip_to(self, id: int) -> None:
        docs = self._walked()[0]
        if self._i < len(docs) and docs[self._i] < id:
            self._i = int(np.searchsorted(docs, id))

    def reset(self) -> None:
        self._i = 0

    def score(self) -> float:
        return float(self._walked()[1][self._i])

    def weight(self) -> float:
        return self.score()

    def all_ids(self) -> Any:
        return iter(self._walked()[0][self._i:].tolist())

    def supports(self, astype: str) -> bool:
        return False

    def value(self) -> Any:
        raise _Unsupported  # no posting values: a span query walks whoosh's own matchers instead

    def value_as(self, astype: str) -> Any:
        raise _Unsupported

    def spans(self) -> Any:
        raise _Unsupported

    def supports_block_quality(self) -> bool:
        return False

    def max_quality(self) -> float:
        scores = self._walked()[1]
        return float(scores.max()) if len(scores) else 0.0

    def block_quality(self) -> float:
        return self.max_quality()

    def copy(self) -> Any:
        """A plain ``ListMatcher`` of the matches, at this one's place."""
        docs, scores = self._walked()
        return matching.ListMatcher(array("I", docs.astype(np.uint32).tobytes()), weights=scores.tolist(),
                                    position=self._i)

    def term(self) -> None:
        return None


class TermLeaf(_Lazy):
    """What whoosh's ``Term.matcher`` matches (the term's postings, deleted documents left out,
    scored by the weighting's scorer, times the boost), from the term's info looked up once: the
    matcher whoosh makes looks the term up three times (is it there, its scorer's best score, its
    postings) and reads its first block; an AND then walks to its first match."""

    def __init__(self, searcher: Any, fieldname: str, btext: bytes, terminfo: Any, boost: float,
                 weighting: Any) -> None:
        super().__init__(searcher, boost, weighting)
        self.fieldname, self.btext, self.terminfo = fieldname, btext, terminfo

    def _work_out(self, reader: Any) -> _Found:
        if "_sparse" in self.__dict__ or not reader.has_deletions():
            return _dense(reader, *self.sparse(reader))
        return _live(reader, _dense(reader, *self.with_deleted(reader)))

    def sparse(self, reader: Any) -> tuple[Any, Any]:
        got = self.__dict__.get("_sparse")
        if got is None:
            ids, scores = _term_scores(self.searcher, reader, self.fieldname, self.btext, self.terminfo,
                                       self.weighting)
            got = self.__dict__["_sparse"] = (ids, scores if self.boost == 1.0 else scores * self.boost)
        return got

    def with_deleted(self, reader: Any) -> tuple[Any, Any]:
        """:meth:`sparse` with the segment's deleted documents left in (scored as any other), for a
        caller that puts the list in a slot a document and then drops them all at once
        (:func:`_live`): a mask of the segment instead of a filter of each list."""
        if "_sparse" in self.__dict__:
            return self.__dict__["_sparse"]
        ids, scores = _term_scores(self.searcher, reader, self.fieldname, self.btext, self.terminfo,
                                   self.weighting, deleted=True)
        return ids, scores if self.boost == 1.0 else scores * self.boost


class Listed(_Lazy):
    """Matches already worked out, as arrays: ``ids`` (ascending, live documents only) and their
    ``scores`` (a phrase's, ``phrases.py``). In a bulk search they stay arrays; whoosh's
    ``ListMatcher`` would take them as Python lists, to be made arrays again."""

    def __init__(self, searcher: Any, ids: Any, scores: Any) -> None:
        super().__init__(searcher, 1.0, None)
        self.__dict__["_sparse"] = (ids, scores)

    def _work_out(self, reader: Any) -> _Found:
        return _dense(reader, *self.sparse(reader))


class TermUnion(_Lazy):
    """What whoosh's ``PreloadedOr`` of the ``Term`` queries of ``terms`` (a pattern's words, each in
    this segment) matches. whoosh's would look each term up three times and pre-read 2,048
    documents of every term's postings on construction; this looks each up once. The scores are
    whoosh's ``ArrayUnionMatcher``'s: ``acc[d] += score * boost``, term by term in order."""

    def __init__(self, searcher: Any, fieldname: str, terms: list[bytes], boost: float, weighting: Any,
                 infos: list[Any] | None = None) -> None:
        super().__init__(searcher, boost, weighting)
        self.fieldname, self.terms = fieldname, terms
        #: Each term's info in this segment, where the caller has them (else looked up here).
        self.infos = infos if infos is not None and len(infos) == len(terms) else None

    def _work_out(self, reader: Any) -> _Found:
        field = reader.schema[self.fieldname]
        acc = np.zeros(reader.doc_count_all())
        for i, text in enumerate(self.terms):
            t = text if isinstance(text, bytes) else field.to_bytes(text)  # as Term.matcher encodes it
            info = self.infos[i] if self.infos is not None else reader.term_info(self.fieldname, t)
            ids, scores = _term_scores(self.searcher, reader, self.fieldname, t, info, self.weighting, deleted=True)
            acc[ids] += scores * self.boost
        present = acc > 0  # the array's unset (0) slots are no match
        acc *= present
        return _live(reader, _Found(present, acc))


def _term_scores(searcher: Any, reader: Any, fieldname: str, btext: bytes, terminfo: Any, weighting: Any,
                 deleted: bool = False) -> tuple[Any, Any]:
    """``(documents, scores)`` of a term whose info is ``terminfo``, as ``searcher.postings`` makes
    and scores it: its postings without the deleted documents (with them, if ``deleted``), each
    scored by ``weighting.scorer(searcher, fieldname, btext)`` (for BM25F, whose numbers come from
    the parent searcher: idf, average field length; and the weighting's B and K1)."""
    field = reader.schema[fieldname]
    ids, weights = _info_postings(reader, terminfo, field.format)
    if not field.scorable:  # whoosh's WeightScorer: the weight is the score
        scores = weights if weights is not None else np.ones(len(ids))
    else:
        parent = searcher.get_parent()
        B = weighting._field_B.get(fieldname, weighting.B)
        scores = _bm25_of(parent.idf(fieldname, btext), parent.avg_field_length(fieldname) or 1, B, weighting.K1,
                          reader, fieldname, ids, weights)
    if not deleted and reader.has_deletions():
        ids, scores = _without_deleted(reader, ids, scores)
    return ids, scores


class Term(wq.Term):
    """whoosh's ``Term``; in a bulk search of one segment (:func:`bulk_context`), a
    :class:`TermLeaf` instead of whoosh's matcher: the same matches and scores. The term's info is
    looked up once per segment reader: an OR asks each of its terms how many cables it matches
    (``estimate_size``, to shape its tree) before asking for its matcher."""

    def _info(self, reader: Any, btext: bytes) -> Any:
        """The term's info in a segment reader (None: not there), looked up once per reader."""
        infos = self.__dict__.get("_infos")
        if infos is None:
            infos = self.__dict__["_infos"] = weakref.WeakKeyDictionary()
        mine = infos.get(reader)
        if mine is None:
            mine = infos[reader] = {}
        key = (self.fieldname, btext)  # a copy shares the cache, and may have another text
        if key not in mine:
            try:
                mine[key] = reader.term_info(self.fieldname, btext)
            except TermNotFound:
                mine[key] = None
        return mine[key]

    def _btext(self, schema: Any) -> bytes | None:
        if self.fieldname not in schema:
            return None
        try:
            return schema[self.fieldname].to_bytes(self.text)
        except ValueError:
            return None

    def estimate_size(self, ixreader: Any) -> int:
        btext = self._btext(ixreader.schema)
        if btext is None or not hasattr(ixreader, "_terms"):
            return super().estimate_size(ixreader)
        info = self._info(ixreader, btext)
        return 0 if info is None else info.doc_frequency()

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        if not bulk_context(context) or not searcher.is_atomic() or self.minquality:
            return super().matcher(searcher, context)
        btext = self._btext(searcher.schema)
        if btext is None:
            return matching.NullMatcher()
        info = self._info(searcher.reader(), btext)
        if info is None:
            return matching.NullMatcher()
        return TermLeaf(searcher, self.fieldname, btext, info, self.boost, context.weighting)


def bulk_context(context: Any) -> bool:
    """Whether ``context`` is one :func:`segment_arrays` evaluates, with a weighting whose scorers
    :func:`_term_scores` reproduces (a query may then answer with a :class:`TermLeaf` or a
    :class:`TermUnion`)."""
    return bool(getattr(context, "bulk", False)) and type(getattr(context, "weighting", None)) in _BM25F


class ConstantScoreQuery(wq.ConstantScoreQuery):
    """whoosh's ``ConstantScoreQuery`` (a date or number range: every match scores the boost),
    whose list of matches comes from :func:`_eval` instead of a walk of its union of terms, one
    document at a time (``decl:>=2019`` at 250,000 cables: 1.3 s walking). The same documents,
    in the same order, with the same score."""

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        from whoosh.searching import SearchContext

        context = context or SearchContext()
        if context.needs_current or not searcher.is_atomic():
            return super().matcher(searcher, context)
        try:
            docs = _range_docs(self.child, searcher.reader())
        except _Unsupported:
            docs = None
        if docs is not None:
            if not len(docs):
                return matching.NullMatcher()
            return matching.ListMatcher(array("I", docs.astype(np.uint32).tobytes()), all_weights=self.score)
        m = self.child.matcher(searcher, context)
        if isinstance(m, matching.NullMatcherClass):
            return m
        try:
            ids = array("I", np.flatnonzero(_eval(m, searcher.reader()).present).astype(np.uint32).tobytes())
        except _Unsupported:
            return super().matcher(searcher, context)
        return matching.ListMatcher(ids, all_weights=self.score, term=m.term())


def _range_docs(q: Any, reader: Any) -> Any:
    """The live documents of one segment reader matching a numeric range as whoosh compiles it (an
    ``Or``, or one, of ``Term`` and ``TermRange`` over the trie terms), ascending; None for any
    other query. Only the documents: the range scores every match the same. The terms of a
    ``TermRange`` come with their info from one ordered walk of the term table, as ``TermRange``
    lists them; whoosh would then look each up again, and build and walk a matcher for it."""
    from whoosh.query import ranges, terms

    parts = q.subqueries if type(q) is wq.Or else [q]
    if not all(type(p) in (terms.Term, ranges.TermRange) for p in parts) or not hasattr(reader, "_terms"):
        return None
    present = np.zeros(reader.doc_count_all(), dtype=bool)
    for part in parts:
        if part.fieldname not in reader.schema:
            continue
        for info in (_range_infos(part, reader) if type(part) is ranges.TermRange else _term_infos(part, reader)):
            present[_info_postings(reader, info, reader.schema[part.fieldname].format)[0]] = True
    if reader.has_deletions():
        present &= ~_deleted(reader)
    return np.flatnonzero(present)


def _term_infos(q: Any, reader: Any) -> Any:
    try:
        btext = reader.schema[q.fieldname].to_bytes(q.text)
        yield reader.term_info(q.fieldname, btext)
    except (ValueError, TermNotFound):
        return


def _range_infos(q: Any, reader: Any) -> Any:
    """The infos of the terms ``TermRange._btexts`` lists, in the same walk (with their infos)."""
    field = reader.schema[q.fieldname]
    try:
        start = b"" if q.start is None else field.to_bytes(q.start)
        end = b"\xff\xff\xff\xff" if q.end is None else field.to_bytes(q.end)
    except ValueError:
        return
    for (fieldname, t), info in reader._terms.items_from(q.fieldname, start):
        if fieldname != q.fieldname:
            break
        if t == start and q.startexcl:
            continue
        if t == end and q.endexcl:
            break
        if t > end:
            break
        yield info


class Not(wq.Not):
    """whoosh's ``Not``: every live document but the query's. In a search :func:`segment_arrays`
    evaluates, its matches are worked out from the query's own arrays (:class:`_Excluded`, built
    with the same bulk context); whoosh's ``Not`` builds the query's matchers in a boolean context
    instead, each term's reading its first block (a body word's positions inflated) for a walk
    that is thrown away (``iran NOT nuclear`` at 250,000 cables: a third of its time). The same
    documents, each scored 1.0, as whoosh's ``InverseMatcher`` scores them."""

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        if not bulk_context(context) or not searcher.is_atomic():
            return super().matcher(searcher, context)
        return _Excluded(searcher, self.query.matcher(searcher, context))


class _Excluded(_Lazy):
    """:class:`Not`'s matcher in a bulk search: the live documents ``child`` does not match."""

    def __init__(self, searcher: Any, child: Any) -> None:
        super().__init__(searcher, 1.0, None)
        self.child = child

    def _work_out(self, reader: Any) -> _Found:
        present = ~_eval(self.child, reader).present
        if reader.has_deletions():
            present &= ~_deleted(reader)
        return _Found(present, present * 1.0)  # InverseMatcher's weight, 1.0


class Every(wq.Every):
    """whoosh's ``Every``; without a field, a segment's live documents come from its deleted-document
    set in one vector operation instead of a generator asking ``is_deleted`` of every document
    (``*`` at 250,000 cables: 130 ms)."""

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        if self.fieldname not in (None, "", "*") or not searcher.is_atomic():
            return super().matcher(searcher, context)
        live = np.flatnonzero(~_deleted(searcher.reader()))
        return matching.ListMatcher(array("I", live.astype(np.uint32).tobytes()), all_weights=self.boost)


def _constant_score(q: Any) -> Any:
    return ConstantScoreQuery(q.child, q.score) if type(q) is wq.ConstantScoreQuery else q


class _ColumnRange:
    """A range over a field with a column (``date``, ``year``), matched on one segment by two
    binary searches in the column's values, sorted once per segment and cached: whoosh's range is
    an OR of the trie terms that cover it (``date:2009`` at 250,000 cables: hundreds of terms per
    segment, 73 ms for 2,453 matches). The same documents, scored with the boost, as whoosh's
    constant-score range; deleted documents left out. Without a column, whoosh's way (as
    :class:`ConstantScoreQuery`)."""

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        if self.constantscore and searcher.is_atomic():
            ids = column_range(searcher.reader(), self.fieldname, self.start, self.end, self.startexcl,
                               self.endexcl)
            if ids is not None:
                return matching.ListMatcher(ids, all_weights=self.boost) if ids else matching.NullMatcher()
        return super().matcher(searcher, context)

    def docs(self, searcher: Any) -> Any:
        if searcher.is_atomic():
            ids = column_range(searcher.reader(), self.fieldname, self.start, self.end, self.startexcl,
                               self.endexcl)
            if ids is not None:
                return iter(ids)
        return super().docs(searcher)

    def estimate_size(self, ixreader: Any) -> int:
        """How many documents hold a value in the range, deleted ones included (as whoosh's
        estimate counts them): from the column, without looking up the range's trie terms."""
        span = _column_span(ixreader, self.fieldname, self.start, self.end, self.startexcl, self.endexcl)
        return super().estimate_size(ixreader) if span is None else max(0, span[3] - span[2])

    def _compile_query(self, ixreader: Any) -> Any:
        return _constant_score(super()._compile_query(ixreader))


class NumericRange(_ColumnRange, wq.NumericRange):
    """whoosh's ``NumericRange``, matched from the column where there is one."""


class DateRange(_ColumnRange, wq.DateRange):
    """whoosh's ``DateRange``, matched from the column where there is one."""


def column_range(reader: Any, fieldname: str, start: Any, end: Any, startexcl: bool, endexcl: bool,
                 ) -> array | None:
    """The live documents of one segment reader whose value of ``fieldname`` is in the range (as
    whoosh's numeric range reads it: ``start``/``end`` are numbers, a ``DateRange``'s as longs;
    None is open), sorted; None when the field has no plain numeric column here."""
    span = _column_span(reader, fieldname, start, end, startexcl, endexcl)
    if span is None:
        return None
    _values, docs, lo, hi = span
    if lo >= hi:
        return array("I")
    found = np.sort(np.frombuffer(docs, dtype=f"=u{docs.itemsize}")[lo:hi])
    if reader.has_deletions():
        found = found[~_deleted(reader)[found]]
    return array("I", found.astype(f"=u{array('I').itemsize}").tobytes())


def _column_span(reader: Any, fieldname: str, start: Any, end: Any, startexcl: bool, endexcl: bool,
                 ) -> tuple[Any, array, int, int] | None:
    """``(values, docs, lo, hi)``: the range is ``docs[lo:hi]`` of :func:`sorted_column`; None
    when ``reader`` is not one segment with a plain numeric column for the field."""
    from whoosh import fields

    field = reader.schema[fieldname] if fieldname in reader.schema else None
    if (not isinstance(field, fields.NUMERIC) or not hasattr(reader, "_perdoc")
            or not reader.has_column(fieldname)):
        return None
    got = sorted_column(reader, fieldname)
    if got is None:
        return None
    values, docs = got

    def key(bound: Any) -> Any:
        if isinstance(field, fields.DATETIME):
            return bound  # datetime_to_long, as the column holds it
        return to_sortable(field.numtype, field.bits, field.signed, field.prepare_number(bound))

    lo = 0 if start is None else (bisect_right if startexcl else bisect_left)(values, key(start))
    hi = len(values) if end is None else (bisect_left if endexcl else bisect_right)(values, key(end))
    return values, docs, lo, hi


def sorted_column(reader: Any, fieldname: str) -> tuple[Any, array] | None:
    """``(values, docs)`` of one segment's numeric column, sorted by value, documents without a
    value (the column's default) left out; read once and cached with the segment."""
    from whoosh.columns import NumericColumn

    def make() -> tuple[Any, array] | tuple[()]:
        column = reader.column_reader(fieldname, translate=False)
        if type(column) is not NumericColumn.Reader:
            return ()
        data = column._dbfile.get(column._basepos, column._count * column._fixedlen)
        # whoosh writes the column big-endian ("!"), each value its typecode's size
        kind = np.dtype(column._typecode)
        if kind.itemsize != column._fixedlen:
            return ()
        values = np.frombuffer(data, dtype=kind.newbyteorder(">"))
        kept = np.flatnonzero(values != column._default)
        order = kept[np.argsort(values[kept], kind="stable")]  # ties in document order
        out = array(column._typecode)
        out.frombytes(values[order].astype(kind).tobytes())
        return out, array("I", order.astype(f"=u{array('I').itemsize}").tobytes())

    got = _cached(reader, "\0sorted:" + fieldname, make)
    return got or None


__all__ = ["ConstantScoreQuery", "DateRange", "Every", "Not", "NumericRange", "Term", "TermLeaf", "TermUnion", "Values",
           "bulk_context", "column_range", "posting_values", "postings", "running_sums", "segment_arrays",
           "segment_scores", "sorted_column", "term_docs"]
