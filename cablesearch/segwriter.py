"""A whoosh ``SegmentWriter`` for build workers: all-or-nothing adds, and the same segment, faster.

Three changes to whoosh 2.7's writer, each producing what the stock writer produces: the same
postings, lengths and stored fields (``tests/test_build_segwriter.py`` compares every one under
whoosh's codec and ours). The files are byte for byte the same under ours; under whoosh's
``W3Codec``, whose blocks pickle their values, a block of postings that came through a spilled
run can pickle them with other back-references, which read back as the same values.

1. :meth:`WorkerWriter.add_atomic` runs everything that can fail (analysis, UTF-8 encoding, column
   conversion) before it touches the writer. whoosh's ``add_document`` adds postings field by
   field; when a later field raises, the earlier postings stay in the pool under a document
   number the next document reuses, and the lengths column is off by one: a silent corruption.
2. Text fields whose analyzer is whoosh's stock ``StemmingAnalyzer`` chain (regex tokenizer,
   lowercase, optionally a charset filter, stop words, stemmer) are analysed by one loop over
   ``re.findall`` with a stem cache, instead of a generator chain that moves a Token object
   through the filters (2-3x faster on cable bodies). A field of word pairs (``engine.WordPairs``)
   takes its pairs from the words its text field's loop has just found (:class:`_FastPairs`).
   Any other analyzer goes through whoosh as usual.
3. The postings are pooled by term (:class:`TermPool`), not as one tuple a posting to be sorted,
   spilled and merged one by one; the flush (:func:`write_postings`) hands each block's postings
   to whoosh's postings writer at once, with field lengths read from memory instead of a column
   file once per posting.
"""

from __future__ import annotations

import contextlib
import heapq
import re
from array import array
from collections.abc import Callable, Iterator
from itertools import pairwise
from operator import itemgetter
from pickle import HIGHEST_PROTOCOL, dump, load
from typing import Any

from whoosh import formats
from whoosh.analysis import CharsetFilter, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter
from whoosh.analysis.analyzers import CompositeAnalyzer
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.formats import Positions
from whoosh.util import random_name
from whoosh.writing import SegmentWriter

from .codec import _ONE_BYTE, CompactPositions
from .weighting import _LENGTH_OF_BYTE, column_bytes

#: Terms per pickled batch in a spilled run (the final merge holds one batch per run in memory).
RUN_BATCH = 1024
#: What a posting holds in a :class:`TermPool` (three list slots; the weight and a one-position
#: value are shared objects) and a term's first posting adds (its key, list and dict slot), in bytes.
POSTING_BYTES = 32
NEW_TERM_BYTES = 200
#: A weight is its posting's frequency (times a boost of 1): shared float objects for the common ones.
_FLOATS = [float(i) for i in range(256)]
#: The stem cache is dropped (not trimmed) past this many words; stemming is a pure function.
STEM_CACHE_MAX = 400_000
#: word -> stem, per stemming function (see :class:`StemmingChain`).
_STEMS: dict[Callable[[str], str], dict[str, str]] = {}


