"""Properties: printing then parsing gives the same AST; no text makes the query layer raise
anything but QueryError; the lexer never raises."""

from __future__ import annotations

import calendar
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cablesearch import schema
from cablesearch.errors import QueryError
from cablesearch.query import (
    And,
    Boost,
    DateRange,
    Fuzzy,
    MatchAll,
    Not,
    NumberRange,
    Or,
    PartialDate,
    Phrase,
    Prefix,
    Term,
    Wildcard,
    compile_query,
    lex,
    parse_query,
    to_query_string,
)
from cablesearch.query.ast import walk

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                            HealthCheck.filter_too_much])

WORD_FIELDS = [f.name for f in schema.FIELDS if f.kind in ("text", "entity", "keyword", "id")]
DATE_FIELDS = [f.name for f in schema.FIELDS if f.kind == "date"]
NUMBER_FIELDS = [f.name for f in schema.FIELDS if f.kind == "number"]


def is_word(text: str) -> bool:
    """One WORD token of the grammar (so not AND/OR/NOT, which lex as operators)."""
    return lex(text) == [("WORD", 0, len(text))]


WORD_CHARS = st.sampled_from("abcXYZ019éß中-._'/&|!")
plain_words = st.text(WORD_CHARS, min_size=1, max_size=8).filter(lambda w: "*" not in w and is_word(w))
wild_words = st.text(st.one_of(WORD_CHARS, st.sampled_from("*?")), min_size=1, max_size=8).filter(
    lambda w: ("*" in w or "?" in w) and w != "*" and not (w.endswith("*") and "*" not in w[:-1] and "?" not in w)
    and is_word(w))
word_field = st.one_of(st.none(), st.sampled_from(WORD_FIELDS))


@st.composite
def partial_dates(draw):
    year = draw(st.integers(1, 9999))
    month = draw(st.one_of(st.none(), st.integers(1, 12)))
    day = None if month is None else draw(st.one_of(st.none(), st.integers(1, calendar.monthrange(year, month)[1])))
    return PartialDate(year, month, day)


@st.composite
def date_ranges(draw):
    low, high = draw(st.one_of(st.none(), partial_dates())), draw(st.one_of(st.none(), partial_dates()))
    if low is not None and high is not None and low.first() > high.last():
        low, high = high, low
        assume(low.first() <= high.last())
    return DateRange(draw(st.sampled_from(DATE_FIELDS)), low, high,
                     low is None or draw(st.booleans()), high is None or draw(st.booleans()))


@st.composite
def number_ranges(draw):
    low, high = (draw(st.one_of(st.none(), st.integers(0, 2**32 - 1))) for _ in range(2))
    if low is not None and high is not None and low > high:
        low, high = high, low
    return NumberRange(draw(st.sampled_from(NUMBER_FIELDS)), low, high,
                       low is None or draw(st.booleans()), high is None or draw(st.booleans()))


phrase_text = st.text(min_size=1, max_size=12).filter(lambda t: t.strip())
leaves = st.one_of(
    st.builds(Term, word_field, plain_words),
    st.builds(Phrase, word_field, phrase_text, st.one_of(st.none(), st.integers(0, 50))),
    st.builds(Prefix, word_field, plain_words),
    st.builds(Prefix, st.sampled_from(WORD_FIELDS), st.just("")),
    st.builds(Wildcard, word_field, wild_words),
    st.builds(Fuzzy, word_field, plain_words, st.sampled_from([1, 2])),
    st.just(MatchAll()),
    date_ranges(),
    number_ranges(),
)
factors = st.floats(min_value=1e-6, max_value=1000, allow_nan=False, allow_infinity=False).filter(lambda x: x > 0)


def extend(children):
    items = st.lists(children, min_size=2, max_size=4).map(tuple)
    return st.one_of(st.builds(And, items), st.builds(Or, items), st.builds(Not, children),
                     st.builds(Boost, children, factors))


asts = st.recursive(leaves, extend, max_leaves=10)


def nesting(node) -> int:
    if isinstance(node, And | Or):
        return max(nesting(i) for i in node.items) + 1  # may need parentheses
    if isinstance(node, Not | Boost):
        return nesting(node.item if isinstance(node, Not) else node.node) + 1
    return 0


@SETTINGS
@given(asts)
def test_round_trip(ast):
    assume(nesting(ast) <= 16)
    text = to_query_string(ast)
    assert parse_query(text).node == ast, text
    assert to_query_string(parse_query(text).node) == text


QUERY_CHARS = st.sampled_from([*'abc XYZ019()":^~[]{}<>=.*?-!&|\\\t\n', "AND", "OR", "NOT", "TO", "org:", "date:",
                                "year:", "tag:", "2009"])
query_like = st.lists(QUERY_CHARS, max_size=30).map("".join)


def check_only_query_errors(text: str) -> None:
    try:
        query = parse_query(text)
    except QueryError as e:
        assert 0 <= e.start <= e.end <= len(text) + 1
        str(e)
        return
    assert parse_query(to_query_string(query.node)).node == query.node
    try:
        compile_query(query)
    except QueryError:
        pass


@SETTINGS
@given(st.one_of(st.text(max_size=60), query_like))
def test_any_text_raises_only_query_errors(text):
    check_only_query_errors(text)


GOLDEN = [line[3:] for path in (Path(__file__).parent / "golden" / "queries").glob("*.txt")
          for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("q: ")]


@st.composite
def mutated(draw):
    text = draw(st.sampled_from(GOLDEN))
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace", "duplicate"]))
        char = draw(QUERY_CHARS)
        if op == "insert":
            text = text[:i] + char + text[i:]
        elif op == "delete":
            text = text[:i] + text[i + 1:]
        elif op == "replace":
            text = text[:i] + char + text[i + 1:]
        else:
            text = text[:i] + text[i:] * 2
    return text


@SETTINGS
@given(mutated())
def test_mutated_queries_raise_only_query_errors(text):
    check_only_query_errors(text)


@SETTINGS
@given(st.one_of(st.text(max_size=60), query_like, mutated()))
def test_lex_never_raises_and_tokens_are_ordered(text):
    tokens = lex(text)
    position = 0
    for kind, start, end in tokens:
        assert isinstance(kind, str)
        assert position <= start < end <= len(text)
        position = end
    assert all(kind != "ERROR" or end == len(text) or text[start:end].endswith(":") for kind, start, end in tokens)


@SETTINGS
@given(asts)
def test_generated_asts_compile(ast):
    """Any AST the parser can produce compiles to a whoosh query or says why not."""
    assume(nesting(ast) <= 16)
    try:
        q = compile_query(ast)
    except QueryError:
        return
    assert q is not None
    assert all(n is not None for n in walk(ast))
