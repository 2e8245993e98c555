"""A prefix, wildcard or fuzzy word is expanded once, when the query is compiled against the
index, and remembers which of its terms each segment holds: a search then looks up none of
them again (most of a pattern's terms are absent from most segments), and finds what looking
each one up finds."""

from __future__ import annotations

import pytest

from cablesearch import open_index
from cablesearch.query.compile import _Expanded, _segment_id
from cablesearch.search import prepare_query
from cablesearch.weighting import WEIGHTING

PATTERNS = ["gov*", "*stan", "moscw~1", "te?t", "org:min*", "resum* dialog*", "entity:russ*", "loc:*a"]


def _expanded(q):
    return [leaf for leaf in (q.leaves() if not q.is_leaf() else [q]) if isinstance(leaf, _Expanded)]


def _walk(m):
    out = {}
    while m.is_active():
        out[m.id()] = m.score()
        m.next()
    return out


@pytest.mark.parametrize("which", ["updated", "legacy"])
def test_each_segments_terms_are_those_it_holds(request, which):
    with open_index(request.getfixturevalue(f"{which}_index_path")) as ix:
        s = ix.searcher()
        leaves = s.leaf_searchers()
        assert len(leaves) >= 2
        checked = 0
        for text in PATTERNS:
            q, _, _ = prepare_query(text, s.schema, s.reader())
            for node in _expanded(q):
                assert node.per_segment is not None and len(node.per_segment) == len(leaves), text
                for leaf, _ in leaves:
                    reader = leaf.reader()
                    held = tuple(t for t in node.terms if (node.field(), t) in reader)
                    assert node.per_segment[_segment_id(reader)] == held, text
                    checked += len(held)
        assert checked > 50


def test_a_query_compiled_against_another_index_looks_its_terms_up(updated_index_path, fixture_index_path):
    """The segments it lists are not this index's: each term is looked up, as before."""
    with open_index(fixture_index_path) as other, open_index(updated_index_path) as ix:
        s = ix.searcher()
        context = s.context(weighting=WEIGHTING)
        for text in ["gov*", "moscw~1", "org:min*"]:
            theirs, _, _ = prepare_query(text, other.searcher().schema, other.searcher().reader())
            ours, _, _ = prepare_query(text, s.schema, s.reader())
            found = 0
            for leaf, _ in s.leaf_searchers():
                assert _segment_id(leaf.reader()) not in (_expanded(theirs)[0].per_segment or {})
                got = _walk(theirs.matcher(leaf, context))
                assert got == _walk(ours.matcher(leaf, context)), text
                found += len(got)
            assert found, text


@pytest.mark.parametrize("which", ["updated", "legacy"])
def test_sizes_and_term_infos_are_whooshs(request, which):
    """A pattern's size in a segment (what an OR asks first, to shape its tree) is whoosh's sum of
    its terms' document counts there, and the term infos a prefix's listing read are those a
    lookup finds: the same postings, so the same matches."""
    with open_index(request.getfixturevalue(f"{which}_index_path")) as ix:
        s = ix.searcher()
        sized = 0
        for text in PATTERNS:
            q, _, _ = prepare_query(text, s.schema, s.reader())
            for node in _expanded(q):
                for leaf, _ in s.leaf_searchers():
                    reader = leaf.reader()
                    counts = [reader.doc_frequency(node.field(), t) for t in node.terms]
                    assert node.estimate_size(reader) == sum(counts), text
                    assert node.estimate_min_size(reader) == min(counts, default=0), text  # whoosh: ValueError if none
                    for term, info in node._held(reader):
                        looked_up = reader.term_info(node.field(), term)
                        assert vars(info) == vars(looked_up) and vars(info), (text, term)
                    sized += sum(counts)
            if any(type(n).__name__ == "ExpandedPrefix" for n in _expanded(q)):
                assert any(n.segment_infos for n in _expanded(q)), text  # read with the words, not looked up
        assert sized > 100
