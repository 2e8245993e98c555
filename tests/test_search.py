"""Search results over a real whoosh index built from cables made here: result sets, both date
orders, relevance ties, paging, facet counts checked by counting the cables by hand, similar
cables, hits that outlive the index. Snippets: test_search_snippets.py; concurrency:
test_search_concurrency.py; the same checks on the real fixture cables: test_search_fixtures.py.
"""

from __future__ import annotations

import pickle
from collections import Counter
from datetime import datetime

import pytest
from whoosh import index as windex
from whoosh import query as wq
from whoosh.filedb.filestore import RamStorage

from cablesearch import facets as facets_module
from cablesearch import search as S
from cablesearch.engine import to_whoosh, whoosh_schema
from cablesearch.errors import QueryError, UnknownFieldError
from cablesearch.model import Cable, Classification, Entity, EntityType
from cablesearch.schema import to_document

ORG, PER, LOC, MISC = EntityType.ORG, EntityType.PER, EntityType.LOC, EntityType.MISC

POOL = [
    ("The ambassador met officials of NATO to discuss missile defense.", [(ORG, "NATO")]),
    ("Negotiations on accession to the World Trade Organization continued in Geneva.",
     [(ORG, "World Trade Organization"), (LOC, "Geneva")]),
    ("The embassy requested a waiver of the visa requirement for the delegation.", []),
    ("Security services detained two activists in Moscow.", [(LOC, "Moscow")]),
    ("Energy exports through the pipeline fell sharply after the dispute with Gazprom.", [(ORG, "Gazprom")]),
    ("The opposition party announced a boycott of the elections.", []),
    ("The minister said the Federal Security Bureau would review the licenses.", [(ORG, "Federal Security Bureau")]),
    ("Ambassador John Beyrle raised human rights concerns.", [(PER, "John Beyrle")]),
    ("Iranian officials refused to discuss the nuclear program.", [(MISC, "Iranian")]),
    ("The IAEA inspectors visited the enrichment facility.", [(ORG, "IAEA")]),
    ("XXXXXXXXXXXX told poloff that the decision was final.", [(ORG, "XXXXXXXXXXXX")]),
]
ORIGINS = ["MOSCOW", "ANKARA", "USUN NEW YORK", "SECSTATE", "BAGHDAD"]
LEVELS = ["UNCLASSIFIED", "CONFIDENTIAL", "SECRET", "LIMITED OFFICIAL USE"]
TAGS = ["PREL", "PGOV", "ECON", "WTO", "KNNP", "PHUM", "RS"]
SUBJECTS = ["MISSILE DEFENSE TALKS", "TRADE WAIVERS", "ELECTIONS AND THE OPPOSITION", "NUCLEAR PROGRAM"]


def make(ref, when, level, caveats, origin, tags, subject, body, entities=(), source=None):
    return Cable(
        ref=ref, origin=origin, date=when, classification=Classification(level, tuple(caveats)),
        tags=tuple(tags), subject=subject, body=body, entities=tuple(Entity(t, x) for t, x in entities),
        source=source or f"cables/{ref}.txt",
    )


