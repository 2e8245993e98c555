"""The compact posting layout (``cablesearch/codec.py``): blocks and positions read back as they
were written, an index written with it answers as one written in whoosh's own layout (the same
cables, scores, snippets and positions) in less space, and an index built in whoosh's layout by
an earlier version keeps working, updates included."""

from __future__ import annotations

import io
from array import array
from pathlib import Path

import numpy as np
import pytest
from conftest import whoosh_layout_build
from test_bulk import QUERIES, _bench_queries
from whoosh.codec.whoosh3 import W3Codec, W3TermInfo
from whoosh.filedb.compound import CompoundStorage
from whoosh.filedb.structfile import BufferFile, StructFile
from whoosh.formats import Frequency, Positions
from whoosh.system import pack_uint

from cablesearch import open_index
from cablesearch.codec import (
    CompactCodec,
    CompactLeafMatcher,
    CompactPositions,
    CompactPostingsWriter,
    pack_block,
    unpack_block,
)
from cablesearch.engine import whoosh_storage

BLOCKS = [
    # ids, weights, values, the format's fixed value size
    ([0], [1.0], [b"B\x00"], None),
    ([3, 255, 256, 70_000], [1.0, 2.0, 2.0, 0.5], [b"x", b"", b"yz", b"\x00" * 300], None),
    ([5, 6, 7], [1.5, 1.5, 1.5], [], 0),
    ([1, 2**31 + 5], [3.0, 1.0], [b"abcd", b"efgh"], 4),
    ([9, 10, 11], [1.0, 1.0, 1.0], [b"only one"], None),  # whoosh keeps no empty value
    (list(range(0, 128 * 600, 600)), [float(i % 7 + 1) for i in range(128)],
     [bytes([i]) * (i % 5 + 1) for i in range(128)], None),
    ([4, 8, 15, 16, 23, 42], [1.0, 255.0, 0.0, 3.0, 3.0, 1.0], [b"B\x01"] * 6, None),  # a byte a weight
    ([4, 8], [1.0, 256.0], [b"B\x01", b"B\x02"], None),  # a weight over 255: a float32 each
    ([4, 8], [2.0, 2.5], [b"B\x01", b"B\x02"], None),  # not a whole number: a float32 each
    (list(range(1024)), [float(i % 4) for i in range(1024)], [b"B" + bytes([i % 50]) for i in range(1024)], None),
]


@pytest.mark.parametrize("compression", [0, 3])
@pytest.mark.parametrize(("ids", "weights", "values", "fixedsize"), BLOCKS)
def test_a_block_reads_back_as_written(ids, weights, values, fixedsize, compression):
    data = pack_block(ids, array("f", weights), values, fixedsize, compression)
    # The kinds: weights a byte each exactly when each is a whole number below 256 (and they
    # differ); positions compressed only when asked for and zlib makes them shorter.
    kinds = data[:4].decode("ascii")
    whole = all(w == int(w) and 0 <= w < 256 for w in weights) and len(set(weights)) > 1
    assert (kinds[1] == "U") == whole
    assert kinds[2] in ("Z", "V") if len(values) == len(ids) and fixedsize is None else kinds[2] in "NXP"
    if kinds[2] == "Z":
        assert compression and len(data) < len(pack_block(ids, array("f", weights), values, fixedsize))
    deltas, ws, vs = unpack_block(data, len(ids))
    got_ids = list(deltas)
    for i in range(1, len(got_ids)):
        got_ids[i] += got_ids[i - 1]
    assert got_ids == ids
    if all(w == 1.0 for w in weights):
        assert ws is None
    elif len(set(weights)) == 1:
        assert ws == weights[0]
    else:
        assert list(ws) == weights
    if fixedsize == 0:
        assert vs is None
    elif fixedsize:
        assert vs == b"".join(values)
    else:
        assert list(vs) == values
    assert unpack_block(data, len(ids), values=False)[2] is None


@pytest.mark.parametrize("positions", [[0], [255], [256], [70_000], [0, 1, 2], [3, 259],
                                       [5, 300, 301, 70_000, 70_001, 2**31], list(range(0, 9000, 3))])
def test_positions_read_back_as_written(positions):
    fmt = CompactPositions(field_boost=2.0)
    value = fmt.encode(positions)
    assert fmt.decode_positions(value) == positions
    assert fmt.decode_frequency(value) == len(positions)
    assert fmt.decode_weight(value) == 2.0 * len(positions)
    # as small as the largest gap allows: one byte a position when every gap is under 256
    widest = max(b - a for a, b in zip([0, *positions], positions, strict=False))
    assert len(value) == 1 + len(positions) * (1 if widest < 256 else 2 if widest < 65536 else 4)


@pytest.fixture(scope="module")
def whoosh_layout_index(tmp_path_factory, fixture_cables) -> Path:
    """The fixture cables built in whoosh's own posting layout, as ``fixture_index_path`` is built."""
    root = tmp_path_factory.mktemp("whoosh-layout") / "index"
    whoosh_layout_build([str(fixture_cables)], root, jobs=1)
    return root


