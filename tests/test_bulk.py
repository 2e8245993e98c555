"""Scoring in bulk (``cablesearch/bulk.py``) gives what walking whoosh's matchers gives: every
match with the same score, segment by segment, for every kind of query the language makes; and
the page, its order and the total of a search are the same either way."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from cablesearch import bulk, open_index, ordering
from cablesearch.bulk import segment_scores
from cablesearch.search import prepare_query
from cablesearch.weighting import WEIGHTING

BENCH_QUERIES = Path(__file__).resolve().parent.parent / "bench" / "queries.txt"

QUERIES = [
    "*", "tag:PREL", "moscow", "russia NOT moscow", "moscow -tag:PREL", "tag:PREL OR -moscow", "NOT tag:PREL",
    '"human rights"', 'minister AND "foreign ministry"', "org:fsb OR per:beyrle", "gov*", "*stan", "moscw~1",
    "class:secret", "year:2005..2009", "date:2009 AND tag:PREL", "date:>=2008-06", "* AND NOT *",
    "(tag:PREL OR tag:PGOV) AND NOT (moscow OR russia)", "NOT (tag:PREL OR moscow)", "fsb^2 OR moscow^0.5",
    '"human rights"^0.5 iran', "subject:russia", "entity:Intel", "redacted:yes AND class:confidential",
    "a* AND tag:PREL", "te?t", "refs:*", "para:s", "origin:moscow OR origin:secstate", "resum* dialog*",
    # patterns of two words in a segment, boosted: whoosh multiplies their sum, not each score
    "body:bet*^0.7", "body:amo*^1.1", "body:afg*^1.3", "gov*^0.3",
]


def _bench_queries() -> list[str]:
    lines = [line.rstrip("\n").split("\t") for line in BENCH_QUERIES.read_text(encoding="utf-8").splitlines()]
    return [parts[1] for parts in lines if len(parts) > 1 and not parts[0].startswith("#")
            and parts[0] in ("plain", "snippets", "wildcard", "fuzzy", "facets", "grep")]


def _walk(m) -> dict[int, float]:
    out = {}
    while m.is_active():
        out[m.id()] = m.score()
        m.next()
    return out


def _compiled(s, text):
    from cablesearch.errors import QueryError

    try:
        q, _, _ = prepare_query(text, s.schema, s.reader())
    except QueryError:
        return None
    return q


@pytest.mark.parametrize("which", ["fixture", "updated", "legacy", "small_blocks"])
def test_bulk_scores_are_the_matchers_scores(request, which):
    """``legacy``: an index in whoosh's own posting layout, as versions before ``codec.py`` built
    it, then updated by this one. ``small_blocks``: blocks of 4 postings, so a term's postings
    are read and decoded across many blocks, as a large index's common words are."""
    root = request.getfixturevalue(f"{which}_index_path")
    with open_index(root) as ix:
        s = ix.searcher()
        context = s.context(weighting=WEIGHTING)
        compared = unsupported = 0
        for text in [*QUERIES, *_bench_queries()]:
            q = _compiled(s, text)
            if q is None:
                continue
            for leaf, _ in s.leaf_searchers():
                got = segment_scores(leaf, q, context)
                if got is None:
                    unsupported += 1
                    continue
                assert got == _walk(q.matcher(leaf, context)), text
                compared += 1
        assert compared > 250 and unsupported == 0


@pytest.mark.parametrize("limit", [1, 3, 10, None])
def test_a_search_gives_the_same_page_and_total_with_or_without_bulk(updated_index_path, monkeypatch, limit):
    with open_index(updated_index_path) as ix:
        s = ix.searcher()
        queries = [q for q in (_compiled(s, t) for t in QUERIES) if q is not None]
        bulk = [ordering.ordered(s, q, "relevance", limit) for q in queries]
        masked = [ordering.ordered(s, q, "relevance", limit, mask={0, 1, 5}) for q in queries]
        monkeypatch.setattr(ordering, "_scored_in_bulk", lambda *a, **k: None)
        assert [ordering.ordered(s, q, "relevance", limit) for q in queries] == bulk
        assert [ordering.ordered(s, q, "relevance", limit, mask={0, 1, 5}) for q in queries] == masked
        assert any(total > 3 for total, _ in bulk)


