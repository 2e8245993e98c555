"""Word pairs (``engine.WordPairs``): an exact phrase of a common pair of words is answered from the
pairs of neighbouring words the index keeps, with whoosh's own documents and scores."""

from __future__ import annotations

import random

import pytest
from test_phrases import _scored
from whoosh import query as wq

from cablesearch import open_index, phrases
from cablesearch.engine import (
    WordPairs,
    common_pairs,
    entity_analyzer,
    pairs_name,
    stored_fields,
    text_analyzer,
    whoosh_schema,
)
from cablesearch.facets import clear_cache
from cablesearch.weighting import WEIGHTING


def _pairs(kept: set[str], text: str) -> list[str]:
    return [t.text for t in WordPairs(text_analyzer(), frozenset(kept))(text)]


def test_a_pair_is_two_neighbouring_words_stop_words_left_out():
    kept = {"human right", "secretari state", "prime minist", "state prime", "right human"}
    assert _pairs(kept, "Human Rights") == ["human right"]
    # stop words leave no gap, as in the phrase "secretary of state"
    assert _pairs(kept, "the Secretary of State and the Prime Minister") == [
        "secretari state", "state prime", "prime minist"]
    # only listed pairs, wherever they stand
    assert _pairs(kept, "human rights groups state human rights") == ["human right", "human right"]
    assert _pairs(kept, "human cargo rights") == []
    assert _pairs(kept, "minister prime") == []
    assert _pairs(set(), "human rights") == []


def test_in_a_name_field_a_pair_never_spans_two_mentions():
    kept = frozenset({"costa rica", "hugo chavez", "chavez costa", "al qadhafi"})
    pairs = WordPairs(entity_analyzer(), kept)
    assert [t.text for t in pairs("Hugo Chavez\nCosta Rica\nMuammar al-Qadhafi")] == [
        "hugo chavez", "costa rica", "al qadhafi"]


def test_the_lists_ship_with_the_package_and_go_into_new_schemas():
    body = common_pairs("body")
    assert len(body) > 1000
    assert {"human right", "prime minist", "secur council", "foreign minist", "secretari state"} <= body
    assert "costa rica" in common_pairs("loc") and "al qadhafi" in common_pairs("per")
    assert "john beyrle" not in common_pairs("per")  # in 5 of the 5,000 cables: its phrase reads positions
    schema = whoosh_schema()
    for name in ("body", "org", "per", "loc", "misc"):
        kept = common_pairs(name)
        assert kept and all(len(p.split(" ")) == 2 for p in kept)
        field = schema[pairs_name(name)]
        assert type(field.analyzer) is WordPairs and field.analyzer.pairs == kept
    assert pairs_name("subject") not in schema and common_pairs("subject") == frozenset()


def _runs_of_pairs(ix, kept: frozenset[str], count: int) -> list[list[str]]:
    """Runs of 2-4 words as they stand in indexed bodies, starting with a kept pair (the rest
    pairs or not: a longer phrase is narrowed by its pairs, then its positions read)."""
    rng = random.Random(11)
    schema = ix.searcher().schema
    runs: list[list[str]] = []
    searcher = ix.searcher()
    for docnum in range(searcher.doc_count_all()):
        body = stored_fields(searcher, docnum).get("body") or ""  # stored apart: from its column
        words = [t.text for t in schema["body"].tokenize(body, mode="index")]
        starts = [i for i in range(len(words) - 1) if f"{words[i]} {words[i + 1]}" in kept]
        for i in rng.sample(starts, min(2, len(starts))):
            runs.append(words[i:i + rng.choice((2, 2, 3, 4))])
        if len(runs) >= count:
            break
    return runs


@pytest.fixture(scope="module")
def layout2_index_path(fixture_cables, tmp_path_factory):
    """As ``updated_index_path``, first built as schema layout 2 built it (the cables of each pair
    only: whoosh's ``Existence`` format), then updated by this version (its second segment has the
    same layout: a writer follows the index's schema)."""
    from conftest import _built_and_updated
    from whoosh import fields, formats

    from cablesearch import engine
    from cablesearch.index import build_index

    real = engine.pairs_field

    def layout2_build(*args, **kwargs):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(engine, "pairs_field",
                       lambda f, pairs=None: fields.FieldType(formats.Existence(), real(f, pairs).analyzer))
            return build_index(*args, **kwargs)

    return _built_and_updated(fixture_cables, tmp_path_factory.mktemp("layout2-index"), layout2_build)


