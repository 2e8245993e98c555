"""The search checks again on real cables, read by the real parser: tests/fixtures/cables when it is
there, else the first cables of ../shared/corpus/annotated (with the user's sample, 09MOSCOW2723);
skipped when neither is. Expected values are computed from the parsed cables, not written down.
"""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
from conftest import FIXTURE_CABLES, SHARED_CORPUS
from test_search import build

from cablesearch import search as S
from cablesearch.engine import text_analyzer
from cablesearch.errors import CableParseError
from cablesearch.model import EntityType

SHARED_SAMPLE = 80
USER_SAMPLE = "000_615657d95461bb59.txt"  # 09MOSCOW2723, sorted last


def _load():
    try:
        from cablesearch.sources import discover, load_cable
    except ImportError:  # pragma: no cover - the parser not there yet
        pytest.skip("cablesearch.sources is not there yet")
    if FIXTURE_CABLES.is_dir() and any(FIXTURE_CABLES.iterdir()):
        raws = list(discover([FIXTURE_CABLES]))
    elif (SHARED_CORPUS / "annotated").is_dir():
        raws = list(itertools.islice(discover([SHARED_CORPUS / "annotated"]), SHARED_SAMPLE))
        raws += [r for r in discover([SHARED_CORPUS / "annotated"]) if r.source.endswith(USER_SAMPLE)]
    else:
        pytest.skip("no real cables here (tests/fixtures/cables or ../shared/corpus)")
    cables, seen = [], set()
    for raw in raws:
        try:
            cable, _ = load_cable(raw)
        except CableParseError:  # unreadable fixtures are the parser tests' business
            continue
        if cable.key not in seen:
            seen.add(cable.key)
            cables.append(cable)
    if len(cables) < 5:
        pytest.skip("too few real cables")
    return cables


@pytest.fixture(scope="module")
def real():
    cables = _load()
    return build(cables), cables


def stems(text):
    return [t.text for t in text_analyzer()(text)]


def test_match_all_and_facets_equal_counting_the_parsed_cables(real):
    ix, cables = real
    assert S.count(ix, "*") == len(cables)
    got = S.facets(ix, "*", by=("tag", "class", "origin", "year"), top=0)
    assert dict(got["tag"]) == dict(Counter(t for c in cables for t in dict.fromkeys(x.upper() for x in c.tags)))
    levels = Counter(v for c in cables for v in dict.fromkeys(
        x for x in (c.classification.level, *c.classification.caveats) if x))
    assert dict(got["class"]) == dict(levels)
    assert dict(got["origin"]) == dict(Counter(c.origin.upper() for c in cables if c.origin))
    assert dict(got["year"]) == dict(Counter(c.date.year for c in cables if c.date))


def test_snippets_of_a_common_word_mark_only_that_word(real):
    ix, cables = real
    common = Counter(s for c in cables for s in set(stems(c.body)) if s.isalpha() and len(s) > 4)
    word = next(w for w, n in common.most_common() if n < len(cables))
    res = S.search(ix, f"body:{word}", limit=20)
    assert res.total == common[word]
    for hit in res:
        spans = [s.text[x.start:x.end] for s in hit.snippets if s.field == "body" for x in s.spans]
        assert spans and all(stems(w) == [word] for w in spans), (hit.ref, word, spans)


def test_an_org_query_shows_the_org_in_the_body(real):
    ix, cables = real
    orgs = Counter(e.text for c in cables for e in c.entities
                   if e.type is EntityType.ORG and e.text.isalpha() and e.text.isupper() and len(e.text) > 2
                   and set(e.text) != {"X"})
    if not orgs:
        pytest.skip("no one-word organization among these cables")
    org = orgs.most_common(1)[0][0]
    res = S.search(ix, f"org:{org}", limit=20)
    assert res.total >= 1
    shown = [h for h in res if any(s.text[x.start:x.end].lower() == org.lower()
                                   for s in h.snippets if s.field == "body" for x in s.spans)]
    assert len(shown) >= 0.8 * len(res), org