RANGES = [
    ("date", datetime(2005, 1, 1), datetime(2009, 12, 31, 23, 59, 59), False, False),
    ("date", datetime(2008, 6, 1), None, False, False), ("date", None, datetime(2006, 1, 1), False, True),
    ("decl", datetime(2019, 1, 1), None, False, False), ("released", datetime(2011, 1, 1), None, True, False),
    ("year", 2005, 2008, False, False), ("year", 2009, 2009, False, False), ("redactions", 1, None, True, False),
    ("redactions", None, 0, False, False), ("decl", None, None, False, False),
]


@pytest.mark.parametrize(("field", "low", "high", "lowexcl", "highexcl"), RANGES)
@pytest.mark.parametrize("boost", [1.0, 2.5])
def test_ranges_match_and_score_as_whooshs(updated_index_path, field, low, high, lowexcl, highexcl, boost):
    """Date and number ranges list their matches in bulk (from the field's column: every one of
    these fields has one); whoosh's walk finds the same ones, all scored with the boost, deleted
    documents left out. A cable without the field's value (no DECL: line) is in none of them."""
    from whoosh import query as wq

    from cablesearch import bulk

    theirs_cls, ours_cls = ((wq.DateRange, bulk.DateRange) if isinstance(low or high, datetime)
                            else (wq.NumericRange, bulk.NumericRange))
    with open_index(updated_index_path) as ix:
        s = ix.searcher()
        matched = 0
        for leaf, _ in s.leaf_searchers():
            assert bulk.column_range(leaf.reader(), field, None, None, False, False) is not None
            for context in (s.context(weighting=WEIGHTING), s.boolean_context(), None):
                theirs = _walk(theirs_cls(field, low, high, lowexcl, highexcl, boost=boost).matcher(leaf, context))
                ours = _walk(ours_cls(field, low, high, lowexcl, highexcl, boost=boost).matcher(leaf, context))
                assert ours == theirs
                assert not set(ours) & set(leaf.reader().deleted_docs_set)
                matched += len(ours)
        assert matched


def test_term_documents_read_in_bulk_are_whooshs(updated_index_path):
    """Counts and facets take a term's documents from its postings blocks: the same set as
    whoosh's ``Term.docs``, deleted documents left out, for every term of several fields."""
    from whoosh import query as wq

    from cablesearch.bulk import term_docs

    with open_index(updated_index_path) as ix:
        s = ix.searcher()
        checked = 0
        for leaf, _ in s.leaf_searchers():
            reader = leaf.reader()
            for field in ("tag", "class", "org", "origin", "body"):
                for btext in list(reader.lexicon(field))[:300]:
                    text = btext.decode("utf-8")
                    assert term_docs(reader, field, text) == set(wq.Term(field, text).docs(leaf)), (field, text)
                    checked += 1
            assert term_docs(reader, "body", "nosuchwordatall") == set()
        assert checked > 500


@pytest.mark.parametrize("exclude", [False, True])
def test_a_filter_keeps_or_drops_what_whooshs_filter_matcher_does(updated_index_path, exclude):
    """whoosh's FilterMatcher (a search's ``filter=``/``mask=``, and a segment's deleted documents)
    around a term: each side evaluated from the smaller one, the same documents and scores."""
    from whoosh.matching import wrappers

    from cablesearch.bulk import _eval

    with open_index(updated_index_path) as ix:
        s = ix.searcher()
        context = s.context(weighting=WEIGHTING)
        q = _compiled(s, "tag:PREL OR moscow")
        checked = changed = 0
        for leaf, _ in s.leaf_searchers():
            every = _walk(q.matcher(leaf, context))
            for ids in (set(list(every)[::3]), set(range(leaf.doc_count_all())) - set(list(every)[:2]), set()):
                m = wrappers.FilterMatcher(q.matcher(leaf, context), frozenset(ids), exclude=exclude)
                want = _walk(wrappers.FilterMatcher(q.matcher(leaf, context), frozenset(ids), exclude=exclude))
                found = _eval(m, leaf.reader())
                docs = found.present.nonzero()[0].tolist()
                assert dict(zip(docs, found.scores[docs].tolist(), strict=True)) == want
                checked += 1
                changed += want != every
        assert checked >= 6 and changed >= 2


