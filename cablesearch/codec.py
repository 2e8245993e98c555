"""A smaller posting-list layout for whoosh: the same postings, in machine arrays instead of pickles.

whoosh 3's codec writes each block of up to 128 postings as the pickle of three tuples: document
ids (small ints), weights (each a pickled double) and values. A body word's value is its positions,
itself a pickled list (``formats.Positions.encode``), and protocol 2 pickles each such bytes value
as a call of ``codecs.encode`` on a latin-1 string. At 20,000 cables the body's postings took
196 MB, more than the text of the cables (182 MB); the posting file was two thirds of the index.

Two changes, through whoosh's own extension points (a ``Codec`` and a ``Format``, each recorded in
the index's table of contents, so every index keeps being read by the classes that wrote it):

- :class:`CompactCodec` writes a block's ids (deltas), weights and values as packed arrays:
  ``tobytes`` of an ``array`` whose item size fits the largest number; a frequency a byte. Only
  a body word's positions, after its ids and weights, are compressed (zlib), so that ranking,
  which reads ids and weights only, inflates nothing (``pack_block``). Reading a block is
  ``array(typecode, bytes)``: no unpickling. The block's header (count, last id, maximum weight,
  compression, length bytes) is whoosh's, so whoosh's block skipping is unchanged. Blocks of
  earlier versions (compressed whole, a float32 a weight) read as before.
- :class:`CompactPositions` encodes a posting's positions as one typecode byte and the packed
  array of their deltas, instead of a count and a pickled list.

Together they cut the body's postings at 20,000 cables to a third (a quarter of its words
re-encoded: 48.6 -> 15.7 MB), and the index from 2.64x to 1.59x the corpus
(``bench/RESULTS.md``). ``tests/test_codec.py`` checks that an index written with them answers
every query with the same documents, scores and positions as one written with whoosh's own.

The arrays are in the writing machine's byte order (``array.tobytes``): an index is read by
machines of the same byte order, which all common ones (x86, ARM) share.
"""

from __future__ import annotations

import zlib
from array import array
from itertools import accumulate, pairwise
from pickle import dumps, loads
from typing import Any

from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3Codec, W3LeafMatcher, W3PostingsWriter
from whoosh.formats import Positions
from whoosh.matching import ListMatcher
from whoosh.system import emptybytes
from whoosh.util.numeric import length_to_byte

# A block's data: four ASCII bytes, then its parts in this order.
#   [0] the ids' typecode (B, H or I): ids are deltas from the previous id (the first from 0)
#   [1] weights: N (all 1.0), O (one float32 for all), U (a byte each: whole numbers below 256,
#       a word's frequency), F (a float32 each)
#   [2] values: N (none), X (fixed size, joined), V (variable: lengths, then the values joined),
#       Z (as V, but the lengths and values are one zlib stream: the ids and weights before it
#       are read without inflating anything), P (a pickled tuple: whoosh keeps no empty value,
#       so a block may have fewer values than ids)
#   [3] the lengths' typecode (B, H or I) for V and Z, else "-"
# A block's header says whether its data as a whole is compressed: new blocks never are (a
# block of positions is Z); blocks of earlier versions may be (then with F weights, V values).
_KIND_NONE, _KIND_ONE, _KIND_BYTES = ord("N"), ord("O"), ord("U")  # else F
_FIXED, _VARIABLE, _ZIPPED, _PICKLED = ord("X"), ord("V"), ord("Z"), ord("P")
_ITEMSIZE = {ord(t): array(t).itemsize for t in "BHI"}
#: The value of a single position below 256.
_ONE_BYTE = [b"B" + bytes((p,)) for p in range(0x100)]
#: Postings a block of a new index holds (whoosh's default: 128). A search reads a term's blocks
#: one Python step each (a header to unpickle, a zlib stream to start): at 250,000 cables a common
#: word has hundreds of blocks in a segment at 128. Readers take blocks of any size, so older indexes read as
#: before. ``bench/RESULTS.md``, session 7, has the before/after.
BLOCK_POSTINGS = 1024


def typecode(numbers: Any) -> str:
    """The smallest unsigned array typecode that holds every number in ``numbers`` (B for none)."""
    top = max(numbers, default=0)
    return "B" if top < 0x100 else "H" if top < 0x10000 else "I"


