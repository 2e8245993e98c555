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
    hints = ix.term_counts("entity", exact=False)
    exact = ix.term_counts("entity")
    per_field = {f: ix.term_counts(f, exact=False) for f in ("org", "per", "loc", "misc")}
    # hints are the lexicon's: they still count the duplicates the build kept as deleted documents
    assert set(exact) <= set(hints) == set().union(*per_field.values())
    for term in hints:  # the most of one field, not the sum of four
        assert hints[term] == max(c[term] for c in per_field.values())
    for word in ("russia", "fsb", "ministry", "iran"):
        assert exact[word] == ix.count(f"entity:{word}") > 0
        assert words.get(word, hints[word]) == hints[word]
    assert any(exact[t] > hints[t] for t in exact)  # words named in two fields: the union is larger
    assert ix.live_terms("entity", ["russia", "fsb", "nosuchname"]) == {"russia", "fsb"}


def test_counting_matches_by_entity(fixture_index):
    """``--facets entity``: the mentions of any type, counted over the matches."""
    got = dict(fixture_index.facets("russia", by=("entity",), top=0)["entity"])
    org = dict(fixture_index.facets("russia", by=("org",), top=0)["org"])
    assert got and all(got.get(name, 0) >= n for name, n in org.items())


def test_an_index_with_entity_postings_of_its_own_completes_updated_cables(fixture_cables, tmp_path):
    """An index built while entity had postings of its own, updated by this version (whose cables
    bring none): completion reads the four fields, so it offers the new cable's names too."""
    import shutil

    from cablesearch import build as build_module
    from cablesearch import buildworkers, engine, schema
    from cablesearch.index import build_index

    def old_schema():
        return engine.fields.Schema(**{f.name: engine.whoosh_field(f) for f in schema.FIELDS})

    def old_document(cable, **kw):
        doc = to_document(cable, **kw)
        names = [n for f in ("org", "per", "loc", "misc") for n in doc.get(f, [])]
        return {**doc, "entity": names} if names else doc

    to_document = schema.to_document
    src = tmp_path / "src"
    shutil.copytree(fixture_cables / "annotated", src)
    root = tmp_path / "index"
    with pytest.MonkeyPatch.context() as mp:
        for module in (build_module, buildworkers):
            if hasattr(module, "whoosh_schema"):
                mp.setattr(module, "whoosh_schema", old_schema)
        for module in (schema, buildworkers, build_module):
            if hasattr(module, "to_document"):
                mp.setattr(module, "to_document", old_document)
        build_index([str(src)], root, jobs=1)
    with open_index(root) as ix:
        assert "entity" in ix.searcher().schema and ix.count("entity:zqxnewname") == 0
    path = sorted(src.glob("*.txt"))[0]
    path.write_text(path.read_text(encoding="utf-8") + "\n[PER Zqxnewname Smith  ] met the team .\n",
                    encoding="utf-8")
    build_index([str(src)], root, update=True, jobs=1)
    with open_index(root) as ix:
        assert ix.count("entity:zqxnewname") == 1
        assert dict(ix.prefix_counts("entity", "zqx")) == {"zqxnewname": 1}
        assert ix.term_counts("entity")["zqxnewname"] == 1
        assert ix.live_terms("entity", ["zqxnewname"]) == {"zqxnewname"}