@pytest.mark.parametrize("which", ["updated", "legacy", "small_blocks", "layout2"])
def test_phrases_of_common_words_find_whooshs_documents_with_whooshs_scores(request, which, monkeypatch):
    """``updated``: two segments with deleted documents; ``legacy``: pairs written by whoosh's own
    writer and codec (the same terms, other blocks); ``small_blocks``: lists of many blocks;
    ``layout2``: pairs without positions (a longer phrase reads its words' positions)."""
    clear_cache()
    used: list[tuple[bool, int]] = []
    real = phrases._pair_lists

    def counted(q, searcher, reader, places=False):
        got = real(q, searcher, reader, places)
        used.append((places, len(got or ())))
        return got

    monkeypatch.setattr(phrases, "_pair_lists", counted)
    with open_index(request.getfixturevalue(f"{which}_index_path")) as ix:
        s = ix.searcher()
        leaves = s.leaf_searchers()
        assert len(leaves) >= 2 and any(leaf.reader().has_deletions() for leaf, _ in leaves)
        kept = s.schema[pairs_name("body")].analyzer.pairs
        runs = _runs_of_pairs(ix, kept, 40)
        assert len(runs) >= 40 and any(len(r) > 2 for r in runs)
        runs += [["human", "right"], ["human", "right", "human", "right"], ["foreign", "minist"], ["state", "state"]]
        # two kept pairs that share a word, often in the same cable but not as one phrase
        seconds: dict[str, list[str]] = {}
        for pair in sorted(kept):
            a, b = pair.split(" ")
            seconds.setdefault(a, []).append(b)
        made = [[a, b, c] for a in ("human", "prime", "foreign", "secur", "state", "govern")
                for b in seconds.get(a, [])[:4] for c in seconds.get(b, [])[:2]]
        runs += made
        matched = 0
        found: set[tuple[str, ...]] = set()
        for words in runs:
            for boost in (1.0, 2.0):
                for leaf, _ in leaves:
                    for context in (None, s.context(weighting=WEIGHTING)):
                        theirs = _scored(wq.Phrase("body", words, boost=boost).matcher(leaf, context))
                        ours = _scored(phrases.Phrase("body", words, boost=boost).matcher(leaf, context))
                        assert ours == theirs, (words, boost)
                        matched += bool(ours)
                        if ours:
                            found.add(tuple(words))
        assert matched > len(runs)  # the comparison is not empty
        assert 0 < sum(tuple(w) in found for w in made) < len(made)  # phrases and pairs apart
        assert sum(1 for _, n in used if n) > len(runs)  # and went through the pairs
        placed = sum(1 for places, n in used if places and n)
        if which == "layout2":
            assert type(s.schema[pairs_name("body")].format).__name__ == "Existence" and not placed
        else:  # the longer ones followed their pairs' positions
            assert placed > len([r for r in runs if len(r) > 2])


def test_a_phrase_with_a_slop_or_rare_words_reads_positions_as_before(updated_index_path):
    clear_cache()
    with open_index(updated_index_path) as ix:
        s = ix.searcher()
        reader = s.leaf_searchers()[0][0].reader()
        assert phrases._pair_lists(phrases.Phrase("body", ["human", "right"], slop=3), s, reader) == {}
        assert phrases._pair_lists(phrases.Phrase("body", ["nosuchword", "right"]), s, reader) == {}
        kept = s.schema[pairs_name("body")].analyzer.pairs
        assert "right resum" not in kept
        got = phrases._pair_lists(phrases.Phrase("body", ["human", "right", "resum"]), s, reader)
        assert list(got) == [0] and len(got[0])  # "human right" kept; "right resum" not a pair
        # a kept pair that no document of the segment holds: no document can match
        assert any(phrases._pair_lists(phrases.Phrase("body", p.split(" ")), s, leaf.reader()) is None
                   for p in sorted(kept)[:200] for leaf, _ in s.leaf_searchers())


def test_an_index_without_pairs_answers_the_same(fixture_index_path, tmp_path):
    """A segment without the pairs field (an index built before them) matches from positions."""
    clear_cache()
    with open_index(fixture_index_path) as ix:
        s = ix.searcher()
        leaf = s.leaf_searchers()[0][0]
        q = phrases.Phrase("body", ["human", "right"])
        expected = _scored(q.matcher(leaf))
        assert expected
        schema = leaf.schema
        field = schema._fields.pop(pairs_name("body"))
        try:
            assert phrases._pair_lists(q, leaf, leaf.reader()) == {}
            assert _scored(phrases.Phrase("body", ["human", "right"]).matcher(leaf)) == expected
        finally:
            schema._fields[pairs_name("body")] = field


@pytest.mark.parametrize("which", ["updated", "legacy"])
def test_name_phrases_of_kept_pairs_find_whooshs_documents_with_whooshs_scores(request, which):
    clear_cache()
    with open_index(request.getfixturevalue(f"{which}_index_path")) as ix:
        s = ix.searcher()
        leaves = s.leaf_searchers()
        matched = held = 0
        for name in ("org", "per", "loc", "misc"):
            kept = sorted(s.schema[pairs_name(name)].analyzer.pairs)
            seconds: dict[str, list[str]] = {}
            for pair in kept:
                a, b = pair.split(" ")
                seconds.setdefault(a, []).append(b)
            # and names of three words whose two pairs are kept ("muammar al qadhafi")
            triples = [f"{p} {c}" for p in kept for c in seconds.get(p.split(" ")[1], [])[:2]]
            for pair in kept[:60] + triples[:30]:
                words = pair.split(" ")
                for leaf, _ in leaves:
                    for context in (None, s.context(weighting=WEIGHTING)):
                        theirs = _scored(wq.Phrase(name, words).matcher(leaf, context))
                        ours = _scored(phrases.Phrase(name, words).matcher(leaf, context))
                        assert ours == theirs, (name, words)
                        matched += bool(ours)
                    held += bool(phrases._pair_lists(phrases.Phrase(name, words), s, leaf.reader()))
        assert matched > 20
        assert held > 20  # the matches came from the pairs' lists