def pack_block(ids: Any, weights: Any, values: list[bytes] | None, fixedsize: int | None,
               compression: int = 0) -> bytes:
    """The data of one block: ``ids`` ascending, ``weights`` floats, ``values`` the encoded values
    (None when the format keeps none). With ``compression`` (a zlib level), variable-size values
    (a body word's positions) are compressed, after the ids and weights, when that makes them
    shorter (Z); else they are kept as they are (V)."""
    n = len(ids)
    if n == 1:
        deltas: Any = ids
        idcode = "B" if ids[0] < 0x100 else "H" if ids[0] < 0x10000 else "I"
    else:
        deltas = [b - a for a, b in zip([0, *ids], ids, strict=False)]
        idcode = typecode(deltas)
    parts = [b"", array(idcode, deltas).tobytes()]
    w0 = weights[0]
    if w0 == 1.0 and weights.count(1.0) == n:
        wkind = "N"
    elif weights.count(w0) == n:
        wkind = "O"
        parts.append(array("f", [w0]).tobytes())
    elif _whole_bytes(weights):
        wkind = "U"
        parts.append(bytes(map(int, weights)))
    else:
        wkind = "F"
        parts.append(array("f", weights).tobytes())
    lencode = "-"
    if fixedsize == 0 or (values is None and fixedsize is None):
        vkind = "N"
    elif fixedsize is not None and fixedsize > 0:
        vkind = "X"
        parts.append(emptybytes.join(values or ()))
    elif len(values or ()) != n:
        vkind = "P"
        parts.append(dumps(tuple(values or ()), 2))
    else:
        vkind = "V"
        lengths = [len(v) for v in values]
        lencode = typecode(lengths)
        tail = array(lencode, lengths).tobytes() + emptybytes.join(values)
        if compression:
            packed = zlib.compress(tail, compression)
            if len(packed) < len(tail):
                vkind, tail = "Z", packed
        parts.append(tail)
    parts[0] = (idcode + wkind + vkind + lencode).encode("ascii")
    return emptybytes.join(parts)


def _whole_bytes(weights: Any) -> bool:
    """Is every weight a whole number from 0 to 255 (so a byte holds it exactly)?"""
    return min(weights) >= 0 and max(weights) < 0x100 and all(float(w).is_integer() for w in weights)


def unpack_block(data: bytes, count: int, values: bool = True) -> tuple[array, Any, Any]:
    """``(id deltas, weights, values)`` of a block of ``count`` postings, in the forms whoosh's
    ``W3LeafMatcher`` keeps them before de-minifying: weights None (all 1.0), one float, or an
    array of floats; values a tuple of bytes (variable size), the joined bytes (fixed size) or
    None. Without ``values``, values are not read (None). ``data`` as the block holds it, once
    inflated when its header says it is compressed as a whole (blocks of earlier versions)."""
    idcode, wkind, vkind, lencode = data[0], data[1], data[2], data[3]
    pos = 4
    end = pos + count * _ITEMSIZE[idcode]
    deltas = array(chr(idcode), data[pos:end])
    pos = end
    weights: Any
    if wkind == _KIND_NONE:
        weights = None
    elif wkind == _KIND_ONE:
        weights = array("f", data[pos:pos + 4])[0]
        pos += 4
    elif wkind == _KIND_BYTES:
        weights = array("f", array("B", data[pos:pos + count]))
        pos += count
    else:
        end = pos + 4 * count
        weights = array("f", data[pos:end])
        pos = end
    vals: Any = None
    if not values:
        pass
    elif vkind == _FIXED:
        vals = data[pos:]
    elif vkind == _PICKLED:
        vals = loads(data[pos:])
    elif vkind == _VARIABLE or vkind == _ZIPPED:
        tail = zlib.decompress(data[pos:]) if vkind == _ZIPPED else data
        pos = 0 if vkind == _ZIPPED else pos
        end = pos + count * _ITEMSIZE[lencode]
        lengths = array(chr(lencode), tail[pos:end])
        offsets = list(accumulate(lengths, initial=end))
        vals = tuple(tail[a:b] for a, b in pairwise(offsets))
    return deltas, weights, vals


