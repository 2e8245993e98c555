"""Word lists (``cablesearch/wordlists.py``): a wildcard is answered from each segment's ``.words``
file (with a literal start, from the run of words that begin with it), and the answer is exactly
whoosh's own walk of the word list: the same terms, the same hits, the same totals; a missing or
damaged file only means the slow walk."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from whoosh import query as wq

from cablesearch import build_index, indexdir, open_index, wordlists
from cablesearch.facets import clear_cache

PATTERNS = [
    ("body", "*stan"), ("body", "?ran"), ("body", "*ment*"), ("body", "*o?ow"), ("body", "?"),
    ("body", "*ü*"), ("body", "*.*"), ("subject", "*ian"), ("loc", "*stan"), ("org", "*ministry*"),
    ("per", "?u*"), ("tag", "*r*"), ("class", "*ret"), ("origin", "*o*"), ("ref", "*moscow*"),
    ("body", "h?man"), ("misc", "*an"),
    # Many stars: matched like fnmatch's atomic pieces, or the scan would backtrack for minutes.
    ("body", "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*z"), ("body", "*e**e*"), ("body", "?*?*?*?*?*?*?*?*?*?*?*?*?*q"),
    # A literal start: only the words that begin with it are scanned.
    ("body", "gov*nment"), ("body", "te?t"), ("body", "m*w"), ("body", "a*"), ("body", "zz*"), ("body", "ü*"),
    ("body", "z?"), ("body", "\U0010ffff*"), ("loc", "mos*"), ("org", "min*ry"), ("tag", "P*"), ("ref", "0*"),
    ("subject", "n?c*"),
    # A literal end and no start: the reversed pattern on the reversed list.
    ("body", "*ü"), ("body", "?*n"), ("body", "*e?s"), ("body", "*\U0010ffff"), ("loc", "*ia"), ("ref", "*00"),
]


def _segment_readers(root: Path):
    ix = open_index(root)
    reader = ix.searcher().reader()
    return ix, [r for r, _ in reader.leaf_readers()] if hasattr(reader, "leaf_readers") else [reader]


def _generation(root: Path) -> Path:
    return root / indexdir.read_current(root)


def test_the_build_writes_a_word_list_next_to_every_segment(fixture_index_path):
    ix, leaves = _segment_readers(fixture_index_path)
    with ix:
        names = {r.segment().segment_id() for r in leaves}
    files = {n[: -len(wordlists.SUFFIX)] for n in os.listdir(_generation(fixture_index_path))
             if n.endswith(wordlists.SUFFIX)}
    assert names and files == names


@pytest.mark.parametrize(("field", "pattern"), PATTERNS)
def test_a_word_list_finds_the_terms_whooshs_walk_finds(fixture_index_path, field, pattern):
    clear_cache()
    ix, leaves = _segment_readers(fixture_index_path)
    with ix:
        for leaf in leaves:
            walked = list(wq.Wildcard(field, pattern)._btexts(leaf))
            assert wordlists.match(leaf, field, pattern) == walked


def test_patterns_with_a_character_set_stay_with_whoosh(fixture_index_path):
    ix, leaves = _segment_readers(fixture_index_path)
    with ix:
        assert wordlists.match(leaves[0], "body", "[ab]*") is None
        assert wordlists.match(leaves[0], "body", "go[vw]*") is None
        assert wordlists.match(leaves[0], "body", "gov*nment") is not None


@given(words=st.lists(st.text(alphabet="ab\u00e9\U0001f600", max_size=4), unique=True),
       start=st.text(alphabet="ab\u00e9\U0001f600", min_size=1, max_size=3))
def test_the_span_of_a_start_holds_exactly_the_words_that_begin_with_it(words, start):
    """Any sorted list, any start (words that are prefixes of one another, none, all, astral)."""
    listed = sorted(words)
    text = "\n" + "\n".join(listed) + "\n" if listed else "\n"
    span = wordlists._span(text, start)
    assert span.startswith("\n") and span.endswith("\n")
    assert [w for w in span.split("\n")[1:-1]] == [w for w in listed if w.startswith(start)]


QUERIES = ["*stan", "loc:*stan", "?ran AND tag:PREL", "*ment* NOT moscow", "h?man rights", "org:*minist*"]


def _answers(root: Path) -> dict[str, tuple[int, list[str]]]:
    clear_cache()
    with open_index(root) as ix:
        return {q: (ix.count(q), [h.ref for h in ix.iter_search(q)]) for q in QUERIES}


def test_searches_answer_the_same_without_the_files(index_copy):
    with_lists = _answers(index_copy)
    assert all(total for total, _ in with_lists.values())
    gen = _generation(index_copy)
    for name in os.listdir(gen):
        if name.endswith(wordlists.SUFFIX):
            (gen / name).unlink()
    assert _answers(index_copy) == with_lists


def test_a_damaged_word_list_is_not_used(index_copy):
    expected = _answers(index_copy)
    gen = _generation(index_copy)
    for name in os.listdir(gen):
        if name.endswith(wordlists.SUFFIX):
            data = (gen / name).read_bytes()
            (gen / name).write_bytes(data[: len(data) // 2])  # truncated: a list cut short would miss words
    clear_cache()
    ix, leaves = _segment_readers(index_copy)
    with ix:
        assert all(wordlists.words(leaf, "body") is None for leaf in leaves)
    assert _answers(index_copy) == expected


def test_an_update_gives_new_segments_their_lists_and_drops_those_of_merged_ones(fixture_cables, tmp_path):
    src = tmp_path / "src"
    names = sorted(p.name for p in (fixture_cables / "annotated").glob("*.txt"))
    src.mkdir()
    for name in names[:6]:
        shutil.copy(fixture_cables / "annotated" / name, src / name)
    root = tmp_path / "index"
    build_index([str(src)], root, jobs=1)
    for name in names[6:12]:  # several updates: whoosh merges the small segments as it goes
        shutil.copy(fixture_cables / "annotated" / name, src / name)
        build_index([str(src)], root, update=True, jobs=1)
    ix, leaves = _segment_readers(root)
    with ix:
        live = {r.segment().segment_id() for r in leaves}
        assert ix.doc_count() == 12
    gen = _generation(root)
    lists = {n[: -len(wordlists.SUFFIX)] for n in os.listdir(gen) if n.endswith(wordlists.SUFFIX)}
    assert lists == live
    assert not [n for n in os.listdir(gen) if ".tmp" in n]
    # An index from before the lists (or whose list was lost) gets them back at its next update.
    for name in lists:
        (gen / f"{name}{wordlists.SUFFIX}").unlink()
    (src / names[0]).unlink()
    build_index([str(src)], root, update=True, jobs=1)
    ix, leaves = _segment_readers(root)
    with ix:
        live = {r.segment().segment_id() for r in leaves}
        assert ix.doc_count() == 11
    assert {n[: -len(wordlists.SUFFIX)] for n in os.listdir(gen) if n.endswith(wordlists.SUFFIX)} == live


def test_a_list_written_while_the_index_is_open_is_used_at_once(index_copy):
    """A segment without a list is not remembered as such: a shell that searched before an update
    wrote the list uses it on its next search."""
    from cablesearch.engine import open_whoosh

    gen = _generation(index_copy)
    for name in os.listdir(gen):
        if name.endswith(wordlists.SUFFIX):
            (gen / name).unlink()
    clear_cache()
    ix, leaves = _segment_readers(index_copy)
    with ix:
        assert all(wordlists.words(leaf, "body") is None for leaf in leaves)
        assert wordlists.write_missing(open_whoosh(gen)) == len(leaves)
        assert all(wordlists.words(leaf, "body") for leaf in leaves)
