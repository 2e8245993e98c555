"""The fast phrase matcher (``cablesearch/phrases.py``) and the field-length lists of the scorer
(``cablesearch/weighting.py``) give whoosh's own answers: the same documents with the same
scores, number for number, on a real build with two segments and deleted documents."""

from __future__ import annotations

import random

import numpy as np
import pytest
from whoosh import query as wq
from whoosh import scoring

from cablesearch import open_index, phrases
from cablesearch.engine import stored_fields
from cablesearch.facets import clear_cache
from cablesearch.weighting import WEIGHTING, field_lengths


def _leaves(ix):
    s = ix.searcher()
    return s, s.leaf_searchers()


def _scored(m):
    out = []
    while m.is_active():
        out.append((m.id(), m.score()))
        m.next()
    return out


def _phrases_from_text(ix, count: int) -> list[tuple[str, list[str], int]]:
    """Phrases a user could type, taken from the indexed text: runs of 2-4 words as they stand in
    the body and subject, and pairs a few words apart (with a slop that reaches them or not)."""
    rng = random.Random(7)
    schema = ix.searcher().schema
    found: list[tuple[str, list[str], int]] = []
    docs = list(ix.searcher().documents())
    for stored in rng.sample(docs, min(12, len(docs))):
        for field in ("body", "subject"):
            text = stored.get(field) or ""
            words = [t.text for t in schema[field].tokenize(text, mode="index")]
            if len(words) < 6:
                continue
            for _ in range(count):
                i = rng.randrange(len(words) - 5)
                n = rng.choice((2, 2, 3, 4))
                found.append((field, words[i:i + n], 1))
                gap = rng.randrange(2, 5)
                found.append((field, [words[i], words[i + gap]], rng.choice((1, gap - 1, gap, 10))))
    found += [("body", ["human", "right"], 1), ("body", ["right", "human"], 3), ("body", ["new", "new"], 2),
              ("body", ["moscow", "nosuchwordatall"], 1), ("per", ["john", "beyrl"], 1),
              ("org", ["foreign", "ministri"], 1), ("body", ["minist"], 1),
              ("body", ["right", "human"], 2**33)]  # a slop wider than a document's positions: documents stay apart
    return found


@pytest.mark.parametrize("which", ["updated", "legacy", "small_blocks"])
def test_the_phrase_matcher_finds_whooshs_documents_with_whooshs_scores(request, which):
    """``legacy``: positions in whoosh's own format (an index built before ``codec.py``);
    ``small_blocks``: each word's postings and positions read across many blocks."""
    clear_cache()
    with open_index(request.getfixturevalue(f"{which}_index_path")) as ix:
        s, leaves = _leaves(ix)
        assert len(leaves) >= 2 and any(leaf.reader().has_deletions() for leaf, _ in leaves)
        cases = _phrases_from_text(ix, 6)
        matched = 0
        for field, words, slop in cases:
            for boost in (1.0, 2.0):
                for leaf, _ in leaves:
                    for context in (None, s.context(weighting=WEIGHTING)):
                        theirs = _scored(wq.Phrase(field, words, slop=slop, boost=boost).matcher(leaf, context))
                        ours = _scored(phrases.Phrase(field, words, slop=slop, boost=boost).matcher(leaf, context))
                        assert ours == theirs, (field, words, slop, boost)
                        matched += bool(ours)
        assert matched > len(cases)  # most phrases match something: the comparison is not empty


@pytest.mark.parametrize("which", ["updated", "legacy"])
def test_deleted_documents_are_not_matched(request, which):
    with open_index(request.getfixturevalue(f"{which}_index_path")) as ix:
        _, leaves = _leaves(ix)
        for leaf, _ in leaves:
            reader = leaf.reader()
            ids = {d for d, _ in _scored(phrases.Phrase("body", ["human", "right"]).matcher(leaf))}
            assert not ids & set(reader.deleted_docs_set)
        assert ix.count('"human rights dialogue resumed"') == 2


def test_field_lengths_are_the_lengths_whoosh_scores_with(updated_index_path):
    clear_cache()
    with open_index(updated_index_path) as ix:
        _, leaves = _leaves(ix)
        for leaf, _ in leaves:
            reader = leaf.reader()
            for field in ("body", "subject", "org", "per", "loc", "tag", "class"):
                expected = [reader.doc_field_length(d, field, 1) for d in range(reader.doc_count_all())]
                assert field_lengths(reader, field) == expected, field


@pytest.mark.parametrize("query", [
    wq.Term("body", "moscow"), wq.Term("tag", "prel"), wq.Term("subject", "russia"), wq.Term("org", "fsb"),
    wq.Or([wq.Term("body", "iran"), wq.Term("subject", "iran", boost=2.0)]),
    wq.And([wq.Term("body", "minist"), wq.Term("body", "foreign")]),
])
def test_the_weighting_scores_as_whooshs_bm25f(updated_index_path, query):
    with open_index(updated_index_path) as ix:
        s, leaves = _leaves(ix)
        total = 0
        for leaf, _ in leaves:
            theirs = _scored(query.matcher(leaf, s.context(weighting=scoring.BM25F())))
            ours = _scored(query.matcher(leaf, s.context(weighting=WEIGHTING)))
            assert ours == theirs
            total += len(ours)
        assert total