class TermPool:
    """The postings of a segment grouped by field and term, in memory: each term keeps one flat
    list ``[docnum, weight, value, docnum, weight, value, ...]``, in document order because
    documents are added in order. Past ``limitmb`` (an estimate of the memory held) the terms are
    written to a temporary run in sorted order; the final merge combines a term's lists from every
    run. whoosh's ``PostingPool`` instead keeps a tuple per posting, sorts every posting (twice:
    in each run and in the merge) and unpickles each one on its own."""

    def __init__(self, tempstore: Any, limitmb: int) -> None:
        self.tempstore = tempstore
        self.limit = limitmb * 1024 * 1024
        self.currentsize = 0
        self.fields: dict[str, dict[bytes, list[Any]]] = {}
        self.runs: list[str] = []

    def add_doc(self, docnum: int, fields: list[tuple[str, list[tuple[bytes, int, float, bytes | None]]]],
                size: int) -> None:
        """Add one document's postings: per field, its ``(term, frequency, weight, value)`` items."""
        for name, items in fields:
            terms = self.fields.get(name)
            if terms is None:
                terms = self.fields[name] = {}
            get = terms.get
            new = 0
            for tbytes, _freq, weight, vbytes in items:
                got = get(tbytes)
                if got is None:
                    terms[tbytes] = [docnum, weight, vbytes]
                    new += 1
                else:
                    got += (docnum, weight, vbytes)
            size += new * NEW_TERM_BYTES
        self.currentsize += size
        if self.currentsize > self.limit:
            self.save()

    def add(self, item: Any) -> None:
        raise NotImplementedError("the worker writer does not merge segments")

    def iter_postings(self) -> Any:
        raise NotImplementedError("the worker writer's postings are read with iter_terms()")

    def _sorted(self) -> Iterator[tuple[str, bytes, list[Any]]]:
        fields = self.fields
        for name in sorted(fields):
            terms = fields[name]
            for tbytes in sorted(terms):
                yield name, tbytes, terms[tbytes]

    def save(self) -> None:
        """Write the terms held in memory to a new run, and let them go."""
        if not self.fields:
            return
        path = f"{random_name()}.run"
        f = self.tempstore.create_file(path).raw_file()
        self.runs.append(path)
        self._write_run(f, self._sorted())
        self.fields = {}
        self.currentsize = 0

    def _write_run(self, f: Any, items: Any) -> None:
        try:
            batch: list[Any] = []
            for item in items:
                batch.append(item)
                if len(batch) >= RUN_BATCH:
                    dump(batch, f, HIGHEST_PROTOCOL)
                    batch = []
            if batch:
                dump(batch, f, HIGHEST_PROTOCOL)
        finally:
            f.close()

    def _read_run(self, path: str) -> Iterator[tuple[str, bytes, list[Any]]]:
        f = self.tempstore.open_file(path).raw_file()
        try:
            while True:
                yield from load(f)
        except EOFError:
            return
        finally:
            f.close()
            self.tempstore.delete_file(path)

    def iter_terms(self) -> Iterator[tuple[str, bytes, list[Any]]]:
        """Every ``(field, term, flat postings)``, sorted by field and term, each term once."""
        if not self.runs:
            yield from self._sorted()
            return
        self.save()
        # The runs stay listed until the merge is through: cleanup() deletes what a failed merge
        # left (each run deletes its file when read to the end).
        last: tuple[str, bytes, list[Any]] | None = None
        # heapq.merge is stable: a term's lists come in run order, so in document order
        for item in heapq.merge(*map(self._read_run, self.runs), key=_field_and_term):
            if last is not None and item[0] == last[0] and item[1] == last[1]:
                last[2].extend(item[2])
                continue
            if last is not None:
                yield last
            last = item
        if last is not None:
            yield last
        self.runs = []

    def cleanup(self) -> None:
        for path in self.runs:
            with contextlib.suppress(OSError):
                self.tempstore.delete_file(path)
        self.runs = []
        self.fields = {}


_FREQUENCY = itemgetter(1)
_VALUE = itemgetter(3)


def _field_and_term(item: tuple[str, bytes, list[Any]]) -> tuple[str, bytes]:
    return item[0], item[1]


def write_postings(fieldwriter: Any, schema: Any, lengths: _CachedLengths | None,
                   terms: Iterator[tuple[str, bytes, list[Any]]]) -> None:
    """What whoosh's ``FieldWriter.add_postings`` writes for the same postings, a block at a time:
    each block's ids, weights, values and statistics are put in the postings writer as its
    ``add_posting`` would leave them (``W3PostingsWriter``), then the writer writes the block."""
    fw = fieldwriter
    lastname = None
    pw: Any = None
    limit = 0
    lens: list[int | None] | None = None
    for name, btext, flat in terms:
        if name != lastname:
            if lastname is not None:
                fw.finish_field()
            fw.start_field(name, schema[name])
            pw = fw._postwriter
            limit = pw._blocklimit
            lens = lengths.of(name) if lengths is not None else None
            lastname = name
        fw.start_term(btext)
        ids, weights, values = flat[0::3], flat[1::3], flat[2::3]
        n = len(ids)
        for a in range(0, n, limit):
            if n <= limit:
                bids, bweights, bvalues = ids, weights, values
            else:
                bids, bweights, bvalues = ids[a:a + limit], weights[a:a + limit], values[a:a + limit]
            pw._ids = array("I", bids)
            pw._weights = array("f", bweights)
            top = max(bweights)
            pw._maxweight = top if top > 0 else 0
            pw._values = list(filter(None, bvalues))
            if lens is not None:
                got = list(filter(None, map(lens.__getitem__, bids)))
                pw._minlength, pw._maxlength = (min(got), max(got)) if got else (None, 0)
            else:
                pw._minlength, pw._maxlength = None, 0
            if a + limit < n:
                pw._write_block()
        fw.finish_term()
    if lastname is not None:
        fw.finish_field()


