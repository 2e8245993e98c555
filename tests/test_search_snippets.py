"""Snippets: passages of the stored body (and subject) around what matched, as text plus spans.

The check that matters: every ``snippet.text[span.start:span.end]`` is something the query
matched (the same stem, the whole phrase, the entity's words), and nothing under NOT is marked.
"""

from __future__ import annotations

import pytest
from test_search import BY_REF, CABLES, build

from cablesearch import search as S
from cablesearch.engine import text_analyzer, whoosh_schema
from cablesearch.highlight import build_highlighter, collapse_whitespace, lead_snippet
from cablesearch.model import Span

ANALYZER = text_analyzer()


def stems(text: str) -> list[str]:
    return [t.text for t in ANALYZER(text)]


def marked(snippet) -> list[str]:
    return [snippet.text[s.start:s.end] for s in snippet.spans]


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def ix():
    return build(CABLES)


def body_snippets(hit):
    return [s for s in hit.snippets if s.field == "body"]


def test_every_span_is_a_form_of_the_word_searched(ix):
    res = S.search(ix, "waivers", limit=100)
    assert res.total >= 3
    for hit in res:
        spans = [w for s in hit.snippets for w in marked(s)]  # body, or subject ("TRADE WAIVERS")
        assert spans, hit.ref
        assert all(stems(w) == ["waiver"] for w in spans), spans
        for s in body_snippets(hit):  # a passage of the body as stored, whitespace collapsed
            assert s.text in flat(BY_REF[hit.ref].body)


def test_an_org_match_shows_the_body_where_it_names_the_org(ix):
    res = S.search(ix, "org:FSB", limit=10)
    for hit in res:
        words = [w for s in body_snippets(hit) for w in marked(s)]
        assert "FSB" in words, (hit.ref, words)
        assert set(words) == {"FSB"}


def test_a_multi_word_entity_is_marked_as_one_span(ix):
    hit = S.search(ix, 'per:"John Beyrle"', limit=10).hits[0]
    assert "John Beyrle" in [w for s in body_snippets(hit) for w in marked(s)]


def test_a_phrase_is_marked_whole_even_across_a_line_break(ix):
    res = S.search(ix, '"federal security bureau"', limit=10)
    assert "09MOSCOW2723" in [h.ref for h in res]
    for hit in res:
        words = [w.lower() for s in body_snippets(hit) for w in marked(s)]
        assert "federal security bureau" in words, (hit.ref, words)
        assert "security" not in words  # the words are not marked one by one


def test_a_phrase_with_a_stop_word_inside(ix):
    hit = S.search(ix, 'body:"approval by the federal"', limit=1).hits[0]
    assert "approval by the Federal" in [w for s in body_snippets(hit) for w in marked(s)]


def test_words_under_not_are_never_marked(ix):
    res = S.search(ix, "waiver AND NOT intel", limit=100)
    assert res.total
    for hit in res:
        for s in hit.snippets:
            assert all("intel" not in stems(w) for w in marked(s))
    res = S.search(ix, "waiver OR (fsb AND NOT waiver)", limit=100)
    assert any("waiver" in stems(w) for h in res for s in h.snippets for w in marked(s))


def test_wildcards_mark_every_word_they_stand_for(ix):
    hit = S.search(ix, "crypt*", limit=1).hits[0]
    words = [w.lower() for s in hit.snippets for w in marked(s)]
    assert words and all(w.startswith("crypt") for w in words)
    assert {"crypto", "cryptographic"} <= set(words)


def test_subject_matches_come_as_a_subject_snippet(ix):
    hit = S.search(ix, "crypto", limit=1).hits[0]
    subject = [s for s in hit.snippets if s.field == "subject"]
    assert subject and subject[0].text == hit.subject and marked(subject[0]) == ["CRYPTO"]


def test_snippet_count_and_width_are_configurable(ix):
    long_ref = "09MOSCOW2723"
    for n, width in ((1, 60), (2, 80), (3, 200)):
        hit = next(h for h in S.search(ix, "waiver OR fsb OR russia", limit=100, snippets=n, snippet_chars=width)
                   if h.ref == long_ref)
        body = body_snippets(hit)
        assert 1 <= len(body) <= n
        assert all(len(s.text) <= width + 20 for s in body)  # cut at word ends
    hit = S.search(ix, "waiver", limit=1, snippets=0).hits[0]
    assert hit.snippets == ()


def test_snippets_do_not_overlap_and_come_in_text_order(ix):
    hit = next(h for h in S.search(ix, "waiver OR fsb OR russia OR beyrle", limit=100, snippet_chars=60)
               if h.ref == "09MOSCOW2723")
    body = flat(BY_REF["09MOSCOW2723"].body)
    where = [body.index(s.text) for s in body_snippets(hit)]
    assert where == sorted(where)
    for (a, s1), b in zip(zip(where, body_snippets(hit), strict=True), where[1:], strict=False):
        assert a + len(s1.text) <= b