def test_a_wide_slop_never_reaches_into_the_next_document():
    """Keys are ``document << 32 | position``: a position early in one document is more than 2**32
    after one late in the document before it, and a slop that wide must still not join them."""
    import numpy as np

    reached = np.array([(3 << 32) | 900], dtype=np.int64)
    later = np.array([(4 << 32) | 1, (4 << 32) | 2], dtype=np.int64)
    assert phrases._follow(reached, later, 2**40).tolist() == []
    assert phrases._follow(np.array([(4 << 32) | 1]), later, 2**40).tolist() == [(4 << 32) | 2]


def test_positions_of_every_typecode_decode_as_the_format_decodes_them():
    """Keys read from joined values hold each posting's positions as ``CompactPositions`` decodes
    them: one-byte, two-byte and four-byte deltas (a cable of more than 65,535 words), mixed in
    one list, a single position and a value at the very end of the bytes."""
    import numpy as np

    from cablesearch.bulk import Values
    from cablesearch.codec import CompactPositions

    fmt = CompactPositions()
    lists = [[3], [1, 2, 250], [300], [5, 70000], [255, 256, 65535, 65536, 1 << 31], [9, 10], [70000],
             [0x1234, 0x1235], [7]]
    encoded = [fmt.encode(p) for p in lists]
    assert {v[:1] for v in encoded} == {b"B", b"H", b"I"}
    sizes = np.array([len(v) for v in encoded], dtype=np.int64)
    values = Values(b"".join(encoded), np.cumsum(sizes) - sizes, sizes)
    docs = np.arange(len(lists), dtype=np.int64) * 5 + 2
    for chosen in (list(range(len(lists))), [1, 4, 8], [8], [0, 2, 3, 6, 7]):
        at = np.array(chosen, dtype=np.int64)
        keys = phrases._joined_keys(values, at, docs[at])
        expected = [(int(docs[i]) << 32) | p for i in chosen for p in fmt.decode_positions(encoded[i])]
        assert keys.tolist() == expected


def test_a_phrase_inflates_only_the_blocks_holding_its_candidates(small_blocks_index_path, monkeypatch):
    """A list's values (positions) are read block by block, when asked for: a phrase of a rare
    and a common word inflates the few blocks of the common word's list that hold the rare
    word's documents, and gives whoosh's answer."""
    from cablesearch import bulk

    clear_cache()
    read: list[int] = []
    real = bulk.Values._block

    def counted(self, j):
        read.append(j)
        return real(self, j)

    monkeypatch.setattr(bulk.Values, "_block", counted)
    with open_index(small_blocks_index_path) as ix:
        s = ix.searcher()
        leaf = max((leaf for leaf, _ in s.leaf_searchers()), key=lambda leaf: leaf.doc_count_all())
        reader = leaf.reader()
        field = reader.schema["body"]
        common = max(reader.lexicon("body"), key=lambda b: reader.doc_frequency("body", b))
        info = reader.term_info("body", common)
        ids, _, values = bulk.posting_values(reader, info, field.format)
        assert len(values.blocks) > 5 and not read  # blocks of 4 postings, none read yet
        some = np.array([1, len(ids) - 1])
        got = values.for_postings(some)
        assert sorted(set(read)) == [0, len(values.blocks) - 1]  # the first block and the last
        expected = [field.format.decode_positions(v) for v in _whooshs_values(leaf, "body", common)]
        for i in some.tolist():
            raw = bytes(got.data[got.starts[i]:got.starts[i] + got.sizes[i]])
            assert field.format.decode_positions(raw) == expected[i]
        read.clear()
        # a word of few cables near the common word in the last one: their phrase reads a few blocks
        tokens = [t.text for t in field.tokenize(stored_fields(reader, int(ids[-1]))["body"], mode="index")]
        at = tokens.index(common.decode())
        rare = min(tokens[at + 1:at + 20], key=lambda w: reader.doc_frequency("body", w))
        words = [common.decode(), rare]
        found = 0
        for phrase in (words, words[::-1]):
            theirs = _scored(wq.Phrase("body", phrase, slop=30).matcher(leaf))
            ours = _scored(phrases.Phrase("body", phrase, slop=30).matcher(leaf))
            assert ours == theirs
            found += len(ours)
        assert found
        assert 0 < len(set(read)) < len(values.blocks) / 2


def _whooshs_values(leaf, fieldname, btext):
    """Every value of the term's postings as whoosh's matcher reads them, deleted documents too."""
    reader = leaf.reader()
    m = reader._terms.matcher(fieldname, btext, reader.schema[fieldname].format)
    out = []
    while m.is_active():
        out.append(m.value())
        m.next()
    return out
