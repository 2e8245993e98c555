"""Text -> AST: structure, precedence, fields and aliases, spans, warnings, the lexer, explain."""

from __future__ import annotations

import dataclasses

import pytest

from cablesearch import schema
from cablesearch.errors import UnknownFieldError
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
    Query,
    QueryWarning,
    Term,
    Wildcard,
    explain,
    lex,
    parse_query,
    to_query_string,
)
from cablesearch.query import parser as parser_module


def node(text: str):
    return parse_query(text).node


def T(text, field=None):
    return Term(field, text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("intel", T("intel")),
        ("a b c", And((T("a"), T("b"), T("c")))),
        ("a AND b && c", And((T("a"), T("b"), T("c")))),
        ("a OR b || c", Or((T("a"), T("b"), T("c")))),
        # NOT binds tightest, then AND (explicit or implicit, the same), then OR
        ("a OR b c", Or((T("a"), And((T("b"), T("c")))))),
        ("a OR b AND c", Or((T("a"), And((T("b"), T("c")))))),
        ("a b OR c", Or((And((T("a"), T("b"))), T("c")))),
        ("NOT a b", And((Not(T("a")), T("b")))),
        ("NOT a OR b", Or((Not(T("a")), T("b")))),
        ("-a -b", And((Not(T("a")), Not(T("b"))))),
        ("!a", Not(T("a"))),
        ("NOT NOT a", Not(Not(T("a")))),
        ("(a OR b) c", And((Or((T("a"), T("b"))), T("c")))),
        ("(a b) c", And((And((T("a"), T("b"))), T("c")))),  # nesting is kept as written
        ("((a))", T("a")),
        ("a-b", T("a-b")),  # a hyphen inside a word is part of it
        ("a - b", And((T("a"), Not(T("b"))))),
        ("AT&T", T("AT&T")),
        ("ANDROID ORACLE NOTE", And((T("ANDROID"), T("ORACLE"), T("NOTE")))),
        ("*", MatchAll()),
        ("crypt*", Prefix(None, "crypt")),
        ("te?t", Wildcard(None, "te?t")),
        ("*stan", Wildcard(None, "*stan")),
        ("a**", Wildcard(None, "a**")),
        ("beyrle~", Fuzzy(None, "beyrle", 1)),
        ("beyrle~2", Fuzzy(None, "beyrle", 2)),
        ('"a b"', Phrase(None, "a b")),
        ('"a b"~3', Phrase(None, "a b", 3)),
        ('"say \\"hi\\" \\\\o/"', Phrase(None, 'say "hi" \\o/')),
        ("fsb^2", Boost(T("fsb"), 2.0)),
        ("fsb^0.25", Boost(T("fsb"), 0.25)),
        ("(a OR b)^2", Boost(Or((T("a"), T("b"))), 2.0)),
        ("-fsb^2", Not(Boost(T("fsb"), 2.0))),
        ("org:FSB", T("FSB", "org")),
        ("ORGANIZATION:FSB", T("FSB", "org")),
        ('per:"John Beyrle"', Phrase("per", "John Beyrle")),
        ("tag:(PREL OR PGOV)", Or((T("PREL", "tag"), T("PGOV", "tag")))),
        ("tag:(PREL (PGOV -KNNP))", And((T("PREL", "tag"), And((T("PGOV", "tag"), Not(T("KNNP", "tag"))))))),
        ("org:*", Prefix("org", "")),
        ("org:gaz*", Prefix("org", "gaz")),
        ("per:beyrle~2^3", Boost(Fuzzy("per", "beyrle", 2), 3.0)),
        ("date:2009", DateRange("date", PartialDate(2009), PartialDate(2009))),
        ("date:2009-11-03", DateRange("date", PartialDate(2009, 11, 3), PartialDate(2009, 11, 3))),
        ("date:2008..2009-06", DateRange("date", PartialDate(2008), PartialDate(2009, 6))),
        ("date:>=2009-06-01", DateRange("date", PartialDate(2009, 6, 1), None)),
        ("date:>2009", DateRange("date", PartialDate(2009), None, low_incl=False)),
        ("date:<2005", DateRange("date", None, PartialDate(2005), high_incl=False)),
        ("date:<=2005", DateRange("date", None, PartialDate(2005))),
        ("date:[2008 TO 2009]", DateRange("date", PartialDate(2008), PartialDate(2009))),
        ("date:{2008 TO 2009]", DateRange("date", PartialDate(2008), PartialDate(2009), low_incl=False)),
        ("date:[2008 TO *}", DateRange("date", PartialDate(2008), None)),
        ("date:*", DateRange("date", None, None)),
        ("date:(2008 OR 2010)", Or((DateRange("date", PartialDate(2008), PartialDate(2008)),
                                    DateRange("date", PartialDate(2010), PartialDate(2010))))),
        ("year:2009", NumberRange("year", 2009, 2009)),
        ("year:2005..2007", NumberRange("year", 2005, 2007)),
        ("redactions:>3", NumberRange("redactions", 3, None, low_incl=False)),
        ("year:[2005 TO 2007}", NumberRange("year", 2005, 2007, high_incl=False)),
    ],
)
def test_ast(text, expected):
    assert node(text) == expected