def _toc(root: Path):
    from cablesearch.engine import open_whoosh

    gen = sorted(p for p in root.iterdir() if p.name.startswith("gen-"))[-1]
    ix = open_whoosh(gen)
    return gen, ix.schema, ix._segments()


def _postings_bytes(root: Path) -> int:
    gen, _, segments = _toc(root)
    total = 0
    for seg in segments:
        name = f"{seg.make_filename('.seg')}"
        compound = CompoundStorage(whoosh_storage(gen).open_file(name))
        total += sum(compound.file_length(n) for n in compound.list() if n.endswith(".pst"))
    return total


def test_new_indexes_are_written_in_the_compact_layout(fixture_index_path, whoosh_layout_index):
    _, schema, segments = _toc(fixture_index_path)
    assert all(type(seg.codec()) is CompactCodec for seg in segments)
    assert type(schema["body"].format) is CompactPositions and type(schema["org"].format) is CompactPositions
    _, old_schema, old_segments = _toc(whoosh_layout_index)
    assert all(type(seg.codec()) is W3Codec for seg in old_segments)
    assert type(old_schema["body"].format) is Positions
    # the postings take well under half the space
    assert _postings_bytes(fixture_index_path) < 0.5 * _postings_bytes(whoosh_layout_index)


def _answers(root: Path, queries: list[str]) -> list[object]:
    out = []
    with open_index(root) as ix:
        for text in queries:
            try:
                res = ix.search(text, limit=20, snippets=2)
            except Exception as e:  # the same error either way: the same answer
                out.append(type(e).__name__)
                continue
            out.append((res.total, [(h.ref, h.score, [s.text for s in h.snippets]) for h in res.hits]))
    return out


def test_the_compact_layout_answers_as_whooshs_own(fixture_index_path, whoosh_layout_index):
    queries = [*QUERIES, *_bench_queries()]
    ours, theirs = _answers(fixture_index_path, queries), _answers(whoosh_layout_index, queries)
    assert ours == theirs
    assert sum(1 for a in ours if isinstance(a, tuple) and a[0]) > 200  # most queries find cables


def test_every_posting_and_position_is_whooshs(fixture_index_path, whoosh_layout_index):
    """Term by term, document by document: the same weights and positions."""
    def postings(root: Path) -> dict[tuple[str, bytes], list[tuple[str, float, object]]]:
        out = {}
        with open_index(root) as ix:
            reader = ix.searcher().reader()
            refs = {d: f["ref"] for d, f in reader.iter_docs()}
            for field in ("body", "subject", "org", "per", "tag", "class", "date"):
                fmt = reader.schema[field].format
                positions = fmt.supports("positions")
                for term in reader.lexicon(field):
                    m = reader.postings(field, term)
                    got = []
                    while m.is_active():
                        got.append((refs[m.id()], m.weight(), m.value_as("positions") if positions else None))
                        m.next()
                    out[field, term] = sorted(got)
        return out

    ours, theirs = postings(fixture_index_path), postings(whoosh_layout_index)
    assert ours.keys() == theirs.keys() and len(ours) > 5_000
    assert ours == theirs


def test_an_index_in_whooshs_layout_is_updated_in_it(legacy_index_path, updated_index_path):
    """An index an earlier version built keeps its position format through an update (its new
    segment has compact blocks of whoosh's position values) and answers as a new index does."""
    _, schema, segments = _toc(legacy_index_path)
    assert type(schema["body"].format) is Positions
    assert {type(seg.codec()) for seg in segments} == {W3Codec, CompactCodec}
    with open_index(legacy_index_path) as ix:
        assert ix.count('"human rights dialogue resumed"') == 2
    queries = [*QUERIES, '"human rights dialogue resumed"', "dialogue resumed"]
    assert _answers(legacy_index_path, queries) == _answers(updated_index_path, queries)


def test_a_block_that_zlib_would_make_longer_is_stored_as_it_is():
    buf = io.BytesIO()
    writer = CompactPostingsWriter(StructFile(buf), blocklimit=128, compression=3)
    writer.start_postings(Frequency(), W3TermInfo())
    writer.add_posting(7, 1.0, pack_uint(1), 10)
    writer.add_posting(9, 2.0, pack_uint(2), 12)
    info = writer.finish_postings()
    m = CompactLeafMatcher(BufferFile(memoryview(buf.getvalue())), info._offset, info._length, Frequency())
    assert m._compression == 0
    got = []
    while m.is_active():
        got.append((m.id(), m.weight(), m.value_as("frequency")))
        m.next()
    assert got == [(7, 1.0, 1), (9, 2.0, 2)]


