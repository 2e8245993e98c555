"""Every match of a query with its score, a segment at a time, worked out in bulk.

whoosh ranks by walking its tree of matchers one document at a time: for each match, the
collector asks the tree for the current document, its score and the next one, and each layer
(union, intersection, boost, the filter of deleted documents, the term's block reader) answers
with a Python call. At 250,000 cables a page of ``tag:PREL`` makes about 10 calls for each of
160,000 matches. :func:`segment_scores` builds the same tree of matchers and then, instead of
walking it, evaluates it node by node as whole sets: a term's postings are read block by block
and scored in one list, an intersection is a set intersection of two dicts, a union a merge.

The scores are whoosh's, number for number: each node does the arithmetic its matcher does, in
the same order (``a.score() + b.score()`` for the two sides of an intersection or union as the
tree was built; ``score * boost`` for a boost; the running sum of a pre-loaded union; the term
scorer's own ``_score(weight, length)``). A node it does not know (a span, a coordination, a
constant-score wrapper...) makes it return None, and the search walks the matchers as before.
``tests/test_bulk.py`` compares every match and score with whoosh's walk.
"""

from __future__ import annotations

import io
import pickle
import re
import struct
import sys
import zlib
from array import array
from bisect import bisect_left, bisect_right
from itertools import accumulate
from typing import Any

from whoosh import formats, matching, scoring
from whoosh import query as wq
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching import combo, wrappers
from whoosh.util.numeric import byte_to_length, to_sortable

from .codec import CompactLeafMatcher, unpack_block
from .facets import _cached
from .weighting import field_length_codes, field_lengths

#: A length byte decoded as whoosh's ``doc_field_length`` decodes it (0 -> 0).
_LENGTHS = [byte_to_length(b) for b in range(256)]
#: Postings per weight from which a table of the 256 scores pays (it costs about 360 scores).
TABLE_POSTINGS = 512

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
    if not searcher.is_atomic():
        return None
    try:
        return _eval(q.matcher(searcher, context), searcher.reader())
    except _Unsupported:
        return None


def _eval(m: Any, reader: Any) -> Scores:
    kind = type(m)
    if kind is matching.NullMatcherClass:
        return {}
    if kind in _BLOCK_MATCHERS or kind is matching.ListMatcher:
        return _leaf(m, reader)
    if kind is wrappers.FilterMatcher:
        child, ids = _eval(m.child, reader), m._ids
        boost = m.boost
        # ``child`` is this call's own dict; work on the smaller side (a few deleted documents
        # out of 160,000 matches, or a few matches out of a large filter).
        if m._exclude:
            kept = child
            for d in child.keys() & ids:
                del kept[d]
        else:
            kept = {d: child[d] for d in child.keys() & ids}
        return kept if boost == 1.0 else {d: s * boost for d, s in kept.items()}
    if kind is wrappers.WrappingMatcher:
        boost = m.boost
        child = _eval(m.child, reader)
        return child if boost == 1.0 else {d: s * boost for d, s in child.items()}
    if kind is matching.IntersectionMatcher:
        a, b = _eval(m.a, reader), _eval(m.b, reader)
        small = a if len(a) <= len(b) else b
        return {d: a[d] + b[d] for d in small if d in a and d in b}
    if kind is matching.UnionMatcher:
        a, b = _eval(m.a, reader), _eval(m.b, reader)
        out = dict(a)
        for d, s in b.items():
            out[d] = a[d] + s if d in a else s
        return out
    if kind is matching.AndNotMatcher:
        a, b = _eval(m.a, reader), _eval(m.b, reader)
        return {d: s for d, s in a.items() if d not in b}
    if kind is combo.ArrayUnionMatcher:
        if not m._scored:
            raise _Unsupported
        boost = m._boost
        acc: Scores = {}
        for sub in m._submatchers:
            for d, s in _eval(sub, reader).items():
                acc[d] = acc.get(d, 0) + s * boost
        return {d: s for d, s in acc.items() if s > 0}  # the array's unset (0) slots are no match
    if kind is wrappers.InverseMatcher:
        if getattr(m.missing, "__self__", None) is not reader:  # Not's matcher: missing = reader.is_deleted
            raise _Unsupported
        inside = _eval(m.child, reader)
        gone = reader.deleted_docs_set if reader.has_deletions() else frozenset()
        w = m._weight
        return {d: w for d in range(m.limit) if d not in inside and d not in gone}
    raise _Unsupported