def test_a_hit_without_marks_shows_the_opening_of_the_body(ix):
    hit = S.search(ix, "tag:WTO AND origin:geneva", limit=1).hits[0]
    (snippet,) = hit.snippets
    assert snippet.spans == () and BY_REF[hit.ref].body.startswith(snippet.text)


# --------------------------------------------------------------------------- the pieces


def highlighter(text: str):
    from cablesearch.query import compile_query, parse_query

    schema = whoosh_schema()
    return build_highlighter(compile_query(parse_query(text), schema), schema)


def test_highlighter_spans_on_any_text_and_stem_aware():
    hl = highlighter("waivers OR org:Intel")
    text = "INTEL waived nothing; the Waiver and two waivers."
    assert [text[s.start:s.end] for s in hl.spans(text)] == ["INTEL", "Waiver", "waivers"]


def test_entity_wildcards_match_words_not_stems():
    hl = highlighter("org:secur*")
    text = "The Security Service and the securities market."
    assert [text[s.start:s.end] for s in hl.spans(text)] == ["Security", "securities"]


def test_collapse_whitespace_moves_spans():
    raw = "  a\n\n  bc\t d  "
    text, spans = collapse_whitespace(raw, [(2, 3), (7, 9), (11, 12)])
    assert text == "a bc d"
    assert [text[s:e] for s, e in spans] == ["a", "bc", "d"]


def test_a_phrase_longer_than_the_width_is_cut_not_lost():
    hl = highlighter('"federal security bureau"')
    snippets = hl.snippets("x " * 50 + "Federal Security Bureau " + "y " * 50, width=20)
    assert snippets and snippets[0].text.startswith("Federal Security")
    assert snippets[0].spans[0] == Span(0, min(len(snippets[0].text), len("Federal Security Bureau")))


def test_lead_snippet_cuts_at_a_word():
    s = lead_snippet("  Alpha beta gamma delta epsilon", width=14)
    assert s is not None and s.text == "Alpha beta" and s.spans == ()
    assert lead_snippet("   ") is None


WORDS = ["happy", "happiness", "hoping", "hope", "U.S.", "u.s.-russia", "FSB", "(FSB)", "Federal", "security",
         "securities", "bureau", "of", "the", "waiver", "waivers", "waived", "crypto", "cryptographic", "x", "1,000",
         "relational", "relate", "\n", "\n\n", "—", "Intel's", "INTEL", "Chávez", "CHAVEZ", "SÃO", "São", "sao",
         "Paulo", "café", "Ñandú", "naïve", "Ångström"]
#: What stands between two words: mostly a space, sometimes nothing a token stops at (``x.hope``).
SEPARATORS = [" ", " ", " ", "\n", ".", "-", "'", "(", "", "*"]


@pytest.mark.parametrize("query", ["happy OR hope OR relational", "waivers OR crypt*", 'org:FSB OR "federal security"',
                                   "org:secur* OR org:intel", 'per:"u.s.-russia"', "te?t OR *stan",
                                   "chavez OR sao OR cafe", "chávez OR naive OR angst*", 'per:chavez OR "sao paulo"',
                                   "SÃO* OR ÑANDÚ OR Intel", 'naïve OR "FEDERAL security" OR caf*'])
def test_analyzing_only_regions_marks_what_analyzing_everything_marks(query):
    from dataclasses import replace

    from hypothesis import given, settings
    from hypothesis import strategies as st

    hl = highlighter(query)
    everything = replace(hl, starts=None)

    @settings(max_examples=60, deadline=None)
    @given(st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), max_size=120))
    def check(words):
        text = "".join(w + sep for w, sep in words)
        assert hl.spans(text) == everything.spans(text)

    check()


def test_collapsed_whitespace_keeps_each_span_on_its_words():
    """Runs of any whitespace (tabs, newlines, no-break and ideographic spaces) become one space and
    the ends are stripped; a span over words still covers those words, with their gaps collapsed."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from cablesearch.highlight import collapse_whitespace

    pieces = st.lists(st.sampled_from(["FSB", "visa", "é", " ", "  ", "\n", "\t", "\u00a0", "\u3000", "\x1c"]),
                      max_size=14)

    @settings(max_examples=300, deadline=None)
    @given(pieces, st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), max_size=3))
    def check(parts, ends):
        raw = "".join(parts)
        spans = [(min(a, b, len(raw)), min(max(a, b), len(raw))) for a, b in ends]
        text, moved = collapse_whitespace(raw, spans)
        assert text == " ".join(raw.split())
        for (s, e), (s2, e2) in zip(spans, moved, strict=True):
            if s < e and not raw[s].isspace() and not raw[e - 1].isspace():
                assert text[s2:e2] == " ".join(raw[s:e].split())

    check()
