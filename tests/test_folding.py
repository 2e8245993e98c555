"""Accents are folded on both sides: a reader who types ``Chávez`` finds ``CHAVEZ``, and back."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cablesearch import build_index, open_index
from cablesearch.engine import fold

SEED = "00001_3da1b3bfca444ac1.txt"  # 00HARARE5461, with [PER KOFI ANNAN  ] marks


@pytest.fixture(scope="module")
def folded_index(tmp_path_factory: pytest.TempPathFactory, fixture_cables: Path) -> Path:
    src = tmp_path_factory.mktemp("accents")
    text = (fixture_cables / "annotated" / SEED).read_text(encoding="utf-8")
    assert "[PER KOFI ANNAN  ]" in text
    # One cable names him with accents in the body and in an entity mark; the other without.
    accented = text.replace("[PER KOFI ANNAN  ]", "[PER KÓFI ÄNNAN  ]", 1).replace(
        "SHADY ZIMBABWEAN BUSINESSMAN", "SHADY ZIMBABWEAN BUSINESSMAN FROM SÃO PAULO", 1)
    assert accented != text
    (src / "accented.txt").write_text(accented, encoding="utf-8")
    shutil.copy(fixture_cables / "annotated" / "00003_893165d069822992.txt", src / "other.txt")
    plain = text.replace("005461", "005999").replace("05461", "05999")  # another cable: another ref
    (src / "plain.txt").write_text(plain.replace("SHADY ZIMBABWEAN BUSINESSMAN",
                                                 "SHADY ZIMBABWEAN BUSINESSMAN FROM SAO PAULO", 1), encoding="utf-8")
    root = tmp_path_factory.mktemp("ix") / "index"
    report = build_index([src], root, jobs=1)
    assert report.indexed == 3
    return root


def sources(ix, query: str) -> set[str]:
    return {Path(h.source).name for h in ix.iter_search(query)}


@pytest.mark.parametrize("query", ["são", "sao", "SÃO PAULO", '"sao paulo"', '"São Paulo"'])
def test_body_words_match_with_or_without_accents(folded_index, query):
    with open_index(folded_index) as ix:
        assert sources(ix, query) == {"accented.txt", "plain.txt"}


@pytest.mark.parametrize("query", ["per:annan", "per:Ännan", 'per:"kofi annan"', 'per:"Kófi Ännan"', "entity:ánnan"])
def test_entity_names_match_with_or_without_accents(folded_index, query):
    with open_index(folded_index) as ix:
        found = sources(ix, query)
    assert "accented.txt" in found and "plain.txt" in found and "other.txt" not in found


def test_the_stored_text_keeps_its_accents_and_snippets_mark_them(folded_index):
    with open_index(folded_index) as ix:
        hits = [h for h in ix.search("sao", snippets=3).hits if Path(h.source).name == "accented.txt"]
        assert hits
        cable = ix.get(hits[0].ref)
    assert "SÃO PAULO" in cable.body
    marked = {s.text[sp.start:sp.end] for s in hits[0].snippets for sp in s.spans}
    assert "SÃO" in marked, hits[0].snippets


def test_fold():
    assert fold("Chávez") == "chavez" and fold("São") == "sao" and fold("MOSCOW") == "moscow"


def test_folding_a_long_text_folds_it_as_a_word_is_folded(fixture_cables):
    """Snippets find words in the folded body with ``fold_text``; it must give exactly what
    ``fold`` gives (same string, same length where the analyzer's offsets are used)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from cablesearch.engine import fold, fold_text

    for path in sorted(fixture_cables.rglob("*.txt")):
        text = path.read_text(encoding="utf-8", errors="replace")
        assert fold_text(text) == fold(text)
    # Few non-ASCII characters (one by one), many (a run at a time), an astral one, a lone surrogate.
    for text in ["SÃO PAULO Chávez ÀÉÎÕÜ ßẞ İstanbul ǅ Ⅻ", "ÆØÅ æøå Œuvre", "", "É" * 256 + "x", "Ж" * 257 + " é",
                 "a\U0001f600é", "x\ud800É"]:
        assert fold_text(text) == fold(text)

    @settings(max_examples=300, deadline=None)
    @given(st.text())
    def same(text: str) -> None:
        assert fold_text(text) == fold(text)

    same()