class _CachedLengths:
    """Wraps a per-document reader: every document's length in a field, read once per field."""

    def __init__(self, pdr: Any, doccount: int) -> None:
        self._pdr = pdr
        self._doccount = doccount
        self._cache: dict[str, list[int | None]] = {}

    def _read(self, fieldname: str) -> list[int | None]:
        """``[pdr.doc_field_length(d, fieldname) for d in range(doccount)]``: from the length
        column's bytes in one read when it is whoosh's column of bytes (a document past its end
        has no length, as whoosh reads it), else a call a document."""
        n = self._doccount
        pdr = self._pdr
        raw = None
        with contextlib.suppress(AttributeError):  # AttributeError: not whoosh 3's per-document reader
            column = pdr._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
            if column is None:
                return [0] * n  # no column: doc_field_length's default
            raw = column_bytes(column)
        if raw is not None and len(raw) <= n:
            return [_LENGTH_OF_BYTE[b] for b in raw] + [None] * (n - len(raw))
        get = pdr.doc_field_length
        return [get(d, fieldname) for d in range(n)]

    def doc_field_length(self, docnum: int, fieldname: str) -> int | None:
        lengths = self._cache.get(fieldname)
        if lengths is None:
            lengths = self._cache[fieldname] = self._read(fieldname)
        return lengths[docnum]

    def of(self, fieldname: str) -> list[int | None] | None:
        """Every document's length in the field; None when none is above 0 (as for a field without
        lengths: then no block records one)."""
        if not self._doccount:
            return None
        self.doc_field_length(0, fieldname)  # fills the field's list
        lengths = self._cache[fieldname]
        return lengths if any(lengths) else None

    def close(self) -> None:
        self._pdr.close()


class StemmingChain:
    """whoosh's stock stemming chain (``RegexTokenizer | LowercaseFilter | [CharsetFilter] |
    StopFilter | StemFilter``, the body and subject analyzer) as one loop; ``ok`` is False for
    any other analyzer. :meth:`tokens` yields what the chain yields, without a Token object and
    five generator layers per word (the build indexes with it; snippets re-analyse with it)."""

    def __init__(self, ana: Any) -> None:
        self.ok = False
        if not isinstance(ana, CompositeAnalyzer):
            return
        items = list(ana.items)
        # Optionally a CharsetFilter (accent folding) after the lowercasing.
        self.charmap: Any = None
        if len(items) == 5 and type(items[2]) is CharsetFilter:
            self.charmap = items[2].charmap
            items = items[:2] + items[3:]
        kinds = [RegexTokenizer, LowercaseFilter, StopFilter, StemFilter]
        if len(items) != 4 or any(type(i) is not k for i, k in zip(items, kinds, strict=True)):
            return
        tok, _low, stop, stem = items
        pattern = tok.expression.pattern
        if tok.gaps or pattern != r"[\w\*]+(\.?[\w\*]+)*" or stem.lang or not stop.renumber:
            return
        # The same pattern without its capturing group, so findall returns whole matches.
        self.findall = re.compile(r"[\w\*]+(?:\.?[\w\*]+)*", tok.expression.flags).findall
        self.stops, self.min, self.max = stop.stops, stop.min, stop.max
        self.finditer = re.compile(r"[\w\*]+(?:\.?[\w\*]+)*", tok.expression.flags).finditer
        self.stemfn: Callable[[str], str] = stem.stemfn
        self.ignore = stem.ignore
        # shared by every chain of the same stemmer in the process: a search's highlighter makes a
        # chain per query, and would otherwise stem each page's words afresh
        self.cache: dict[str, str] = _STEMS.setdefault(self.stemfn, {})
        self.ok = True

    def tokens(self, text: str, start_char: int = 0, start_pos: int = 0) -> Iterator[tuple[int, str, str, int, int]]:
        """``(pos, stem, word, startchar, endchar)`` of each token the chain keeps, as its Tokens
        with ``positions=True, chars=True, keeporiginal=True, mode="index"`` give them (``word``:
        the original text, lowercased)."""
        stops, mn, mx, ignore, cache, charmap = self.stops, self.min, self.max, self.ignore, self.cache, self.charmap
        if len(cache) > STEM_CACHE_MAX:
            cache.clear()
        pos = None
        for i, m in enumerate(self.finditer(text)):
            low = m.group(0).lower()
            word = low.translate(charmap) if charmap is not None and not low.isascii() else low
            n = len(word)
            if n < mn or (mx is not None and n > mx) or word in stops:
                continue
            pos = start_pos + i if pos is None else pos + 1  # StopFilter(renumber=True)
            if word not in ignore:
                stemmed = cache.get(word)
                if stemmed is None:
                    stemmed = cache[word] = self.stemfn(word)
                word = stemmed
            yield pos, word, low, start_char + m.start(), start_char + m.end()