@pytest.mark.parametrize("field", ["date", "year"])
def test_a_range_bounded_by_values_in_the_index_matches_whooshs_at_each_end(updated_index_path, field):
    """Ranges that start and end exactly on values some cables have, each end in or out: the
    column's binary searches keep or drop those cables as whoosh's trie terms do."""
    from whoosh import query as wq

    from cablesearch import bulk

    theirs_cls, ours_cls = ((wq.DateRange, bulk.DateRange) if field == "date" else (wq.NumericRange, bulk.NumericRange))
    with open_index(updated_index_path) as ix:
        s = ix.searcher()
        values = sorted({f[field] for f in s.all_stored_fields() if f.get(field) is not None}
                        if field == "date" else {f["date"].year for f in s.all_stored_fields() if f.get("date")})
        assert len(values) >= 3
        bounds = [(values[0], values[-1]), (values[1], values[-2]), (values[1], values[1]), (None, values[1]),
                  (values[-2], None)]
        checked = 0
        for low, high in bounds:
            for lowexcl in (False, True):
                for highexcl in (False, True):
                    for leaf, _ in s.leaf_searchers():
                        theirs = _walk(theirs_cls(field, low, high, lowexcl, highexcl, boost=1.5).matcher(leaf))
                        ours = _walk(ours_cls(field, low, high, lowexcl, highexcl, boost=1.5).matcher(leaf))
                        assert ours == theirs, (low, high, lowexcl, highexcl)
                        mine = ours_cls(field, low, high, lowexcl, highexcl)
                        whooshs = theirs_cls(field, low, high, lowexcl, highexcl)
                        assert set(mine.docs(leaf)) == set(whooshs.docs(leaf)) == set(theirs)
                        gone = len(leaf.reader().deleted_docs_set)  # an estimate may count them
                        assert len(theirs) <= mine.estimate_size(leaf.reader()) <= len(theirs) + gone
                        checked += bool(theirs)
        assert checked >= 10


@pytest.mark.parametrize("compressed", [False, True])
def test_a_blocks_ids_and_weights_read_from_its_start_are_the_unpickled_ones(compressed):
    """Posting blocks laid out as whoosh 3 writes them (``dumps((ids, weights, values), 2)``,
    zlib or not): deltas of every width (K, M, J), weights None, one float or one each, positions
    as bytes. Reading only the start gives what unpickling all of it gives; a layout it does not
    know gives None (and the caller unpickles the whole block)."""
    import pickle
    import random
    import zlib

    from cablesearch.bulk import _ids_and_weights

    rng = random.Random(7)
    checked = 0
    for n in (1, 2, 5, 128):
        for top in (200, 60_000, 3_000_000):
            ids = tuple(rng.randrange(0, top) for _ in range(n))
            for weights in (None, 2.0, tuple(float(rng.randrange(1, 40)) for _ in range(n))):
                values = tuple(pickle.dumps([rng.randrange(0, 500) for _ in range(3)], 2) for _ in range(n))
                data = pickle.dumps((ids, weights, values), 2)
                raw = zlib.compress(data, 3) if compressed else data
                assert _ids_and_weights(raw, compressed, n) == (ids, weights)
                assert _ids_and_weights(raw, compressed, n + 1) is None  # a count that disagrees
                checked += 1
    odd = pickle.dumps(([1, 2, 3], None, ()), 2)  # ids as a list: not whoosh's layout
    assert _ids_and_weights(zlib.compress(odd) if compressed else odd, compressed, 3) is None
    assert checked == 36