def test_the_users_sample_cable(real):
    ix, cables = real
    if not any(c.key == "09MOSCOW2723" for c in cables):
        pytest.skip("09MOSCOW2723 is not among these cables")
    hit = next(h for h in S.search(ix, "org:FSB", limit=50) if h.ref == "09MOSCOW2723")
    assert "FSB" in [s.text[x.start:x.end] for s in hit.snippets for x in s.spans]
    assert S.more_like(ix, "09MOSCOW2723", limit=5).total >= 1


def test_date_orders_over_real_cables(real):
    ix, cables = real
    dated = sorted((c for c in cables if c.date), key=lambda c: c.key.upper())
    for sort, newest_first in (("date", False), ("-date", True)):
        expected = [c.key for c in sorted(dated, key=lambda c: c.date, reverse=newest_first)]
        got = [h.ref for h in S.search(ix, "*", limit=1000, sort=sort, snippets=0)]
        assert got[:len(expected)] == expected


@pytest.mark.parametrize("sort", ["relevance", "date", "-date"])
def test_pages_over_real_cables(real, sort):
    ix, _ = real
    everything = [h.ref for h in S.search(ix, "*", limit=1000, sort=sort, snippets=0)]
    paged = [h.ref for p in range(1, 100) for h in S.search(ix, "*", limit=7, page=p, sort=sort, snippets=0)]
    assert paged == everything and len(set(everything)) == len(everything)


def test_a_value_no_cable_has_is_named_with_the_values_there_are(real):
    ix, cables = real
    levels = {v.lower() for c in cables for v in (c.classification.level, *c.classification.caveats) if v}
    levels = sorted(levels | ({"sbu"} if "sensitive" in levels else set()))  # indexed beside 'sensitive'
    res = S.search(ix, "class:topsecret")
    assert res.total == 0
    assert [str(w) for w in res.warnings] == [
        f"no cable in this index has class 'topsecret'; its values here: {', '.join(levels)}"]
    assert (res.warnings[0].start, res.warnings[0].end) == (0, len("class:topsecret"))
    # a label asks for each part: only the missing part is named
    res = S.search(ix, "tag:WTO AND class:SECRET//NOFROM")
    assert [str(w).split(";")[0] for w in res.warnings] == ["no cable in this index has class 'nofrom'"]
    tags = {t.upper() for c in cables for t in c.tags}
    assert len(tags) > 12 and "WTO" in tags and "WTOO" not in tags
    res = S.search(ix, "tag:WTOO OR tag:WTO")
    assert res.total == S.count(ix, "tag:WTO") > 0  # the search still runs
    assert [str(w) for w in res.warnings] == ["no cable in this index has tag 'wtoo'; did you mean 'wto'?"]
    assert S.search(ix, "tag:WTO AND class:secret AND para:c").warnings == ()  # values there are: quiet
    # a quoted value is checked too (the README writes class:"limited official use" so)
    quoted = S.search(ix, 'class:"top secret" OR tag:"WTOO"')
    assert [str(w).split(";")[0] for w in quoted.warnings] == [
        "no cable in this index has class 'top secret'", "no cable in this index has tag 'wtoo'"]
    # nothing close among more than 12 values: the most common are named
    per_tag = Counter(t.lower() for c in cables for t in dict.fromkeys(x.upper() for x in c.tags))
    common = sorted(sorted(per_tag), key=lambda t: -per_tag[t])[:6]
    assert [str(w) for w in S.search(ix, "tag:QQQQQQ").warnings] == [
        f"no cable in this index has tag 'qqqqqq'; the most common of its {len(per_tag)} values here: "
        f"{', '.join(common)}"]


def test_a_missing_value_among_very_many_says_how_many(real, monkeypatch):
    from cablesearch.query import compile as compile_module

    ix, cables = real
    monkeypatch.setattr(compile_module, "COUNT_VALUES", 5)  # as a tag field of thousands of values is
    n = len({t.upper() for c in cables for t in c.tags})
    assert [str(w) for w in S.search(ix, "tag:QQQQQQ").warnings] == [
        f"no cable in this index has tag 'qqqqqq'; none of its {n} values here is close"]
