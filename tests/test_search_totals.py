"""The total a page shows is the exact number of matches: the same as ``count()`` and as the number
of hits ``iter_search`` streams, for every kind of query, on the index the real build made (with a
replaced cable kept as a deleted document). One pass over the matches gives both the page and the
total (``cablesearch/ordering.py``); the page is the first ``limit`` of the full order."""

from __future__ import annotations

import itertools

import pytest

QUERIES = [
    "*", "tag:PREL", "moscow", "russia NOT moscow", "moscow -tag:PREL", "tag:PREL OR -moscow",
    '"human rights"', 'minister AND "foreign ministry"', "org:fsb OR per:beyrle", "gov*", "*stan",
    "moscw~1", "class:secret", "year:2005..2009", "date:2009 AND tag:PREL", "NOT tag:PREL",
]


@pytest.mark.parametrize("sort", ["relevance", "-date"])
@pytest.mark.parametrize("query", QUERIES)
def test_the_page_total_is_the_exact_count(fixture_index, query, sort):
    res = fixture_index.search(query, limit=3, sort=sort, snippets=0)
    streamed = [h.ref for h in fixture_index.iter_search(query, sort=sort)]
    assert res.total == fixture_index.count(query) == len(streamed) == len(set(streamed))
    assert [h.ref for h in res] == streamed[:3]  # the page is the start of the full order


@pytest.mark.parametrize("query", ["tag:PREL", "class:confidential", "*"])
def test_pages_of_tied_cables_follow_the_ref_order_without_overlap(fixture_index, query):
    """Field-only queries tie on score: ties go by ref, page after page."""
    everything = list(fixture_index.iter_search(query))
    pages = []
    for page in range(1, 100):
        res = fixture_index.search(query, limit=4, page=page, snippets=0)
        if not res.hits:
            break
        pages += res.hits
    assert [h.ref for h in pages] == [h.ref for h in everything]
    for a, b in itertools.pairwise(pages):
        assert a.score > b.score or (a.score == b.score and a.ref.upper() < b.ref.upper())


MORE = [
    *QUERIES,
    "tag:PREL AND moscow AND NOT class:secret", "(tag:PREL OR tag:PGOV) AND NOT (moscow OR russia)",
    "NOT (tag:PREL OR moscow)", "tag:PREL AND org:fsb", "a* AND tag:PREL", '"foreign ministry" OR tag:PHUM',
    "tag:PREL -tag:PGOV -moscow", "* AND NOT *",
]


@pytest.mark.parametrize("query", MORE)
def test_counting_with_sets_finds_what_whoosh_matchers_find(fixture_index, query):
    """``count`` and facets work ANDs, ORs and NOTs out as sets; whoosh's own matchers agree."""
    from cablesearch.search import prepare_query

    s = fixture_index.searcher()
    q, _, _ = prepare_query(query, s.schema, s.reader())
    whoosh_docs = sorted(s.docs_for_query(q))
    assert fixture_index.count(query) == len(whoosh_docs)
    by_tag = dict(fixture_index.facets(query, by=("tag",), top=0)["tag"])
    want: dict[str, int] = {}
    for d in whoosh_docs:
        for tag in dict.fromkeys(t.upper() for t in (s.stored_fields(d).get("tag") or "").split(",") if t):
            want[tag] = want.get(tag, 0) + 1
    assert by_tag == want
