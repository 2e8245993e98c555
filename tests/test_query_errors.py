"""Every kind of query error: its type, its message and where the caret goes."""

from __future__ import annotations

import pytest

from cablesearch.errors import QueryError, QueryLimitError, QuerySyntaxError, UnknownFieldError
from cablesearch.query import compile_query, parse_query

SYNTAX, UNKNOWN, LIMIT = QuerySyntaxError, UnknownFieldError, QueryLimitError

# (query, error type, message, start, end): start is the caret's column (0-based), end - start its width.
CASES = [
    ("", SYNTAX, "empty query", 0, 0),
    ("   ", SYNTAX, "empty query", 0, 3),
    # fields
    ("orgg:FSB", UNKNOWN, "unknown field 'orgg' -- did you mean 'org'?", 0, 4),
    ("x:y", UNKNOWN, "unknown field 'x'", 0, 1),
    ("iran tagz:PREL", UNKNOWN, "unknown field 'tagz' -- did you mean 'tag'?", 5, 9),
    ("tag:(org:x)", SYNTAX, "'org:' inside 'tag:(...)': a field group holds plain terms", 5, 9),
    ("org:", SYNTAX, "expected a value after 'org:'", 4, 5),
    ("org:tag:x", SYNTAX, "expected a value after 'org:', found 'tag:'", 4, 8),
    ("a :b", SYNTAX, "unexpected ':'; a field name goes right before it, as in org:FSB", 2, 3),
    # structure
    ("(iran OR iraq", SYNTAX, "expected ')'", 13, 14),
    ("iran)", SYNTAX, "unmatched ')'", 4, 5),
    ("()", SYNTAX, "empty parentheses", 0, 2),
    ("iran AND", SYNTAX, "expected a term after 'AND'", 8, 9),
    ("iran AND  ", SYNTAX, "expected a term after 'AND'", 10, 11),
    ("iran OR OR iraq", SYNTAX, "expected a term after 'OR', found 'OR'", 8, 10),
    ("x AND )", SYNTAX, "expected a term after 'AND', found ')'", 6, 7),
    ("OR iran", SYNTAX, "expected a term, found 'OR'", 0, 2),
    ("NOT", SYNTAX, "expected a term after 'NOT'", 3, 4),
    ("iran -", SYNTAX, "expected a term after '-'", 6, 7),
    ("fsb^2^3", SYNTAX, "unexpected '^3'; '^' goes right after a term, once", 5, 7),
    ("(fsb)~2", SYNTAX,
     "unexpected '~2'; '~' goes right after a word (beyrle~) or a phrase (\"intel waiver\"~5)", 5, 7),
    ("iran ] x", SYNTAX, "unexpected ']'; a range looks like [2008 TO 2009]", 5, 6),
    ("a\\b", SYNTAX, "unexpected '\\'; backslash escapes work only inside quotes", 1, 2),
    # phrases and modifiers
    ('"crypto importation', SYNTAX, "unterminated phrase", 0, 19),
    ('iran "crypto', SYNTAX, "unterminated phrase", 5, 12),
    ('""', SYNTAX, "empty phrase", 0, 2),
    ('"intel waiver"~', SYNTAX, 'proximity must be a whole number from 0 to 50, as in "intel waiver"~5', 14, 15),
    ('"intel waiver"~51', SYNTAX, 'proximity must be a whole number from 0 to 50, as in "intel waiver"~5', 14, 17),
    ("fsb~3", SYNTAX, "fuzzy distance must be 1 or 2", 3, 5),
    ("fsb*~", SYNTAX, "a word cannot be both a wildcard and fuzzy", 4, 5),
    ("fsb^", SYNTAX, "expected a number after '^'", 3, 4),
    ("fsb^0", SYNTAX, "boost must be more than 0 and at most 1000", 3, 5),
    ("fsb^1001", SYNTAX, "boost must be more than 0 and at most 1000", 3, 8),
    # dates and numbers
    ("date:2009-13", SYNTAX, "bad date '2009-13': month 13 is not 1-12", 5, 12),
    ("date:2009-02-30", SYNTAX, "bad date '2009-02-30': February 2009 has 28 days", 5, 15),
    ("date:0000", SYNTAX, "bad date '0000': there is no year 0", 5, 9),
    ("date:09", SYNTAX, "bad date '09': expected YYYY, YYYY-MM or YYYY-MM-DD", 5, 7),
    ("date:2008..2009-13", SYNTAX, "bad date '2009-13': month 13 is not 1-12", 11, 18),
    ("date:[2008 TO 2009-00]", SYNTAX, "bad date '2009-00': month 0 is not 1-12", 14, 21),
    ("date:2010..2009", SYNTAX, "empty range: 2010 comes after 2009", 5, 15),
    ("year:2007..2005", SYNTAX, "empty range: 2007 comes after 2005", 5, 15),
    ("date:[2008 TO]", SYNTAX, "a range looks like [2008 TO 2009] ([ ] include the ends, { } leave them out)", 5, 14),
    ("date:[2008 TO 2009", SYNTAX, "unterminated range; expected ']' or '}'", 5, 18),
    ("date:>", SYNTAX, "expected a date or number after '>'", 6, 7),
    ("date:2008..", SYNTAX, "expected a date or number after '..'", 11, 12),
    ("year:2009-06", SYNTAX, "expected a whole number for 'year', found '2009-06'", 5, 12),
    ("year:99999999999", SYNTAX, "number 99999999999 is too large", 5, 16),
    ('date:"2009"', SYNTAX, "a quoted phrase is for words; 'date' holds dates (write date:2009-11)", 5, 11),
    ("year:2009~", SYNTAX, "fuzzy (~) is for words; 'year' holds numbers (write year:2009)", 9, 10),
    ("org:>=2009", SYNTAX,
     "ranges are for date and number fields (date, released, decl, year, redactions); 'org' is not one", 4, 6),
    ("2008..2009", SYNTAX, "ranges are for date and number fields (date, released, decl, year, redactions); "
     "it needs one, as in date:2008..2009", 4, 6),
    # limits
    ("x" * 10_001, LIMIT, "query is 10,001 characters long; the limit is 10,000", 10_000, 10_001),
    ("(" * 40 + "a" + ")" * 40, LIMIT, "query nests more than 32 levels deep", 32, 33),
    ("NOT " * 40 + "a", LIMIT, "query nests more than 32 levels deep", 128, 129),
    ("ab " * 1001, LIMIT, "query has more than 1,000 terms", 3000, 3002),
]