@pytest.mark.parametrize(("alias", "canonical"), sorted(schema.ALIASES.items()))
def test_every_alias_from_the_field_table(alias, canonical):
    kind = schema.FIELD_BY_NAME[canonical].kind
    value = {"date": "2009", "number": "7"}.get(kind, "x")
    for spelled in (alias, alias.upper(), alias.capitalize()):
        n = node(f"{spelled}:{value}")
        assert n.field == canonical
        assert to_query_string(n) == f"{canonical}:{value}"


def test_stored_only_fields_are_unknown():
    for f in schema.FIELDS:
        if not f.searchable and f.name not in schema.ALIASES:  # 'entities' is also an alias of 'entity'
            with pytest.raises(UnknownFieldError, match="unknown field"):
                parse_query(f"{f.name}:x")


def test_spans_point_into_the_text():
    text = 'iran org:FSB -"crypto importation"~2 date:2008..2009 fsb^2'
    n = node(text)
    assert isinstance(n, And)
    assert [text[i.start:i.end] for i in n.items] == [
        "iran", "org:FSB", '-"crypto importation"~2', "date:2008..2009", "fsb^2"]
    assert text[n.items[2].item.start:n.items[2].item.end] == '"crypto importation"~2'
    assert (n.start, n.end) == (0, len(text))


def test_spans_do_not_count_in_equality():
    assert node("a  OR   b") == node("a OR b")
    assert node("a  OR   b").items[1].start != node("a OR b").items[1].start


def test_nodes_are_frozen():
    n = node("org:FSB")
    with pytest.raises(dataclasses.FrozenInstanceError):
        n.text = "KGB"


def test_query_object():
    q = parse_query("iran or iraq")
    assert isinstance(q, Query)
    assert q.text == "iran or iraq"
    assert q.warnings == (QueryWarning("'or' is searched as a word; use OR for either-or", 5, 7),)


@pytest.mark.parametrize(
    ("text", "warned"),
    [
        ("iran or iraq", ["or"]),
        ("iran and iraq", ["and"]),
        ("iran not iraq", ["not"]),
        ("iran Or iraq", ["Or"]),
        ("tag:(PREL or PGOV)", ["or"]),
        ("iran OR iraq", []),
        ("org:or", []),  # a word after a field is meant
        ('"iran or iraq"', []),
        ("oregon", []),
    ],
)
def test_lowercase_operator_warnings(text, warned):
    warnings = parse_query(text).warnings
    assert [text[w.start:w.end] for w in warnings] == warned


def test_grammar_is_read_from_the_repository_in_a_source_tree():
    text = parser_module._grammar_text()
    assert text.startswith("// The cablesearch query language")