def corpus() -> list[Cable]:
    out = [
        make("09MOSCOW2723", datetime(2009, 11, 3, 13, 1), "CONFIDENTIAL", (), "MOSCOW",
             ("ETRD", "EINV", "ECON", "PREL", "RS", "WTO"),
             "INTEL'S CRYPTO IMPORTATION WAIVER: LESS THAN A BREAKTHROUGH",
             "1. (C) Summary: Intel representatives recently briefed us on the waiver it received to import\n"
             "1,000 encrypted platforms for the development of software. Russia continues to operate under the\n"
             "old regulations on cryptographic goods.\n\n"
             "2. (C) The waiver allows the importation without the required laboratory analysis and approval\n"
             "by the Federal Security Bureau (FSB). Ambassador John Beyrle raised the waivers with the minister.",
             [(ORG, "Intel"), (ORG, "Federal Security Bureau"), (ORG, "FSB"), (PER, "John Beyrle"),
              (LOC, "Russia"), (MISC, "Russian")]),
        make("09MOSCOW226", datetime(2009, 1, 30, 15, 3), "SECRET", ("NOFORN",), "MOSCOW", ("PGOV", "PHUM", "RS"),
             "PROVOCATIONS FROM RUSSIAN SECURITY SERVICES",
             "A letter from the Federal Security Service (FSB) warned against the funding. The FSB would act.",
             [(ORG, "Federal Security Service"), (ORG, "FSB"), (MISC, "RUSSIAN")]),
        # Says FSB, but the tagger missed it: body:fsb finds it, org:fsb does not.
        make("08MOSCOW100", datetime(2008, 3, 1, 9, 0), "UNCLASSIFIED", ("SENSITIVE",), "MOSCOW", ("PGOV",),
             "VISA ISSUES", "Consular staff heard that the FSB reviews every visa waiver request.",
             [(LOC, "Moscow")]),
        # Twins: the same text, so the same score; 07GENEVA2 is indexed first.
        make("07GENEVA2", datetime(2007, 5, 5, 10, 0), "UNCLASSIFIED", ("FOR OFFICIAL USE ONLY",), "GENEVA",
             ("WTO", "ETRD"), "WTO ACCESSION: WORKING PARTY MEETS",
             "The working party on accession met in Geneva to review tariff schedules.",
             [(ORG, "WTO"), (LOC, "Geneva")]),
        make("07GENEVA1", datetime(2007, 5, 5, 10, 0), "UNCLASSIFIED", ("FOR OFFICIAL USE ONLY",), "GENEVA",
             ("WTO", "ETRD"), "WTO ACCESSION: WORKING PARTY MEETS",
             "The working party on accession met in Geneva to review tariff schedules.",
             [(ORG, "WTO"), (LOC, "Geneva")]),
        make(None, None, None, (), None, (), "UNDATED NOTE ON WAIVERS",
             "An undated fragment about a waiver.", source="cables/undated.txt"),
    ]
    for i in range(24):
        level = LEVELS[i % 4]
        caveats = ("NOFORN",) if i % 3 == 0 and level in ("SECRET", "CONFIDENTIAL") else (
            ("SENSITIVE",) if level == "UNCLASSIFIED" and i % 2 == 0 else ())
        origin = ORIGINS[i % 5]
        when = datetime(2005 + i % 6, 1 + i % 12, 1 + (i * 7) % 28, i % 24, 0)
        picked = [POOL[(i + k * 5) % len(POOL)] for k in range(3)]
        out.append(make(
            f"{when.year % 100:02d}{origin.replace(' ', '')}{100 + i}", when, level, caveats, origin,
            tuple(dict.fromkeys([TAGS[i % 7], TAGS[(i * 3 + 1) % 7]])), SUBJECTS[i % 4],
            " ".join(s for s, _ in picked), [e for _, ents in picked for e in ents],
        ))
    return out


CABLES = corpus()
BY_REF = {c.key: c for c in CABLES}


def columns_schema():
    """The schema with the columns recommended for facets and sorting (sortable tag, class, ...)."""
    schema = whoosh_schema()
    for name in ("ref", "tag", "class", "origin", "year", "org"):
        schema[name].column_type = schema[name].default_column()
    return schema