@pytest.mark.parametrize("which", ["updated", "legacy"])
def test_segments_merged_by_whoosh_answer_as_before(request, which, tmp_path):
    """whoosh's own merge (as an update's merge of small segments) reads the blocks through the
    codec's matcher and writes them again: one segment, the same cables found."""
    import shutil

    from cablesearch.codec import new_codec
    from cablesearch.engine import open_whoosh

    root = tmp_path / "index"
    shutil.copytree(request.getfixturevalue(f"{which}_index_path"), root, symlinks=True)
    queries = [*QUERIES, '"human rights dialogue resumed"']

    def matches() -> list[object]:  # the cables each query finds (scores change: deleted cables go)
        with open_index(root) as ix:  # and every cable's text (the merge copies the body's column)
            return [sorted(h.ref for h in ix.iter_search(q)) for q in queries] + [
                [(ref, ix.get(ref).body) for ref in ix.refs()]]

    before = matches()
    assert sum(map(bool, before)) > 20 and all(body for _, body in before[-1])
    gen, _, segments = _toc(root)
    assert len(segments) >= 2
    ix = open_whoosh(gen)
    ix.writer(codec=new_codec()).commit(optimize=True)
    _, _, merged = _toc(root)
    assert len(merged) == 1 and type(merged[0].codec()) is CompactCodec
    assert matches() == before


def test_new_blocks_hold_up_to_block_postings_and_read_back_whole():
    """A new index's blocks are ``BLOCK_POSTINGS`` long (fewer blocks for a search to step
    through); whoosh's walk and the bulk reader both read every posting back."""
    from cablesearch.bulk import _compact_arrays
    from cablesearch.codec import BLOCK_POSTINGS, new_codec

    n = 2 * BLOCK_POSTINGS + 452
    postings = [(3 * i + 1, float(i % 3 + 1), CompactPositions().encode([i % 50, 60 + i % 7])) for i in range(n)]
    buf = io.BytesIO()
    writer = new_codec().postings_writer(StructFile(buf))
    writer.start_postings(CompactPositions(), W3TermInfo())
    for docnum, weight, value in postings:
        writer.add_posting(docnum, weight, value, 20)
    info = writer.finish_postings()

    def matcher() -> CompactLeafMatcher:
        data = BufferFile(memoryview(buf.getvalue()))
        return CompactLeafMatcher(data, info._offset, info._length, CompactPositions())

    m = matcher()
    sizes, got = [], []
    while m.is_active():
        if not got or m._i == 0:
            sizes.append(m._blocklength)
        got.append((m.id(), m.weight(), m.value()))
        m.next()
    assert BLOCK_POSTINGS > 128 and sizes == [BLOCK_POSTINGS, BLOCK_POSTINGS, 452]
    assert got == postings
    ids, weights, values = _compact_arrays(matcher(), values=True)
    assert ids.tolist() == [p[0] for p in postings] and weights.tolist() == [p[1] for p in postings]
    values = values.for_postings(np.arange(len(ids)))  # every block's values, read when asked for
    assert [values.data[a:a + s] for a, s in zip(values.starts, values.sizes, strict=True)] == [p[2] for p in postings]


@pytest.mark.parametrize("keyword_format", ["existence", "frequency"])
def test_keyword_blocks_are_stored_without_zlib_and_others_compress_their_positions_only(keyword_format):
    """A keyword's block (no values, or a frequency a posting) is stored without zlib; a block
    with positions compresses them, after its ids and weights, which are read without starting
    zlib. Both read back whole."""
    from whoosh.formats import Existence

    from cablesearch.bulk import _compact_arrays

    def written(fmt: object, value: bytes) -> tuple[CompactLeafMatcher, list[int]]:
        buf = io.BytesIO()
        writer = CompactPostingsWriter(StructFile(buf), blocklimit=1024, compression=3)
        writer.start_postings(fmt, W3TermInfo())
        ids = list(range(0, 6000, 2))
        for docnum in ids:
            writer.add_posting(docnum, 1.0, value, 10)
        info = writer.finish_postings()
        return CompactLeafMatcher(BufferFile(memoryview(buf.getvalue())), info._offset, info._length, fmt), ids

    if keyword_format == "existence":
        keyword, ids = written(Existence(), b"")
    else:
        keyword, ids = written(Frequency(), pack_uint(1))
    assert keyword._compression == 0 and keyword._blocklength == 1024
    assert _compact_arrays(keyword)[0].tolist() == ids
    got = []
    while keyword.is_active():
        got.append(keyword.id())
        keyword.next()
    assert got == ids
    positions, ids = written(CompactPositions(), CompactPositions().encode([3, 9]))
    assert positions._compression == 0  # not the block as a whole
    positions._read_data()
    data = positions._postfile.get(positions._dataoffset, positions._nextoffset - positions._dataoffset)
    assert data[:3] == b"BNZ"  # ids a byte each, every weight 1.0, the positions zipped
    assert _compact_arrays(positions)[0].tolist() == ids
    got_ids, _, values = _compact_arrays(positions, values=True)
    values = values.for_postings(np.arange(len(got_ids)))
    assert got_ids.tolist() == ids and values.data == CompactPositions().encode([3, 9]) * len(ids)