def test_lex_tokens():
    assert lex('org:FSB AND "a b"~2 -x^2 date:>=2009 (y || z)') == [
        ("FIELD", 0, 4), ("WORD", 4, 7), ("AND", 8, 11), ("PHRASE", 12, 17), ("FUZZY", 17, 19),
        ("MINUS", 20, 21), ("WORD", 21, 22), ("BOOST", 22, 24), ("FIELD", 25, 30), ("CMP", 30, 32),
        ("WORD", 32, 36), ("LPAR", 37, 38), ("WORD", 38, 39), ("PIPES", 40, 42), ("WORD", 43, 44),
        ("RPAR", 44, 45),
    ]


def test_lex_marks_the_rest_after_an_error():
    assert lex('iran "crypto') == [("WORD", 0, 4), ("ERROR", 5, 12)]
    assert lex("iran OR OR iraq") == [("WORD", 0, 4), ("OR", 5, 7), ("ERROR", 8, 15)]
    assert lex("a ) b") == [("WORD", 0, 1), ("ERROR", 2, 5)]


def test_lex_unfinished_query_is_not_an_error():
    assert lex("org:(a OR") == [("FIELD", 0, 4), ("LPAR", 4, 5), ("WORD", 5, 6), ("OR", 7, 9)]
    assert lex("") == []


def test_lex_unknown_field_is_an_error_token():
    assert lex("orgg:x y") == [("ERROR", 0, 5), ("WORD", 5, 6), ("WORD", 7, 8)]


def test_explain():
    out = explain("org:FSB -tag:PREL the")
    assert out.splitlines() == [
        "query:     org:FSB -tag:PREL the",
        "ast:",
        "  And()  [0:21]",
        "    Term(field='org', text='FSB')  [0:7]",
        "    Not()  [8:17]",
        "      Term(field='tag', text='PREL')  [9:17]",
        "    Term(field=None, text='the')  [18:21]",
        "canonical: org:FSB AND NOT tag:PREL AND the",
        "whoosh:    (org:fsb AND NOT tag:prel)",
        "warning:   'the' is left out: the index does not keep common words, single letters or punctuation",
    ]


def test_explain_shows_dates():
    assert "DateRange(field='date', low=2008, high=2009-06, low_incl=True, high_incl=True)" in explain(
        "date:2008..2009-06")


@pytest.mark.parametrize("typed", ["“human rights”", "„human rights“", "«human rights»", "”human rights”"])
def test_typographic_double_quotes_make_a_phrase(typed):
    """Pasted from a document: the same phrase as with straight quotes, and the shell colours it so."""
    from cablesearch.query.parser import lex

    assert parse_query(typed).node == parse_query('"human rights"').node
    assert lex(typed) == [("PHRASE", 0, len(typed))]


def test_a_typographic_apostrophe_stays_in_the_word():
    assert parse_query("O’Neill").node == Term(None, "O’Neill")


def test_an_escaped_typographic_quote_is_the_character_itself():
    query = parse_query('"say \\“yes\\”"')
    assert query.node == Phrase(None, "say “yes”")
    from cablesearch.query import to_query_string

    assert parse_query(to_query_string(query.node)).node == query.node


@pytest.mark.parametrize(("text", "warned"), [
    ('"human righ*"', ['"human righ*"']), ('iran "n?clear deal"~3', ['"n?clear deal"']),
    ('"what? * !"', []), ('"human rights" righ*', []), ("'Q*'", []),
])
def test_a_wildcard_inside_quotes_is_warned_about(text, warned):
    """Inside quotes * and ? are punctuation (the phrase searches the words without them): a
    user who typed "human righ*" for a prefix is told so instead of getting 0 cables silently."""
    warnings = [w for w in parse_query(text).warnings if "inside quotes" in w.message]
    assert [text[w.start:w.end] for w in warnings] == warned
