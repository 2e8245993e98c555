"""The highlighter and the live check, through prompt_toolkit Documents (no terminal)."""

from __future__ import annotations

from prompt_toolkit.document import Document

from cablesearch.shell.lexer import QueryLexer, check_line, fragments, line_styles
from cablesearch.shell.toolbar import toolbar_fragments


def styled(text):
    """{substring: style} for the runs of the line."""
    return {t: s for s, t in fragments(text)}


def style_at(text, sub):
    i = text.index(sub)
    return line_styles(text)[i]


def test_tokens_get_the_grammar_terminal_names():
    text = 'org:FSB AND "john beyrle" OR -tag:PREL'
    assert "class:query.field" in style_at(text, "org:")
    assert "class:query.word" in style_at(text, "FSB")
    assert "class:query.and" in style_at(text, "AND")
    assert "class:query.phrase" in style_at(text, '"john')
    assert "class:query.or" in style_at(text, "OR")
    assert "class:query.minus" in style_at(text, "-tag")
    assert "error" not in " ".join(line_styles(text))


def test_values_of_date_and_number_fields_are_marked_as_such():
    text = "date:2008..2009-06 year:>=2005 intel"
    assert "class:query.date" in style_at(text, "2008")
    assert "class:query.date" in style_at(text, "2009-06")
    assert "class:query.number" in style_at(text, "2005")
    assert "class:query.date" not in style_at(text, "intel")
    assert "class:query.number" not in style_at(text, "intel")


def test_an_error_is_marked_at_its_column_and_named_in_the_toolbar():
    text = "intel AND (org:FSB"
    check = check_line(text)
    assert check.error is not None
    bar = "".join(t for _, t in toolbar_fragments(text))
    assert f"col {check.error.column}" in bar
    assert check.error.message.splitlines()[0] in bar
    text = "orgz:FSB intel"
    styles = line_styles(text)
    assert "class:query.error" in styles[0]
    assert "class:query.error" not in styles[text.index("intel")]


def test_a_good_query_shows_the_keys_in_the_toolbar():
    bar = "".join(t for _, t in toolbar_fragments("tag:WTO", "-date", 20))
    assert "Tab" in bar and "Ctrl-D" in bar and "-date" in bar and "20" in bar


def test_commands_are_coloured_and_explain_lexes_its_query():
    text = ":explain org:FSB AND"
    assert "class:command" in style_at(text, ":explain")
    assert "class:query.field" in style_at(text, "org:")
    assert "class:query.error" not in style_at(text, ":explain")
    text = ":show 3"
    assert style_at(text, "3") == "class:command.arg"
    text = ":nosuch 3"
    assert "class:query.error" in style_at(text, ":nosuch")
    assert check_line(text).error is not None


def test_fragments_cover_the_text_exactly():
    for text in ["", "a", 'org:"unterminated', "((", "tag:(A OR", "\x00\x1b[31m", "date:2009-13-45", ":", "  :help x"]:
        assert "".join(t for _, t in fragments(text)) == text


def test_lexer_lines_for_prompt_toolkit():
    doc = Document("tag:WTO\norg:FSB")
    get_line = QueryLexer().lex_document(doc)
    assert "".join(t for _, t in get_line(0)) == "tag:WTO"
    assert "".join(t for _, t in get_line(1)) == "org:FSB"
    assert get_line(5) == []


def test_empty_line_is_not_an_error():
    assert check_line("").ok and check_line("   ").ok


def test_warnings_are_underlined_and_named_in_the_toolbar():
    text = "intel and fsb"
    check = check_line(text)
    assert check.ok and check.warnings
    assert "class:query.warning" in style_at(text, "and")
    assert "class:query.warning" not in style_at(text, "intel")
    bar = "".join(t for _, t in toolbar_fragments(text))
    assert "'and' is searched as a word" in bar


def test_the_query_of_explain_is_checked_at_its_columns():
    text = ":explain orgz:x"
    check = check_line(text)
    assert check.error is not None and check.error.start == text.index("orgz")
    assert "class:query.error" in style_at(text, "orgz")
    assert check_line(":show 3").ok and check_line(":explain").ok


def test_the_toolbar_fits_its_width():
    for width in (20, 40, 80):
        for text in ("", "orgz:x AND (", "intel and fsb " * 5):
            assert len("".join(t for _, t in toolbar_fragments(text, width=width))) < width