class _FastText(StemmingChain):
    """:class:`StemmingChain` + the Positions format: ``field.index(text)`` as one loop."""

    def __init__(self, field: Any) -> None:
        super().__init__(field.analyzer)
        if not isinstance(field.format, Positions):
            self.ok = False
            return
        self.encode = field.format.encode
        self.boost = field.format.field_boost
        #: weights are frequencies (a boost of 1) and values the compact encoding: see index()
        self.shared = type(field.format) is CompactPositions and self.boost == 1.0

    def index(self, text: str) -> list[tuple[bytes, int, float, bytes]]:
        """What ``field.index(text)`` yields, in the same order."""
        stops, mn, mx, ignore, cache, charmap = self.stops, self.min, self.max, self.ignore, self.cache, self.charmap
        if len(cache) > STEM_CACHE_MAX:
            cache.clear()
        poses: dict[str, list[int]] = {}
        #: every kept word in order (positions are consecutive: stop words leave no gap), for
        #: the word pairs of the same text (:class:`_FastPairs`)
        self.text, self.words = text, (words := [])
        self.start = 0  # the first kept word's position
        keep = words.append
        pos = None
        for i, word in enumerate(self.findall(text)):
            word = word.lower()
            if charmap is not None and not word.isascii():  # the map only changes non-ASCII letters
                word = word.translate(charmap)
            n = len(word)
            if n < mn or (mx is not None and n > mx) or word in stops:
                continue
            if pos is None:
                pos = self.start = i
            else:
                pos += 1  # StopFilter(renumber=True): stops leave no gap
            if word not in ignore:
                stemmed = cache.get(word)
                if stemmed is None:
                    stemmed = cache[word] = self.stemfn(word)
                word = stemmed
            keep(word)
            p = poses.get(word)
            if p is None:
                poses[word] = [pos]
            else:
                p.append(pos)
        encode, boost = self.encode, self.boost
        if not self.shared:
            return [(w.encode("utf-8"), len(p), len(p) * 1.0 * boost, encode(p)) for w, p in poses.items()]
        # the same values, with shared objects for the weight and a single position below 256
        out = []
        floats, one = _FLOATS, _ONE_BYTE
        for w, p in poses.items():
            n = len(p)
            if n == 1:
                first = p[0]
                out.append((w.encode("utf-8"), 1, 1.0, one[first] if first < 0x100 else encode(p)))
            else:
                out.append((w.encode("utf-8"), n, floats[n] if n < 0x100 else float(n), encode(p)))
        return out


class _FastPairs(StemmingChain):
    """:class:`StemmingChain` + ``engine.WordPairs`` + the ``CompactPositions`` format (or
    ``Existence``, in an index of schema layout 2): ``field.index(text)`` of a word-pairs field,
    from the words :class:`_FastText` has just found in the same text (the pairs field comes after
    its text field: ``body`` < ``body_pairs``), else from its own loop."""

    def __init__(self, field: Any) -> None:
        from .engine import WordPairs

        ana = field.analyzer
        self.ok = False
        kind = type(field.format)
        if type(ana) is not WordPairs or kind not in (formats.Existence, CompactPositions):
            return
        super().__init__(ana.base)
        self.positions = kind is CompactPositions
        self.encode = field.format.encode
        #: first word -> the words that follow it in a listed pair: a neighbour is two lookups,
        #: and only a listed pair is joined into a string
        nexts: dict[str, set[str]] = {}
        for pair in ana.pairs:
            first, _, second = pair.partition(" ")
            nexts.setdefault(first, set()).add(second)
        self.nexts = {first: frozenset(seconds) for first, seconds in nexts.items()}
        self.boost = field.format.field_boost

    def index(self, text: str, fast: list[_FastText]) -> list[tuple[bytes, int, float, bytes]]:
        """What ``field.index(text)`` yields, in another order (a posting pool sorts its terms)."""
        for f in fast:
            if f.text is text:
                words, start = f.words, f.start
                break
        else:
            tokens = [(pos, stem) for pos, stem, _word, _s, _e in self.tokens(text)]
            words, start = [stem for _pos, stem in tokens], tokens[0][0] if tokens else 0
        get, boost = self.nexts.get, self.boost
        if not self.positions:
            found = {f"{a} {b}" for a, b in pairwise(words) if b in get(a, ())}
            return [(pair.encode("utf-8"), 1, boost, b"") for pair in found]
        # the kept words' positions are consecutive from the first one's (stop words leave no gap)
        poses: dict[str, list[int]] = {}
        for k, (a, b) in enumerate(pairwise(words)):
            if b in get(a, ()):
                pair = f"{a} {b}"
                p = poses.get(pair)
                if p is None:
                    poses[pair] = [start + k]
                else:
                    p.append(start + k)
        encode = self.encode
        return [(w.encode("utf-8"), len(p), len(p) * boost, encode(p)) for w, p in poses.items()]


