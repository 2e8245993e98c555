"""index.prefix_terms reads a segment's term table in chunks: it must give what whoosh's own
``iter_prefix`` gives, term for term and info for info, wherever the chunks happen to end."""

from __future__ import annotations

import itertools

import pytest

from cablesearch import index as cindex
from cablesearch.engine import open_whoosh
from cablesearch.indexdir import live_generation


def _expected(leaf, fieldname, prefix, limit):
    return [(t, i.doc_frequency(), i.weight(), i.max_weight())
            for t, i in itertools.islice(leaf.iter_prefix(fieldname, prefix), limit)]


def _got(leaf, fieldname, prefix, limit):
    return [(t, i.doc_frequency(), i.weight(), i.max_weight())
            for t, i in cindex.prefix_terms(leaf, fieldname, prefix, limit)]


CASES = [("org", b"", 100_000), ("org", b"f", 20), ("org", b"n", 3), ("org", b"zzzz", 5), ("org", b"", 1),
         ("tag", b"p", 50), ("per", b"a", 1000), ("body", b"the", 40), ("body", b"", 300), ("ref", b"", 10),
         ("body", b"\xff", 10), ("nosuchfield", b"a", 10), ("org", b"f", 0)]


@pytest.mark.parametrize("chunk", [16, 97, cindex.TERMS_CHUNK])
def test_prefix_terms_is_whooshs_walk(fixture_index_path, monkeypatch, chunk):
    monkeypatch.setattr(cindex, "TERMS_CHUNK", chunk)  # a chunk smaller than a term: it is read whole
    ix = open_whoosh(live_generation(fixture_index_path))
    with ix.reader() as reader:
        leaves = [leaf for leaf, _ in reader.leaf_readers()]
        assert any(type(leaf._terms).__module__ == "whoosh.codec.whoosh3" for leaf in leaves)
        seen = 0
        for leaf in leaves:
            for fieldname, prefix, limit in CASES:
                expected = _expected(leaf, fieldname, prefix, limit) if fieldname in leaf.schema else []
                assert _got(leaf, fieldname, prefix, limit) == expected, (fieldname, prefix, limit)
                seen += len(expected)
        assert seen > 500


def test_an_in_memory_index_reads_the_same(fixture_index_path):
    from whoosh.filedb.filestore import RamStorage

    src = open_whoosh(live_generation(fixture_index_path))
    ram = RamStorage().create_index(src.schema)
    with src.searcher() as s, ram.writer() as w:
        for d in range(5):
            w.add_document(**{k: v for k, v in s.stored_fields(d).items() if k in ("ref", "subject")})
    with ram.reader() as reader:
        for leaf, _ in reader.leaf_readers():
            assert _got(leaf, "ref", b"", 100) == _expected(leaf, "ref", b"", 100) != []


def test_a_reader_without_whoosh_3s_term_table_is_walked_by_whoosh():
    class Leaf:  # no _terms
        def iter_prefix(self, fieldname, prefix):
            return iter([(prefix + b"a", 1), (prefix + b"b", 2), (prefix + b"c", 3)])

    assert cindex.prefix_terms(Leaf(), "org", b"x", 2) == [(b"xa", 1), (b"xb", 2)]