def test_a_pattern_in_a_bulk_context_walks_as_whooshs_union(updated_index_path):
    """In a bulk context a pattern of more than two words answers with a ``TermUnion``: evaluated
    on first use, it walks like whoosh's pre-loaded union (the same matches and scores), a copy
    goes on from the same place, and probing an attribute does not restart it."""
    from cablesearch.bulk import TermUnion

    with open_index(updated_index_path) as ix:
        s = ix.searcher()
        context = s.context(weighting=WEIGHTING)
        q = _compiled(s, "gov*")
        walked = 0
        for leaf, _ in s.leaf_searchers():
            # the pattern's part for each field (body, subject...), whoosh's and ours
            theirs = list(_unions(q.matcher(leaf, context), lambda m: type(m).__name__ == "ArrayUnionMatcher"))
            ours = list(_unions(q.matcher(leaf, context.set(bulk=True)), lambda m: isinstance(m, TermUnion)))
            assert len(ours) == len(theirs)
            for m, whooshs in zip(ours, theirs, strict=True):
                assert _walk(m.copy()) == _walk(whooshs)
                m.next()
                m.next()
                here = m.id()
                assert not hasattr(m, "_nosuchattribute")
                assert m.id() == here
                assert _walk(m.copy()) == _walk(m)
                walked += 1
        assert walked


def _unions(m, wanted):
    if wanted(m):
        yield m
        return
    for child in m.children():
        yield from _unions(child, wanted)