def build(cables, schema=None, storage=None, segments=1):
    ix = (storage or RamStorage()).create_index(schema or whoosh_schema())
    step = -(-len(cables) // segments)
    for start in range(0, len(cables), step):
        w = ix.writer()
        for c in cables[start:start + step]:
            w.add_document(**to_whoosh(to_document(c)))
        w.commit(merge=False)
    return ix


@pytest.fixture(scope="module")
def ix():
    return build(CABLES)


@pytest.fixture(scope="module", params=["plain", "columns", "segments"])
def any_ix(request):
    """The same cables in an index without columns, with the recommended columns, and in 3 segments."""
    facets_module.clear_cache()
    if request.param == "columns":
        return build(CABLES, columns_schema())
    return build(CABLES, segments=3 if request.param == "segments" else 1)


def refs(results) -> list[str]:
    return [h.ref for h in results]


# --------------------------------------------------------------------------- result sets


@pytest.mark.parametrize(("query", "expected"), [
    ("org:FSB", {"09MOSCOW2723", "09MOSCOW226"}),
    ("body:fsb", {"09MOSCOW2723", "09MOSCOW226", "08MOSCOW100"}),
    ('per:"John Beyrle"', {"09MOSCOW2723"} | {c.key for c in CABLES if (PER, "John Beyrle") in
                                              [(e.type, e.text) for e in c.entities]}),
    ("tag:WTO AND origin:geneva", {"07GENEVA1", "07GENEVA2"}),
    ("crypt*", {"09MOSCOW2723"}),
])
def test_result_sets(any_ix, query, expected):
    res = S.search(any_ix, query, limit=100)
    assert set(refs(res)) == expected
    assert res.total == len(expected) == S.count(any_ix, query)
    assert res.query == query


def test_a_compiled_whoosh_query_works_too(ix):
    res = S.search(ix, wq.Term("tag", "wto"), limit=100)
    assert set(refs(res)) == {c.key for c in CABLES if "WTO" in c.tags}


def test_stemmed_words_find_every_form(ix):
    found = set(refs(S.search(ix, "waivers", limit=100)))
    assert {"09MOSCOW2723", "08MOSCOW100", "file:undated"} <= found
    assert all("waiver" in (BY_REF[r].body + " " + (BY_REF[r].subject or "")).lower() for r in found)


def test_query_warnings_come_through(ix):
    res = S.search(ix, "the AND waiver", limit=100)
    assert res.warnings and "the" in str(res.warnings[0])
    assert set(refs(res)) == set(refs(S.search(ix, "waiver", limit=100)))


def test_bad_arguments_are_refused(ix):
    with pytest.raises(ValueError):
        S.search(ix, "waiver", sort="newest")
    with pytest.raises(ValueError):
        S.search(ix, "waiver", page=0)
    with pytest.raises(QueryError):
        S.search(ix, "tag:(")


# --------------------------------------------------------------------------- order and paging


def _date_order(cables, newest_first):
    dated = sorted((c for c in cables if c.date), key=lambda c: c.key.upper())
    dated.sort(key=lambda c: c.date, reverse=newest_first)
    return [c.key for c in dated] + sorted((c.key for c in cables if not c.date), key=str.upper)


@pytest.mark.parametrize("sort", ["date", "-date"])
def test_date_order_both_ways_with_undated_last_and_ties_by_ref(any_ix, sort):
    res = S.search(any_ix, "*", limit=100, sort=sort, snippets=0)
    assert refs(res) == _date_order(CABLES, newest_first=sort == "-date")
    assert res.total == len(CABLES) and all(h.score is None for h in res)


def test_relevance_is_descending_and_ties_go_by_ref(any_ix):
    res = S.search(any_ix, '"working party"', limit=100)
    assert refs(res)[:2] == ["07GENEVA1", "07GENEVA2"]
    assert res.hits[0].score == res.hits[1].score
    res = S.search(any_ix, "waiver OR fsb OR nato", limit=100)
    scores = [h.score for h in res]
    assert scores == sorted(scores, reverse=True)
    for a, b in zip(res.hits, res.hits[1:], strict=False):
        if a.score == b.score:
            assert a.ref.upper() < b.ref.upper()


def test_subject_counts_above_body(ix):
    # 09MOSCOW226 has "security" in its subject; the others only in the body.
    res = S.search(ix, "provocations OR security", limit=3)
    assert res.hits[0].ref == "09MOSCOW226"


@pytest.mark.parametrize("sort", ["relevance", "date", "-date"])
@pytest.mark.parametrize("limit", [1, 3, 7])
def test_pages_have_no_overlap_and_no_gaps(any_ix, sort, limit):
    query = "waiver OR tag:PREL OR org:NATO OR class:secret"
    everything = S.search(any_ix, query, limit=1000, sort=sort, snippets=0)
    first = S.search(any_ix, query, limit=limit, sort=sort, snippets=0)
    assert first.pages == -(-everything.total // limit)
    seen = []
    for page in range(1, first.pages + 1):
        res = S.search(any_ix, query, limit=limit, page=page, sort=sort, snippets=0)
        assert res.total == everything.total and res.page == page and len(res) <= limit
        seen += refs(res)
        assert [h.rank for h in res] == list(range((page - 1) * limit + 1, (page - 1) * limit + 1 + len(res)))
    assert seen == refs(everything) and len(set(seen)) == len(seen)
    beyond = S.search(any_ix, query, limit=limit, page=first.pages + 1, sort=sort)
    assert len(beyond) == 0 and beyond.total == everything.total


@pytest.mark.parametrize("sort", ["relevance", "date", "-date"])
def test_iter_search_streams_every_match_in_order(any_ix, sort):
    query = "waiver OR tag:PREL OR org:NATO"
    everything = S.search(any_ix, query, limit=1000, sort=sort, snippets=0)
    streamed = list(S.iter_search(any_ix, query, sort=sort, batch=4))
    assert [h.ref for h in streamed] == refs(everything)
    assert [h.rank for h in streamed] == list(range(1, everything.total + 1))
    assert all(not h.snippets for h in streamed)


# --------------------------------------------------------------------------- facets


def _matching(query: str) -> list[Cable]:
    """The cables a query matches, decided by reading them (for the queries used below)."""
    field, _, value = query.partition(":")
    if query == "*":
        return CABLES
    if field == "tag":
        return [c for c in CABLES if value.upper() in {t.upper() for t in c.tags}]
    if field == "class":
        return [c for c in CABLES if value.upper() in {c.classification.level, *c.classification.caveats}]
    if field == "origin":
        return [c for c in CABLES if (c.origin or "").lower() == value.lower()]
    if field == "org":
        return [c for c in CABLES if any(e.type is ORG and value.lower() in e.text.lower().split()
                                         for e in c.entities)]
    if field == "year":
        lo, hi = (int(x) for x in value.split(".."))
        return [c for c in CABLES if c.date and lo <= c.date.year <= hi]
    raise AssertionError(query)


def _by_hand(cables: list[Cable]) -> dict[str, Counter]:
    def once(values):
        return dict.fromkeys(v for v in values if v)

    return {
        "tag": Counter(t for c in cables for t in once(t.upper() for t in c.tags)),
        "class": Counter(v for c in cables for v in once([c.classification.level, *c.classification.caveats])),
        "origin": Counter(c.origin.upper() for c in cables if c.origin),
        "year": Counter(c.date.year for c in cables if c.date),
        "org": Counter(m for c in cables for m in once(e.text for e in c.entities
                                                        if e.type is ORG and set(e.text) != {"X"})),
    }


@pytest.mark.parametrize("query", ["*", "tag:PREL", "class:secret", "origin:moscow", "org:NATO", "year:2006..2008"])
def test_facet_counts_equal_counting_the_cables_by_hand(any_ix, query):
    matches = _matching(query)
    assert S.count(any_ix, query) == len(matches)
    got = S.facets(any_ix, query, by=("tag", "class", "origin", "year", "org"), top=0)
    expected = _by_hand(matches)
    for field in expected:
        assert dict(got[field]) == dict(expected[field]), field
    # twice: the second time from the segment cache
    assert S.facets(any_ix, query, by=("tag", "class", "origin", "year", "org"), top=0) == got


def test_facets_are_most_common_first_cut_at_top_and_accept_aliases(ix):
    got = S.facets(ix, "*", by=("classification", "tag"), top=3)
    assert set(got) == {"classification", "tag"}
    assert len(got["tag"]) == 3
    counts = [n for _, n in got["tag"]]
    assert counts == sorted(counts, reverse=True)
    assert got["tag"][0][1] == max(_by_hand(CABLES)["tag"].values())
    assert all(v.isupper() for v, _ in got["classification"])


def test_facets_of_nothing_are_empty(ix):
    assert S.facets(ix, "tag:NOSUCHTAG", by=("tag", "year")) == {"tag": [], "year": []}


def test_facets_refuse_unknown_and_text_fields(ix):
    with pytest.raises(UnknownFieldError) as e:
        S.facets(ix, "*", by=("tga",))
    assert "tag" in e.value.suggestions
    with pytest.raises(QueryError):
        S.facets(ix, "*", by=("body",))


# --------------------------------------------------------------------------- hits, similar cables


def test_hits_are_plain_data_that_outlive_the_index(tmp_path):
    from whoosh.filedb.filestore import FileStorage

    ix = build(CABLES, storage=FileStorage(str(tmp_path)))
    res = S.search(ix, "org:FSB", limit=5)
    ix.close()
    del ix
    hit = next(h for h in res if h.ref == "09MOSCOW2723")
    c = BY_REF["09MOSCOW2723"]
    assert (hit.date, hit.classification, hit.origin, hit.tags, hit.subject) == (
        c.date, "CONFIDENTIAL", "MOSCOW", c.tags, c.subject)
    assert hit.entities["ORG"] == ["Intel", "Federal Security Bureau", "FSB"]
    assert hit.source == "cables/09MOSCOW2723.txt" and hit.snippets
    assert pickle.loads(pickle.dumps(res)) == res


def test_search_accepts_a_searcher_or_an_object_owning_one_and_leaves_it_open(ix):
    with ix.searcher() as s:
        class Owner:
            def searcher(self):
                return s

        wto = len(_matching("tag:WTO"))
        assert S.count(Owner(), "tag:WTO") == S.count(s, "tag:WTO") == wto
        assert S.search(s, "tag:WTO").total == wto  # still open: borrowed searchers are not closed
        assert s.doc_count() == len(CABLES)


def test_more_like_finds_the_twin_and_leaves_the_cable_out(ix):
    res = S.more_like(ix, "07GENEVA1", limit=5)
    assert res.hits[0].ref == "07GENEVA2"
    assert "07GENEVA1" not in refs(res)
    assert S.more_like(ix, "07geneva1", limit=5).hits[0].ref == "07GENEVA2"  # case-insensitive ref


def test_more_like_an_unknown_ref_is_empty_with_a_warning(ix):
    res = S.more_like(ix, "NOSUCHREF")
    assert res.total == 0 and not res.hits and res.warnings


def test_count_and_search_agree_on_match_all(ix):
    assert S.count(ix, "*") == S.search(ix, "*").total == len(CABLES)
    assert S.search(ix, "*", limit=10).pages == -(-len(CABLES) // 10)


def test_a_closed_and_reopened_file_index_searches_the_same(tmp_path):
    from whoosh.filedb.filestore import FileStorage

    build(CABLES[:5], storage=FileStorage(str(tmp_path))).close()
    again = windex.open_dir(str(tmp_path))
    assert S.count(again, "*") == 5


def _whoosh_full_sort(index, query, sort):
    """Every match ordered by whoosh's own sorting collector, by (score or date, then ref): the
    order the one-pass collector must give without sorting everything."""
    from whoosh import sorting

    with index.searcher() as s:
        q, _, _ = S.prepare_query(query, s.schema, s.reader())
        if sort == "relevance":
            keys = [sorting.ScoreFacet(), sorting.FieldFacet("ref")]
        else:
            missing = s.schema["date"].column_type.default_value()
            sign = -1 if sort == "-date" else 1

            def by_date(segment, d):  # segment searcher, document number in the segment
                v = segment.reader().column_reader("date", translate=False)[d]
                return (1, 0) if v == missing else (0, sign * v)

            keys = [sorting.FunctionFacet(by_date), sorting.FieldFacet("ref")]
        r = s.search(q, limit=None, sortedby=keys)
        return [(s.stored_fields(d)["ref"], -k[0] if sort == "relevance" else None) for k, d in r.top_n]


@pytest.mark.parametrize("query", [
    "*", "tag:PREL", "waiver OR fsb OR nato", '"working party" OR tag:WTO', "class:secret", "year:2006..2008"])
@pytest.mark.parametrize("limit", [1, 2, 5, 40])
@pytest.mark.parametrize("sort", ["relevance", "date", "-date"])
def test_the_one_pass_top_n_orders_exactly_as_a_full_sort(any_ix, query, limit, sort):
    got = S.search(any_ix, query, limit=limit, sort=sort, snippets=0)
    full = _whoosh_full_sort(any_ix, query, sort)
    assert [(h.ref, h.score) for h in got] == full[:limit]
    assert got.total == len(full) == S.count(any_ix, query)


# --------------------------------------------------------------------------- patterns expanded once


def _as_or_of_terms(q, reader):
    """``q`` with each prefix, wildcard and fuzzy word replaced by the ``Or`` of the index terms it
    stands for (read segment by segment, as whoosh's matchers read them), each with its boost: the
    meaning of a pattern."""
    if isinstance(q, wq.Prefix | wq.Wildcard | wq.FuzzyTerm):
        terms = sorted(set().union(*(set(q._btexts(leaf)) for leaf, _ in reader.leaf_readers())))
        if not terms:
            return wq.NullQuery
        ors = [wq.Term(q.fieldname, t, boost=q.boost) for t in terms]
        return ors[0] if len(ors) == 1 else wq.Or(ors)
    return q if q.is_leaf() else q.apply(lambda child: _as_or_of_terms(child, reader))


def _scored(res):
    return sorted((h.ref, round(h.score, 9)) for h in res)


@pytest.mark.parametrize("query", [
    "crypt*", "*cow", "nego*", "org:f*", "per:bey*", "mis?il*", "tag:pr*", "geneva~1", "waivr~2", "imp*rt*",
    "nego* AND NOT tag:WTO", "elect* OR sec*", "secur*", "body:secur* OR subject:secur*^3",
])
def test_a_pattern_expanded_at_compile_time_finds_what_whoosh_pattern_finds(any_ix, query):
    """Searching the query text compiles its prefixes, wildcards and fuzzy words to the index terms
    they stand for (listed once): the same cables and total as whoosh's own pattern query, and the
    scores of the Or of those terms (whoosh's own drops the boost of a pattern that stands for
    one term)."""
    from cablesearch.query import compile_query, parse_query
    from cablesearch.query.compile import ExpandedFuzzyTerm, ExpandedPrefix, ExpandedWildcard

    kinds = (ExpandedPrefix, ExpandedWildcard, ExpandedFuzzyTerm)
    with any_ix.searcher() as s:
        expanded, _, _ = S.prepare_query(query, s.schema, s.reader())
        assert any(isinstance(leaf, kinds) for leaf in expanded.leaves() or [expanded])
        pattern = compile_query(parse_query(query), whoosh_schema())  # no reader: whoosh expands it
        assert not any(isinstance(leaf, kinds) for leaf in pattern.leaves() or [pattern])
        terms = _as_or_of_terms(pattern, s.reader())
    got = S.search(any_ix, query, limit=100, snippets=0)
    want = S.search(any_ix, pattern, limit=100, snippets=0)
    assert got.total == want.total == S.count(any_ix, query) > 0
    assert {h.ref for h in got} == {h.ref for h in want}
    assert _scored(got) == _scored(S.search(any_ix, terms, limit=100, snippets=0))


def test_a_pattern_of_one_term_keeps_its_boost(any_ix):
    one = S.search(any_ix, "subject:crypto^3", limit=5, snippets=0)
    assert one.total and one.hits[0].score == S.search(any_ix, "subject:crypt*^3", limit=5, snippets=0).hits[0].score


def test_an_expanded_pattern_reads_as_the_pattern_typed(any_ix):
    from cablesearch.query import describe

    with any_ix.searcher() as s:
        q, _, _ = S.prepare_query("body:nego* OR org:fedral~1 OR mis?ile", s.schema, s.reader())
    assert describe(q) == "(body:nego* OR org:fedral~1 OR (body:mis?ile OR subject:mis?ile^2))"


@pytest.mark.parametrize("query", ["waievr~1", "moscwo~1", "org:nato~1"])
def test_a_fuzzy_word_matches_per_segment_as_whoosh_does(any_ix, query):
    """whoosh's fuzzy matching on a segment does not count a swap of two letters as one edit (its
    merged word list of several segments would): the expansion is read segment by segment, so a
    multi-segment index finds what whoosh's own fuzzy query finds."""
    from cablesearch.query import compile_query, parse_query

    pattern = compile_query(parse_query(query), whoosh_schema())
    got = S.search(any_ix, query, limit=100, snippets=0)
    want = S.search(any_ix, pattern, limit=100, snippets=0)
    assert got.total == want.total == S.count(any_ix, query)
    assert [(h.ref, h.score) for h in got] == [(h.ref, h.score) for h in want]