@pytest.mark.parametrize(("text", "kind", "message", "start", "end"), CASES, ids=[c[0][:30] for c in CASES])
def test_parse_error(text, kind, message, start, end):
    with pytest.raises(QueryError) as info:
        parse_query(text)
    e = info.value
    assert type(e) is kind
    assert (e.message, e.start, e.end) == (message, start, end)
    assert e.text == text
    assert isinstance(e, ValueError)


# Errors found when compiling: they need the field's analyzer.
COMPILE_CASES = [
    ("the", QueryError,
     "nothing left to search: the index does not keep 'the' (common words, single letters, punctuation)", 0, 3),
    ("the OR of", QueryError,
     "nothing left to search: the index does not keep 'the', 'of' (common words, single letters, punctuation)", 0, 9),
    ("-a", QueryError,
     "nothing left to search: the index does not keep 'a' (common words, single letters, punctuation)", 0, 2),
    ("tag:a,b", SYNTAX, "'tag' takes one value at a time; for either, write tag:(a OR b)", 0, 7),
    ('class:"secret"~2', SYNTAX, "proximity (~) is for text and names; 'class' holds whole values", 0, 16),
    ("(iran^0.00000000000000000000000000000000000000000000000000001)^0.00000000000000000000000000000000000000000000000000001",
     QueryError, "boosts multiply to less than 1e-100: too small to rank by", 1, 61),
]


@pytest.mark.parametrize(("text", "kind", "message", "start", "end"), COMPILE_CASES, ids=[c[0] for c in COMPILE_CASES])
def test_compile_error(text, kind, message, start, end):
    query = parse_query(text)
    with pytest.raises(QueryError) as info:
        compile_query(query)
    e = info.value
    assert type(e) is kind
    assert (e.message, e.start, e.end) == (message, start, end)


def test_caret_under_the_column():
    with pytest.raises(UnknownFieldError) as info:
        parse_query("iran orgg:FSB")
    assert str(info.value) == "unknown field 'orgg' -- did you mean 'org'?\n  iran orgg:FSB\n       ^^^^"
    assert info.value.field == "orgg"
    assert info.value.suggestions[0] == "org"
    assert info.value.column == 6


def test_caret_at_end_of_input_not_at_last_token():
    """lark reports $END at the last token; the caret belongs after the text."""
    with pytest.raises(QuerySyntaxError) as info:
        parse_query("(iran OR iraq")
    assert str(info.value) == "expected ')'\n  (iran OR iraq\n               ^"


def test_unterminated_phrase_marks_the_rest():
    with pytest.raises(QuerySyntaxError) as info:
        parse_query('iran "crypto imp')
    assert str(info.value).splitlines()[-1] == "       ^^^^^^^^^^^"


def test_compile_error_for_a_bare_node_has_no_caret():
    """Given an AST node rather than a Query, the compiler has no text to point into."""
    query = parse_query("iran the")
    with pytest.raises(QueryError) as info:
        compile_query(query.node.items[1])
    assert info.value.text == ""
    assert str(info.value) == info.value.message


@pytest.mark.parametrize("n", [100, 1000, 100_000])
def test_deep_nesting_is_a_query_error_not_a_recursion_error(n):
    for text in ("(" * n, "(" * n + "a" + ")" * n, "NOT " * n + "a", "-" * n + "a", "!" * n + "a"):
        with pytest.raises(QueryLimitError):
            parse_query(text)


def _caret_under(text: str) -> tuple[str, str]:
    """(the error's query line, the character its caret stands under, by terminal columns)."""
    import unicodedata

    with pytest.raises(QueryError) as exc:
        parse_query(text)
    _, shown, caret = str(exc.value).split("\n")
    col = caret.index("^")
    at = 0
    for ch in shown:
        width = 0 if unicodedata.category(ch) in ("Mn", "Me") else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if at == col and width:
            return shown, ch
        at += width
    return shown, ""  # the caret stands after the end of the line


PREFIXES = ["\x01\x02 ", "中国 中国 ", "😀 ", "e\u0301\u0301 ", "\u200b\u200b ", "\x1b\x07\u2028 ", "\t"]


@pytest.mark.parametrize("prefix", PREFIXES)
def test_the_caret_stands_under_the_right_column_whatever_comes_before(prefix):
    """Wide characters take two columns, combining marks none, and control or invisible characters
    are shown as escapes (never sent to the terminal): the caret still points at the error."""
    import unicodedata

    shown, under = _caret_under(prefix + 'iran "nuclear deal')
    assert under == '"'
    assert not any(unicodedata.category(c)[0] == "C" or c == "\u2028" for c in shown)


def test_a_long_query_shows_a_window_around_the_error():
    text = "iran " * 400 + '"open phrase ' + "word " * 400
    with pytest.raises(QueryError) as exc:
        parse_query(text)
    _, shown, caret = str(exc.value).split("\n")
    assert len(shown) <= 2 + 76 + 2 and shown.lstrip().startswith("…") and shown.endswith("…")
    assert shown[caret.index("^")] == '"'