@pytest.mark.parametrize("which", ["updated", "legacy"])
def test_a_term_in_a_bulk_context_walks_as_whooshs_matcher(request, which):
    """In a bulk context a term answers with a ``TermLeaf`` (its info looked up once): walked, it
    gives whoosh's matches and scores, deleted documents left out, and skips as whoosh's does."""
    from whoosh import query as wq

    from cablesearch import bulk

    with open_index(request.getfixturevalue(f"{which}_index_path")) as ix:
        s = ix.searcher()
        context = s.context(weighting=WEIGHTING)
        checked = 0
        for leaf, _ in s.leaf_searchers():
            for field, text, boost in [("body", "moscow", 1.0), ("body", "human", 0.7), ("tag", "prel", 1.0),
                                       ("org", "fsb", 2.0), ("body", "nosuchwordatall", 1.0)]:
                ours = bulk.Term(field, text, boost=boost).matcher(leaf, context.set(bulk=True))
                theirs = wq.Term(field, text, boost=boost).matcher(leaf, context)
                assert _walk(ours) == _walk(theirs), (field, text)
                ours = bulk.Term(field, text, boost=boost).matcher(leaf, context.set(bulk=True))
                theirs = wq.Term(field, text, boost=boost).matcher(leaf, context)
                every = _walk(wq.Term(field, text, boost=boost).matcher(leaf, context))
                if len(every) > 2:
                    target = sorted(every)[len(every) // 2]
                    ours.skip_to(target)
                    theirs.skip_to(target)
                    assert (ours.id(), ours.score()) == (theirs.id(), theirs.score())
                    checked += 1
        assert checked


def test_a_terms_size_estimate_is_whooshs_and_follows_a_copy(updated_index_path):
    """``bulk.Term`` keeps each segment's term info for its matcher; its size estimate (which
    shapes an OR's tree, so the order scores are added in) is whoosh's, and a copy given another
    text (whoosh's ``replace``) does not answer with the first text's info."""
    from whoosh import query as wq

    from cablesearch import bulk

    with open_index(updated_index_path) as ix:
        s = ix.searcher()
        for leaf, _ in s.leaf_searchers():
            reader = leaf.reader()
            for field, text in [("body", "moscow"), ("tag", "prel"), ("body", "nosuchwordatall"), ("nosuch", "x")]:
                assert bulk.Term(field, text).estimate_size(reader) == wq.Term(field, text).estimate_size(reader)
            q = bulk.Term("body", "moscow")
            q.estimate_size(reader)
            other = q.replace("body", "moscow", "russia")
            assert other.estimate_size(reader) == wq.Term("body", "russia").estimate_size(reader)
            assert q.estimate_size(reader) == wq.Term("body", "moscow").estimate_size(reader)
        whole = s.reader()  # several segments: whoosh's own estimate
        assert bulk.Term("body", "moscow").estimate_size(whole) == wq.Term("body", "moscow").estimate_size(whole)


@pytest.mark.parametrize("startexcl", [False, True])
@pytest.mark.parametrize("endexcl", [False, True])
def test_a_range_of_terms_lists_whooshs_documents(updated_index_path, startexcl, endexcl):
    """A numeric range's documents are read from one ordered walk of the term table: the same
    documents as whoosh's ``TermRange`` and ``Term`` queries, each end in or out, deleted
    documents left out (here on the tags, whose terms are easy to pick ends from)."""
    from whoosh import query as wq

    from cablesearch.bulk import _range_docs

    with open_index(updated_index_path) as ix:
        s = ix.searcher()
        checked = 0
        for leaf, _ in s.leaf_searchers():
            reader = leaf.reader()
            tags = sorted(reader.lexicon("tag"))
            assert len(tags) > 6
            for low, high in [(tags[1], tags[-2]), (tags[2], tags[2]), (None, tags[3]), (tags[-3], None)]:
                q = wq.TermRange("tag", low, high, startexcl=startexcl, endexcl=endexcl)
                assert _range_docs(q, reader).tolist() == sorted(set(q.docs(leaf))), (low, high)
                both = wq.Or([q, wq.Term("tag", tags[0]), wq.Term("tag", b"nosuchtag")])
                assert _range_docs(both, reader).tolist() == sorted(set(both.docs(leaf)))
                checked += 1
        assert checked


def test_a_span_query_over_bulk_terms_falls_back_to_whooshs_walk(updated_index_path):
    """A span query (not made by the query language, but a script may pass one) needs posting
    values a bulk term does not keep: bulk evaluation declines it, and the search walks whoosh's
    matchers, with whoosh's answer."""
    from whoosh.query import spans

    from cablesearch import bulk

    with open_index(updated_index_path) as ix:
        s = ix.searcher()
        context = s.context(weighting=WEIGHTING)
        q = spans.SpanNear(bulk.Term("body", "human"), bulk.Term("body", "right"))
        for leaf, _ in s.leaf_searchers():
            assert segment_scores(leaf, q, context) is None
        theirs = spans.SpanNear(wq_term("body", "human"), wq_term("body", "right"))
        assert ordering.ordered(s, q, "relevance", 10) == ordering.ordered(s, theirs, "relevance", 10)
        assert ordering.ordered(s, q, "relevance", 10)[0] > 0


def wq_term(field, text):
    from whoosh import query as wq

    return wq.Term(field, text)


def test_bulk_scores_without_a_search_context_use_the_searchers_weighting(updated_index_path):
    """``segment_scores(leaf, q, None)``: as whoosh's matcher with no context, the searcher's own
    weighting scores (the index's searcher uses cablesearch's BM25F)."""
    with open_index(updated_index_path) as ix:
        s = ix.searcher()
        q = _compiled(s, "moscow OR tag:PREL")
        for leaf, _ in s.leaf_searchers():
            assert segment_scores(leaf, q, None) == _walk(q.matcher(leaf, None))


def test_a_length_column_that_stops_early_is_read_in_bulk(fixture_cables, tmp_path):
    """whoosh's length column of a field stops after the last document with a length in it; the
    documents past its end read as no length. Bulk scoring reads the same bytes (it used to
    fall back to a slow path for such a segment: half the segments of a large build)."""
    from whoosh import index as whoosh_index

    from cablesearch.engine import to_whoosh, whoosh_schema
    from cablesearch.schema import to_document
    from cablesearch.sources import discover, load_cable
    from cablesearch.weighting import field_length_codes

    docs = []
    for raw in list(discover([fixture_cables]))[:12]:
        cable, sha1 = load_cable(raw)
        docs.append(to_whoosh(to_document(cable, content_hash=sha1)))
    with_para = [d for d in docs if d.get("para")]
    without = [{k: v for k, v in d.items() if k != "para"} for d in docs if not d.get("para")][:3]
    assert len(with_para) >= 3
    if not without:
        without = [{k: v for k, v in docs[0].items() if k != "para"}]
    ix = whoosh_index.create_in(str(tmp_path), whoosh_schema())
    w = ix.writer()
    for d in [*with_para, *without]:  # the last documents have no para
        w.add_document(**d)
    w.commit()
    with ix.searcher(weighting=WEIGHTING) as s:
        reader = s.reader()
        codes = field_length_codes(reader, "para")
        assert codes is not None and len(codes) == reader.doc_count_all()
        assert [reader.doc_field_length(d, "para") for d in range(len(codes))] == \
            [reader.doc_field_length(d, "para") if b else None for d, b in enumerate(codes)]
        assert not codes[-1]
        word = next(iter(reader.lexicon("para"))).decode()
        q = _compiled(s, f"para:{word}")
        context = s.context(weighting=WEIGHTING)
        got = segment_scores(s, q, context)
        assert got and got == _walk(q.matcher(s, context))


def test_dropping_deleted_documents_by_search_drops_what_the_mask_drops():
    """Few deleted documents are looked for in a posting list by binary search, many through the
    segment's mask: either way exactly the deleted ones go, and the scores stay with their ids."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from cablesearch import bulk

    class Segment:  # what _without_deleted reads of a segment reader
        def __init__(self, n, gone):
            self.n, self.deleted_docs_set = n, frozenset(gone)

        def doc_count_all(self):
            return self.n

        def has_deletions(self):
            return bool(self.deleted_docs_set)

    @settings(max_examples=300, deadline=None)
    @given(st.sets(st.integers(0, 499), max_size=300), st.sets(st.integers(0, 499), max_size=40))
    def check(ids, gone):
        listed = np.array(sorted(ids), dtype=np.int64)
        scores = listed * 0.5 + 1
        got_ids, got_scores = bulk._without_deleted(Segment(500, gone), listed, scores)
        want = np.array([i for i in sorted(ids) if i not in gone], dtype=np.int64)
        assert got_ids.tolist() == want.tolist()
        assert got_scores.tolist() == (want * 0.5 + 1).tolist()

    check()


@pytest.mark.parametrize("text", ["moscow", "tag:PREL OR russia", '"human rights"', "nosuchword"])
def test_a_not_in_a_bulk_search_is_worked_out_from_its_querys_arrays(updated_index_path, text):
    """``NOT q`` in a bulk search: every live document but ``q``'s, each scored 1.0 (as whoosh's
    ``InverseMatcher``), from ``q``'s own lazy matchers, not whoosh's walk of them."""
    from whoosh import matching

    with open_index(updated_index_path) as ix:
        s = ix.searcher()
        inner = _compiled(s, text)
        assert inner is not None
        checked = 0
        for leaf, _ in s.leaf_searchers():
            context = s.context(weighting=WEIGHTING)
            ours = bulk.Not(inner).matcher(leaf, context.set(bulk=True))
            assert type(ours) is bulk._Excluded
            theirs = bulk.Not(inner).matcher(leaf, context)
            assert type(theirs) is matching.InverseMatcher
            assert _walk(ours) == _walk(theirs)
            reader = leaf.reader()
            gone = set(reader.deleted_docs_set) if reader.has_deletions() else set()
            inside = set(_walk(inner.matcher(leaf, context)))
            assert set(_walk(bulk.Not(inner).matcher(leaf, context.set(bulk=True)))) == (
                set(range(reader.doc_count_all())) - inside - gone)
            checked += bool(gone)
        assert checked  # a segment with deleted documents was among them
