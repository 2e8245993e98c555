"""Query fuzzing (issue 8): any text gives a query or a QueryError, never anything else, in under 1 s.

- 100,000 generated queries (``tests/fuzz_queries.py``: seeds from syntax.md and the golden
  files, their mutations and splices, token soup, random text, deep nesting, a few huge inputs)
  are parsed AND compiled; those that parse are printed canonically and parsed back to the same AST.
- 400 distinct ones of those that compile, and 40 that do not, run through the real search
  (parse, compile with the expansion check, search, snippets) on an index of the fixture cables.
- A list of hostile queries found while fuzzing stays here as a regression test, each against the index.
- A hypothesis test over the same vocabulary, for shrinking when something fails.

Time: a query's cost is measured in CPU seconds of this process (``time.process_time``) so that a
loaded machine does not fail the test; the wall-clock slowest is reported too. A query over the
limit is timed again (best of 3) before it fails the test. The bulk and the sample are shared out
to 2 processes (``CABLESEARCH_FUZZ_JOBS``), each with its own seed. Set ``CABLESEARCH_FUZZ_SEED``
to run other queries, ``CABLESEARCH_FUZZ_QUERIES`` to run more or fewer.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fuzz_queries import (
    ALPHABET,
    CONTROLS,
    OPERATORS,
    PHRASES,
    PUNCT,
    RANGES,
    SUFFIXES,
    WORDS,
    QueryFuzzer,
    seed_queries,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh import query as wq

from cablesearch.errors import QueryError
from cablesearch.query import compile_query, parse_query, to_query_string

SEED = int(os.environ.get("CABLESEARCH_FUZZ_SEED", "8"))
BULK = int(os.environ.get("CABLESEARCH_FUZZ_QUERIES", "100000"))
#: Distinct queries that compile (then a tenth as many that do not) searched on the index. The
#: file's cost is mostly the 100,000 parses and compiles (about 13 s of CPU, two thirds of it in lark's
#: parser); a search costs 1 ms for most queries and up to 200 ms for fuzzy and leading-wildcard ones,
#: about 6 ms on average. With 400 the whole file takes about 20 s of CPU: under 30 s of wall time on
#: this 2-core machine at load 4 (800 took 42 s). Set CABLESEARCH_FUZZ_ON_INDEX=2000 for more.
ON_INDEX = int(os.environ.get("CABLESEARCH_FUZZ_ON_INDEX", "400"))
ERRORS_ON_INDEX = ON_INDEX // 10
#: Processes sharing the bulk and the sample (``CABLESEARCH_FUZZ_JOBS=1``: all in this one).
JOBS = int(os.environ.get("CABLESEARCH_FUZZ_JOBS", "2"))
#: Most CPU seconds one query may take (parse + compile; or the whole search on the index).
LIMIT = 1.0
SEEDS = seed_queries()


def _search_fn(ix) -> Callable[[str], object]:
    """The index's own ``search`` (what the CLI calls) if it has one yet, else the engine function."""
    method = getattr(ix, "search", None)
    if method is not None:
        return lambda text: method(text, limit=5)
    from cablesearch import search as engine

    return lambda text: engine.search(ix, text, limit=5)


def parse_and_compile(text: str) -> str:
    """``"ok"`` or ``"error"`` (a QueryError); anything else propagates."""
    try:
        query = parse_query(text)
    except QueryError as e:
        _check_error(e, text)
        return "error"
    try:
        compiled = compile_query(query)
    except QueryError as e:
        _check_error(e, text)
        return "error"
    assert isinstance(compiled, wq.Query), (text, compiled)
    return "ok"


def _check_error(e: QueryError, text: str) -> None:
    assert 0 <= e.start <= e.end <= len(text) + 1, (text, e.start, e.end)
    assert str(e)


def round_trip(text: str) -> None:
    node = parse_query(text).node
    canonical = to_query_string(node)
    assert parse_query(canonical).node == node, (text, canonical)