class WorkerWriter(SegmentWriter):
    """The writer a build worker uses; see the module docstring."""

    def __init__(self, ix: Any, limitmb: int = 128, **kwargs: Any) -> None:
        super().__init__(ix, limitmb=limitmb, **kwargs)
        self.pool = TermPool(self._tempstorage, limitmb)
        self._fast: dict[str, _FastText | None] = {}
        self._pairs: dict[str, _FastPairs] = {}
        for name, field in self.schema.items():
            if field.vector or field.separate_spelling():
                raise NotImplementedError(f"field {name!r}: vectors and spelling fields are not supported")
            fast = _FastText(field) if field.indexed else None
            self._fast[name] = fast if fast is not None and fast.ok else None
            pairs = _FastPairs(field) if field.indexed else None
            if pairs is not None and pairs.ok:
                self._pairs[name] = pairs
        self._texts = [f for f in self._fast.values() if f is not None]

    def add_atomic(self, fields: dict[str, Any]) -> None:
        """``add_document(**fields)``, all or nothing: on an exception the writer is unchanged."""
        schema = self.schema
        docnum = self.docnum
        posts: list[tuple[str, list[tuple[bytes, int, float, bytes | None]]]] = []
        size = 0
        perdoc: list[tuple[str, Any, Any, int, Any]] = []
        for name in sorted(n for n in fields if not n.startswith("_")):
            value = fields[name]
            if value is None:
                continue
            field = schema[name]  # KeyError: a field the schema does not have
            length = 0
            if field.indexed:
                fast = self._fast[name]
                if fast is not None and isinstance(value, str):
                    items = fast.index(value)
                elif name in self._pairs and isinstance(value, str):
                    items = self._pairs[name].index(value, self._texts)
                else:
                    items = list(field.index(value))
                if field.scorable:
                    length = sum(map(_FREQUENCY, items))
                posts.append((name, items))
                size += POSTING_BYTES * len(items) + sum(map(len, filter(None, map(_VALUE, items))))
            column = field.column_type
            colval = field.to_column_value(value) if column else None
            perdoc.append((name, field, value if field.stored else None, length, colval))
        # Nothing below fails for values that got through the loop above.
        pdw = self.perdocwriter
        pdw.start_doc(docnum)
        for name, field, stored, length, colval in perdoc:
            pdw.add_field(name, field, stored, length)
            if colval is not None:
                pdw.add_column_value(name, field.column_type, colval)
        pdw.finish_doc()
        self.pool.add_doc(docnum, posts, size)
        self._added = True
        self.docnum = docnum + 1

    def add_document(self, **fields: Any) -> None:
        """Refused: whoosh's ``add_document`` is not all or nothing, and the pool takes whole
        documents only (:meth:`add_atomic`)."""
        raise NotImplementedError("the worker writer adds documents with add_atomic()")

    def update_document(self, **fields: Any) -> None:
        """Refused, as :meth:`add_document`: a worker writes a new segment, it does not update."""
        raise NotImplementedError("the worker writer adds documents with add_atomic()")

    def _flush_segment(self) -> None:
        # SegmentWriter._flush_segment, with the lengths read from memory and the pool's terms
        # written a block at a time.
        self.perdocwriter.close()
        pdr = _CachedLengths(self.per_document_reader(), self.docnum) if self.codec.length_stats else None
        write_postings(self.fieldwriter, self.schema, pdr, self.pool.iter_terms())
        self.fieldwriter.close()
        if pdr is not None:
            pdr.close()
