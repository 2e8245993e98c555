"""``entity:`` searches the four entity fields (org, per, loc, misc) instead of a fifth copy of
their postings: it finds every cable that names the word in any of them, on a new index and on
one built while ``entity`` still had postings of its own; completion offers its values."""

from __future__ import annotations

import pytest

from cablesearch import open_index
from cablesearch.engine import whoosh_schema
from cablesearch.schema import FIELD_BY_NAME

NAMES = ["iran", "russia", "ministry", "foreign", "un", "beyrle", "russian", "fsb", "nato", "chavez"]


def _word_in_mentions(ix, word: str) -> set[str]:
    """The cables with ``word`` in an entity mention of any type, from the stored mention lists."""
    field = whoosh_schema()["org"]  # every entity field analyses mentions alike
    found = set()
    for hit in ix.iter_search("*"):
        words = {w for ms in hit.entities.values() for m in ms for w in field.process_text(m, mode="index")}
        if word in words:
            found.add(hit.ref)
    return found


def test_the_index_keeps_no_entity_postings_of_its_own(fixture_index):
    assert "entity" not in whoosh_schema()
    assert "entity" not in fixture_index.searcher().schema
    assert FIELD_BY_NAME["entity"].union_of == ("org", "per", "loc", "misc")


@pytest.mark.parametrize("which", ["fixture", "legacy"])
def test_entity_finds_the_word_in_any_entity_field(request, which):
    with open_index(request.getfixturevalue(f"{which}_index_path")) as ix:
        checked = 0
        for word in NAMES:
            expected = _word_in_mentions(ix, word)
            got = {h.ref for h in ix.iter_search(f"entity:{word}")}
            assert got == expected, word
            either = {h.ref for h in ix.iter_search(f"org:{word} OR per:{word} OR loc:{word} OR misc:{word}")}
            assert got == either, word
            checked += bool(expected)
        assert checked >= 6


def test_entity_phrases_and_patterns_search_every_field(fixture_index):
    ix = fixture_index
    assert ix.count('entity:"foreign ministry"') == ix.count('org:"foreign ministry" OR per:"foreign ministry" OR '
                                                            'loc:"foreign ministry" OR misc:"foreign ministry"') > 0
    assert ix.count("entity:russ*") == ix.count("org:russ* OR per:russ* OR loc:russ* OR misc:russ*") > 0
    assert ix.count("entity:moscw~1") == ix.count("org:moscw~1 OR per:moscw~1 OR loc:moscw~1 OR misc:moscw~1") > 0


def test_entity_completion_offers_the_words_of_every_field(fixture_index):
    ix = fixture_index
    words = dict(ix.prefix_counts("entity", "ru"))
    assert {"russia", "russian"} <= set(words)  # a place and a nationality
    counts = ix.term_counts("entity", exact=False)
    for field in ("org", "per", "loc", "misc"):
        for term, n in ix.term_counts(field, exact=False).items():
            assert counts[term] >= n
    assert ix.live_terms("entity", ["russia", "fsb", "nosuchname"]) == {"russia", "fsb"}