def cpu_seconds(fn: Callable[[], object]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of ``fn()``; exceptions propagate."""
    c, w = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - c, time.perf_counter() - w


def best_of_3(fn: Callable[[], object]) -> float:
    return min(cpu_seconds(fn)[0] for _ in range(3))


class Timing:
    """The slowest queries seen, and those over the limit after re-timing."""

    def __init__(self) -> None:
        self.slowest_cpu = (0.0, "")
        self.slowest_wall = (0.0, "")
        self.over: list[tuple[float, str]] = []

    def run(self, text: str, fn: Callable[[], object]) -> None:
        cpu, wall = cpu_seconds(fn)
        if cpu > LIMIT:
            cpu = best_of_3(fn)
            if cpu > LIMIT:
                self.over.append((cpu, text))
        self.slowest_cpu = max(self.slowest_cpu, (cpu, text))
        self.slowest_wall = max(self.slowest_wall, (wall, text))

    def merge(self, other: Timing) -> None:
        self.slowest_cpu = max(self.slowest_cpu, other.slowest_cpu)
        self.slowest_wall = max(self.slowest_wall, other.slowest_wall)
        self.over += other.over

    def report(self) -> str:
        return (f"slowest: {self.slowest_cpu[0]:.3f} s CPU {self.slowest_cpu[1][:80]!r}; "
                f"{self.slowest_wall[0]:.3f} s wall {self.slowest_wall[1][:80]!r}")


# --------------------------------------------------------------------------- the bulk


@dataclass
class Share:
    """What one worker found: the parse/compile run over its queries, then its sample on the index."""

    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)
    failures: list[tuple[str, str]] = field(default_factory=list)
    timing: Timing = field(default_factory=Timing)
    seconds: float = 0.0
    on_index: Counter[str] = field(default_factory=Counter)
    index_failures: list[tuple[str, str]] = field(default_factory=list)
    index_timing: Timing = field(default_factory=Timing)
    index_seconds: float = 0.0
    compiled_on_index: int = 0


def fuzz_share(seed: int, count: int, on_index: int, errors_on_index: int, index_path: str) -> Share:
    """``count`` queries from ``QueryFuzzer(seed)`` parsed and compiled; the first ``on_index`` that
    compile and ``errors_on_index`` that do not then searched on the index at ``index_path``."""
    share = Share()
    fuzzer = QueryFuzzer(seed, SEEDS)
    compiled: list[str] = []
    sampled: set[str] = set()
    errors: list[str] = []
    start = time.perf_counter()
    for i in range(count):
        text = fuzzer.query()
        kind = fuzzer.kind
        result: list[str] = []

        def one(text: str = text, result: list[str] = result) -> None:
            result.append(parse_and_compile(text))

        try:
            share.timing.run(text, one)
        except Exception as e:
            share.failures.append((text, f"{type(e).__name__}: {e}"))
            continue
        share.outcomes[kind, result[-1]] += 1
        if result[-1] == "ok":
            if i % 8 == 0:
                try:
                    round_trip(text)
                except Exception as e:
                    share.failures.append((text, f"round trip: {type(e).__name__}: {e}"))
            if len(compiled) < on_index and kind != "huge" and text not in sampled:
                compiled.append(text)
                sampled.add(text)
        elif len(errors) < errors_on_index and kind != "huge" and i % 7 == 0:
            errors.append(text)
    share.seconds = time.perf_counter() - start
    share.compiled_on_index = len(compiled)

    from cablesearch.index import open_index

    start = time.perf_counter()
    with open_index(index_path) as ix:
        search = _search_fn(ix)
        for text in compiled + errors:
            def on_ix(text: str = text) -> None:
                try:
                    results = search(text)
                except QueryError as e:
                    _check_error(e, text)
                    share.on_index["error"] += 1
                    return
                share.on_index["found" if results.total else "nothing"] += 1
                assert len(results.hits) <= 5

            try:
                share.index_timing.run(text, on_ix)
            except Exception as e:
                share.index_failures.append((text, f"{type(e).__name__}: {e}"))
    share.index_seconds = time.perf_counter() - start
    return share


@pytest.fixture(scope="module")
def bulk(fixture_index_path: Path) -> Share:
    """BULK generated queries, shared out to JOBS processes (each with its own seed and the index open
    on its own): the machine has 2 cores, and under load 2 processes get twice the CPU. (spawn, not
    fork: a fork would copy the locks other tests' threads may hold.)"""
    jobs = max(1, min(JOBS, os.cpu_count() or 1))
    args = [(SEED * 100 + j, BULK // jobs + (j < BULK % jobs), ON_INDEX // jobs + (j < ON_INDEX % jobs),
             ERRORS_ON_INDEX // jobs, str(fixture_index_path)) for j in range(jobs)]
    if jobs == 1:
        shares = [fuzz_share(*args[0])]
    else:  # the first share here, the others in worker processes at the same time
        with ProcessPoolExecutor(jobs - 1, mp_context=multiprocessing.get_context("spawn")) as pool:
            others = [pool.submit(fuzz_share, *a) for a in args[1:]]
            shares = [fuzz_share(*args[0]), *(f.result() for f in others)]
    total = Share()
    for s in shares:
        total.outcomes += s.outcomes
        total.failures += s.failures
        total.timing.merge(s.timing)
        total.seconds = max(total.seconds, s.seconds)
        total.on_index += s.on_index
        total.index_failures += s.index_failures
        total.index_timing.merge(s.index_timing)
        total.index_seconds = max(total.index_seconds, s.index_seconds)
        total.compiled_on_index += s.compiled_on_index
    return total


def _shown(failures: list[tuple[str, str]]) -> str:
    return "\n".join(f"  {text[:200]!r}: {why}" for text, why in failures[:20])


def test_generated_queries_give_a_query_or_a_query_error(bulk, record_property):
    total = sum(bulk.outcomes.values()) + len(bulk.failures)
    assert total == BULK
    assert not bulk.failures, f"{len(bulk.failures)} queries raised something else than QueryError:\n" \
                              f"{_shown(bulk.failures)}"
    # the generators reach both sides: plenty of valid queries and plenty of errors, of every kind
    kinds = {kind for kind, _ in bulk.outcomes}
    assert {"seed", "mutation", "splice", "tokens", "random", "nesting"} <= kinds
    ok = sum(n for (_, result), n in bulk.outcomes.items() if result == "ok")
    assert 0.1 * BULK < ok < 0.9 * BULK, bulk.outcomes
    record_property("bulk_seconds", round(bulk.seconds, 1))
    record_property("valid_queries", ok)


def test_no_generated_query_takes_a_second(bulk, record_property):
    record_property("slowest_parse_compile", bulk.timing.report())
    print(f"\n{BULK:,} queries parsed and compiled in {bulk.seconds:.1f} s; {bulk.timing.report()}")
    assert not bulk.timing.over, f"over {LIMIT} s: {[(round(s, 2), t[:100]) for s, t in bulk.timing.over]}"
    assert bulk.timing.slowest_cpu[0] < LIMIT


def test_a_sample_runs_on_the_index(bulk, record_property):
    """What compiles also searches: the expansion check, the search and the snippets raise only
    QueryError (e.g. a prefix that stands for too many words) and stay under the limit."""
    record_property("slowest_search", bulk.index_timing.report())
    print(f"\n{sum(bulk.on_index.values()):,} queries on the index in {bulk.index_seconds:.1f} s; "
          f"{dict(bulk.on_index)}; {bulk.index_timing.report()}")
    assert bulk.compiled_on_index == ON_INDEX
    assert not bulk.index_failures, f"{len(bulk.index_failures)} searches raised something else than " \
                                    f"QueryError:\n{_shown(bulk.index_failures)}"
    over = bulk.index_timing.over
    assert not over, f"over {LIMIT} s: {[(round(s, 2), t[:100]) for s, t in over]}"
    assert bulk.on_index["found"] > 100


# --------------------------------------------------------------------------- hostile queries

HOSTILE = [
    # found by this fuzzer: each raised something else than QueryError, or took seconds (the times: on the
    # 41-cable fixture index, before the fixes in query/parser.py and query/compile.py)
    "\ud800*an\x00\"intel waiver\"",                        # UnicodeEncodeError in whoosh (argv bytes not UTF-8)
    "\udcff",
    " ".join(f"-w{i}" for i in range(999)),                  # RecursionError in whoosh's And
    " ".join(["embassy"] * 999),                             # RecursionError; 500 terms took 4.7 s
    " ".join(f"w{i}" for i in range(999)),
    " OR ".join(["org:*"] * 999),                            # 45 s
    " OR ".join(["se*"] * 999),                              # 26 s
    "a" * 5000 + "~2",                                       # 14 s
    " ".join(["date:2009..2010"] * 600),                     # 8 s
    " ".join(f"*a{i}" for i in range(50)),                   # 2.8 s
    " OR ".join(f"zq{i}abcd~2" for i in range(50)),          # 1.3 s
    # limits, at and over them
    "(" * 32 + "intel" + ")" * 32,
    "(" * 33 + "intel" + ")" * 33,
    "NOT " * 31 + "*stan",
    "-" * 9999 + "a",
    "NOT " * 2499 + "a",
    "(" * 5000 + "a" + ")" * 4999,
    "org:(" * 40 + "a" + ")" * 40,
    '"' + "intel " * 1660 + '"',
    'body:"' + "secretary state " * 600 + '"~50',
    "x" * 9999,
    "x" * 10_001,
    "*?" * 4999,
    "?" * 9999,
    '"' * 9999,
    "[" * 9999,
    "\\" * 9999,
    "中" * 9999,
    "\t" * 9999,
    " OR ".join(["*"] * 999),
    " OR ".join(f"w{i}" for i in range(999)),
    " ".join(["e" * 32 + "~2"] * 4),
    " ".join(f"s{i}tate~2" for i in range(4)),
    " ".join(f"*a{i}" for i in range(4)),
    " ".join(f"s{i}tate~2" for i in range(5)),
    " OR ".join(f"*a{i}" for i in range(5)),
    " ".join(["date:1900..2100"] * 20),
    "a" * 32 + "~2",
    "a" * 33 + "~2",
    "*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*q",
    "path:*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*q",
    "\x1b[2J\x1b]0;pwned\x07 \x9b31m",
]


@pytest.mark.parametrize("text", HOSTILE, ids=[f"{i:02d}:{t[:24]!r}" for i, t in enumerate(HOSTILE)])
def test_hostile_queries(text, module_index):
    search = _search_fn(module_index)
    timing = Timing()

    def one() -> None:
        try:
            search(text)
        except QueryError as e:
            _check_error(e, text)

    timing.run(text, one)
    assert not timing.over, timing.report()


def test_long_ands_find_what_their_parts_find(fixture_index):
    """An AND of more than MAX_AND_CHILDREN parts is compiled as nested groups, its NOTs merged into one
    (whoosh chains an And's matchers: 1,000 parts overflowed the stack); it still means every part."""
    from cablesearch import search as engine
    from cablesearch.query.compile import MAX_AND_CHILDREN

    def refs(text: str) -> set[str]:
        return {h.ref for h in engine.search(fixture_index, text, limit=100, snippets=0).hits}

    words = ["embassy", "government", "minister", "said", "officials", "ambassador", "political", "would"]
    words = [w for w in words if refs(w)]
    negated = ["moscow", "iran", "waiver", "crypto", "zzzunknown"] * 4
    parts = words * 3 + [f"-{w}" for w in negated]
    assert len(parts) > MAX_AND_CHILDREN
    expected = set.intersection(*(refs(w) for w in words)) - set.union(*(refs(w) for w in negated))
    assert refs(" ".join(parts)) == expected
    assert refs(" ".join(f"-{w}" for w in negated)) == refs("*") - set.union(*(refs(w) for w in negated))


def test_the_new_limits_are_documented():
    from cablesearch.query import MAX_FUZZY_LENGTH, MAX_PATTERNS, MAX_RANGES, MAX_TOTAL_EXPANSION, syntax_reference

    doc = syntax_reference()
    limits = doc[doc.index("## Limits"):doc.index("## Errors")]
    for value in (f"at most {MAX_PATTERNS} prefixes", f"at most {MAX_RANGES}\ndate and number terms",
                  f"at most\n{MAX_TOTAL_EXPANSION:,}", f"at most {MAX_FUZZY_LENGTH} characters"):
        assert value in limits, value


# --------------------------------------------------------------------------- hypothesis

TOKEN = st.one_of(
    st.sampled_from(WORDS), st.sampled_from(PHRASES), st.sampled_from(RANGES), st.sampled_from(OPERATORS),
    st.sampled_from(PUNCT), st.sampled_from(CONTROLS),
    st.builds(lambda f, v: f + v, st.sampled_from(["org:", "date:", "year:", "tag:", "per:", "orgg:", "ref:"]),
              st.sampled_from(WORDS + PHRASES + RANGES + [">=2009", "2008..2009", "("])),
    st.builds(lambda w, s: w + s, st.sampled_from(WORDS + PHRASES), st.sampled_from(SUFFIXES)),
    st.text(st.sampled_from(ALPHABET), min_size=1, max_size=6),
)
token_soup = st.builds(lambda parts, sep: sep.join(parts), st.lists(TOKEN, max_size=14),
                       st.sampled_from([" ", "", "\t"]))


@st.composite
def mutated_seeds(draw):
    text = draw(st.sampled_from(SEEDS))
    for pos, op, payload in draw(st.lists(st.tuples(st.integers(0, 200), st.sampled_from("idrxn"), TOKEN), max_size=4)):
        i = pos % (len(text) + 1)
        if op == "i":
            text = text[:i] + payload + text[i:]
        elif op == "d":
            text = text[:i] + text[i + len(payload):]
        elif op == "r":
            text = text[:i] + payload + text[i + 1:]
        elif op == "x":
            text = text[:i] + text[i:i + 4] * 3 + text[i + 4:]
        else:
            text = "(" * (pos % 40) + text + ")" * (pos % 37)
    return text


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(token_soup, mutated_seeds(), st.text(st.sampled_from(ALPHABET), max_size=50)))
def test_hypothesis_queries_give_a_query_or_a_query_error(text):
    cpu, _ = cpu_seconds(lambda: parse_and_compile(text))
    if cpu > LIMIT:
        assert best_of_3(lambda: parse_and_compile(text)) < LIMIT, text
    if parse_and_compile(text) == "ok":
        round_trip(text)


@pytest.fixture(scope="module")
def module_index(fixture_index_path: Path):
    from cablesearch.index import open_index

    with open_index(fixture_index_path) as ix:
        yield ix


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(text=st.one_of(token_soup, mutated_seeds()))
def test_hypothesis_queries_search_or_raise_query_errors(text, module_index):
    search = _search_fn(module_index)
    try:
        cpu, _ = cpu_seconds(lambda: search(text))
    except QueryError:
        return
    if cpu > LIMIT:
        assert best_of_3(lambda: search(text)) < LIMIT, text