class CompactPostingsWriter(W3PostingsWriter):
    """``W3PostingsWriter`` writing each block's data as :func:`pack_block` lays it out."""

    def add_posting(self, id_: Any, weight: float, vbytes: bytes, length: int | None = None) -> None:
        """whoosh's ``add_posting`` without its four type assertions a posting (2% of a build)."""
        if self._byteids:
            super().add_posting(id_, weight, vbytes, length)
            return
        if len(self._ids) >= self._blocklimit:
            self._write_block()
        self._ids.append(id_)
        self._weights.append(weight)
        if weight > self._maxweight:
            self._maxweight = weight
        if vbytes:
            self._values.append(vbytes)
        if length:
            if self._minlength is None or length < self._minlength:
                self._minlength = length
            if length > self._maxlength:
                self._maxlength = length

    def _write_block(self, last: bool = False) -> None:
        if self._byteids:  # term vectors: whoosh's own layout (read by whoosh's own matcher)
            super()._write_block(last)
            return
        if not self._blockcount:
            self._postfile.write(WHOOSH3_HEADER_MAGIC)
        self._terminfo.add_block(self)
        # Only the values of variable size (a body word's positions) are compressed, and only
        # they: a search reads a block's ids and weights as they are, without starting zlib
        # (pack_block). A keyword's block (ids, and a frequency or nothing a posting) is not
        # compressed at all: keywords are a few MB of the index.
        databytes = pack_block(self._ids, self._weights, self._values, self._format.fixed_value_size(),
                               self._compression)
        ids = self._ids
        infobytes = dumps((len(ids), ids[-1], self._maxweight, 0, length_to_byte(self._minlength),
                           length_to_byte(self._maxlength)), 2)
        blocklength = len(infobytes) + len(databytes)
        self._postfile.write_int(-blocklength if last else blocklength)
        self._postfile.write(infobytes)
        self._postfile.write(databytes)
        self._blockcount += 1
        self._new_block()


class CompactLeafMatcher(W3LeafMatcher):
    """``W3LeafMatcher`` reading blocks written by :class:`CompactPostingsWriter`."""

    def _read_data(self) -> None:
        b = self._postfile.get(self._dataoffset, self._nextoffset - self._dataoffset)
        if self._compression:
            b = zlib.decompress(b)
        self._data = unpack_block(b, self._blocklength)


class CompactCodec(W3Codec):
    """whoosh 3's codec with :class:`CompactPostingsWriter`'s blocks (term vectors unchanged)."""

    def postings_writer(self, dbfile: Any, byteids: bool = False) -> W3PostingsWriter:
        return CompactPostingsWriter(dbfile, blocklimit=self._blocklimit, byteids=byteids,
                                     compression=self._compression, inlinelimit=self._inlinelimit)

    def postings_reader(self, dbfile: Any, terminfo: Any, format_: Any, term: Any = None, scorer: Any = None) -> Any:
        if terminfo.is_inlined():
            ids, weights, values = terminfo.inlined_postings()
            return ListMatcher(ids, weights, values, format_, scorer=scorer, term=term, terminfo=terminfo)
        offset, length = terminfo.extent()
        return CompactLeafMatcher(dbfile, offset, length, format_, term=term, scorer=scorer)


class CompactPositions(Positions):
    """whoosh's ``Positions`` format, each value the packed array of the position deltas after
    one byte naming its typecode (``B``, ``H`` or ``I``), instead of a count and a pickle."""

    def encode(self, poslist: list[int]) -> bytes:
        if len(poslist) == 1:  # most postings: a word once in a cable
            p = poslist[0]
            return _ONE_BYTE[p] if p < 0x100 else b"H" + array("H", poslist).tobytes() if p < 0x10000 else \
                b"I" + array("I", poslist).tobytes()
        deltas = [b - a for a, b in zip([0, *poslist], poslist, strict=False)]
        top = max(deltas)
        if top < 0x100:
            return b"B" + bytes(deltas)
        code = "H" if top < 0x10000 else "I"
        return code.encode("ascii") + array(code, deltas).tobytes()

    def decode_positions(self, valuestring: bytes) -> list[int]:
        return list(accumulate(array(chr(valuestring[0]), valuestring[1:])))

    def decode_frequency(self, valuestring: bytes) -> int:
        return (len(valuestring) - 1) // _ITEMSIZE[valuestring[0]]


def new_codec() -> CompactCodec:
    """The codec every writer of a cablesearch index uses."""
    return CompactCodec(blocklimit=BLOCK_POSTINGS)


__all__ = ["BLOCK_POSTINGS", "CompactCodec", "CompactLeafMatcher", "CompactPositions", "new_codec", "pack_block",
           "unpack_block"]