def _leaf(m: Any, reader: Any) -> Scores:
    scorer = m._scorer if type(m) is matching.ListMatcher else m.scorer
    got = _listed(m) if type(m) is matching.ListMatcher else matcher_postings(m, m.format, values=False)
    if got is None:
        raise _Unsupported
    ids, weights, _ = got
    if scorer is None or type(scorer) is scoring.WeightScorer:  # the weight is the score
        return dict(zip(ids, weights, strict=True))
    if type(scorer) is not scoring.BM25FScorer:
        raise _Unsupported
    term = m.term()
    if term is None:
        raise _Unsupported
    # BM25FScorer._score(w, length), that is whoosh.scoring.bm25, written out: the same operations
    # on the same values in the same order, so the same float, without two calls per posting.
    idf, avgfl, B, K1 = scorer.idf, scorer.avgfl, scorer.B, scorer.K1
    codes = field_length_codes(reader, term[0]) if len(ids) >= TABLE_POSTINGS else None
    if codes is not None:
        # A length is one of 256 byte codes, so a score is one of 256 per weight: work each out
        # once, on the same decoded length, and look the rest up (3.5x faster for a keyword
        # field, whose every weight is 1; 1.8x for body words). A table costs 256 scores: only
        # for weights (term frequencies) that enough postings share.
        def table(w: float) -> list[float]:
            return [idf * ((w * (K1 + 1)) / (w + K1 * ((1 - B) + B * length / avgfl))) for length in _LENGTHS]

        if weights.count(weights[0]) == len(weights):
            t = table(weights[0])
            return {d: t[codes[d]] for d in ids}
        if len(ids) >= TABLE_POSTINGS * len(set(weights)):
            tables: dict[float, list[float]] = {}
            out: Scores = {}
            for d, w in zip(ids, weights, strict=True):
                t = tables.get(w)
                if t is None:
                    t = tables[w] = table(w)
                out[d] = t[codes[d]]
            return out
    lengths = field_lengths(reader, term[0])
    if lengths is None:
        raise _Unsupported
    return {d: idf * ((w * (K1 + 1)) / (w + K1 * ((1 - B) + B * lengths[d] / avgfl)))
            for d, w in zip(ids, weights, strict=True)}


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
        m = self.child.matcher(searcher, context)
        if isinstance(m, matching.NullMatcherClass):
            return m
        try:
            ids = array("I", sorted(_eval(m, searcher.reader())))
        except _Unsupported:
            return super().matcher(searcher, context)
        return matching.ListMatcher(ids, all_weights=self.score, term=m.term())


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
    found = sorted(docs[lo:hi])
    if reader.has_deletions():
        gone = reader.deleted_docs_set
        found = [d for d in found if d not in gone]
    return array("I", found)


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
        raw = array(column._typecode)
        raw.frombytes(column._dbfile.get(column._basepos, column._count * column._fixedlen))
        if sys.byteorder == "little":
            raw.byteswap()  # whoosh writes the column big-endian ("!")
        default = column._default
        order = sorted((i for i, v in enumerate(raw) if v != default), key=raw.__getitem__)
        return array(column._typecode, [raw[i] for i in order]), array("I", order)

    got = _cached(reader, "\0sorted:" + fieldname, make)
    return got or None


__all__ = ["ConstantScoreQuery", "DateRange", "NumericRange", "column_range", "postings", "segment_scores",
           "sorted_column", "term_docs"]
