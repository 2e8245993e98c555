"""Session and commands against a small fake index: what a line prints, without a terminal."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import datetime

import pytest

from cablesearch.errors import IndexStateError
from cablesearch.model import Hit, Snippet, Span
from cablesearch.shell.commands import KEYS, REGISTRY, help_text
from cablesearch.shell.session import Console, Session
from cablesearch.shell.view import render_results, snippet_line

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class FakeResults:
    hits: list
    total: int
    page: int = 1
    pagelen: int = 10
    elapsed: float = 0.004
    warnings: tuple = ()

    @property
    def pages(self):
        return max(1, -(-self.total // self.pagelen))


@dataclass
class FakeIndex:
    n: int = 25
    calls: list = field(default_factory=list)
    fail: Exception | None = None

    def hit(self, i: int) -> Hit:
        return Hit(
            ref=f"09MOSCOW{i:04d}", date=datetime(2009, 1, i % 28 + 1), classification="SECRET//NOFORN",
            origin="MOSCOW", subject=f"RUSSIA: SUBJECT NUMBER {i}\x1b[31m",
            snippets=(Snippet("the  FSB said\n intel \x07waivers were granted", (Span(5, 8),)),
                      Snippet("second FSB passage", (Span(7, 10),))),
            rank=i,
        )

    def search(self, q, limit=10, page=1, sort="relevance"):
        from cablesearch.query import parse_query

        if self.fail:
            raise self.fail
        parse_query(q)
        self.calls.append((q, limit, page, sort))
        total = 0 if q == "nothing" else self.n
        first = (page - 1) * limit
        return FakeResults([self.hit(i + 1) for i in range(first, min(total, first + limit))], total, page, limit)


def make(n=25, color=False):
    out, err = io.StringIO(), io.StringIO()
    ix = FakeIndex(n)
    s = Session(ix, Console(out, err=err, color=color))
    return s, ix, out, err


def test_a_query_prints_numbered_hits_with_snippets_and_the_total():
    s, ix, out, _err = make()
    assert s.run_line("FSB").ok
    text = out.getvalue()
    assert ix.calls == [("FSB", 10, 1, "relevance")]
    assert " 1. 09MOSCOW0001  2009-01-02  SECRET//NOFORN  MOSCOW" in text
    assert "10. 09MOSCOW0010" in text and "11." not in text
    assert "RUSSIA: SUBJECT NUMBER 1" in text
    assert "the FSB said intel waivers were granted" in text  # white space collapsed
    assert "25 cables match · page 1 of 3 · 4 ms · :more for more" in text
    assert "\x1b" not in text and "\x07" not in text  # sanitized, no colour when not asked
    assert all(len(line) <= 80 for line in text.splitlines())


def test_more_and_enter_on_an_empty_line_page_on():
    s, ix, out, _ = make()
    s.run_line("FSB")
    s.run_line(":more")
    s.run_line("")
    s.run_line("")
    assert [c[2] for c in ix.calls] == [1, 2, 3]
    text = out.getvalue()
    assert "21. 09MOSCOW0021" in text and "page 3 of 3 · 4 ms\n" in text
    assert "no more results (25 in all)" in text
    assert s.hit(21).ref == "09MOSCOW0021"


def test_blank_line_does_nothing_when_asked_not_to_page():
    s, ix, _, _ = make()
    s.run_line("FSB")
    s.run_line("", blank_is_more=False)
    assert len(ix.calls) == 1


def test_sort_and_limit_rerun_the_last_query():
    s, ix, out, _ = make()
    s.run_line(":limit")
    s.run_line(":sort")
    assert "limit: 10" in out.getvalue() and "sort: relevance" in out.getvalue()
    s.run_line("FSB")
    s.run_line(":sort -date")
    s.run_line(":limit 3")
    assert ix.calls[-2:] == [("FSB", 10, 1, "-date"), ("FSB", 3, 1, "-date")]
    assert "page 1 of 9" in out.getvalue()


@pytest.mark.parametrize("line", [":sort sideways", ":limit 0", ":limit x", ":show", ":show 99", ":nosuch",
                                  ":facets", ":export out.jsonl", ":help nosuch", ":more"])
def test_misuse_of_a_command_is_a_message_not_a_crash(line):
    s, _, _out, err = make()
    outcome = s.run_line(line)
    assert not outcome.ok and not outcome.keep and not outcome.quit
    assert err.getvalue().strip() and "Traceback" not in err.getvalue()


def test_a_bad_query_prints_its_caret_and_asks_to_keep_the_text():
    s, ix, _out, err = make()
    outcome = s.run_line("intel AND (org:FSB")
    assert not outcome.ok and outcome.keep
    lines = err.getvalue().splitlines()
    assert lines[1] == "  intel AND (org:FSB"
    assert "^" in lines[2]
    assert ix.calls == []


def test_errors_of_the_index_and_bugs_are_one_line_and_the_shell_goes_on():
    s, ix, _out, err = make()
    ix.fail = IndexStateError("index is locked")
    assert not s.run_line("FSB").ok
    ix.fail = RuntimeError("boom")
    assert not s.run_line("FSB").ok
    assert err.getvalue().splitlines() == ["index is locked", "internal error: RuntimeError: boom"]
    ix.fail = None
    assert s.run_line("FSB").ok


def test_quit_and_its_aliases():
    for line in (":quit", ":q", ":exit", ":QUIT"):
        s, *_ = make()
        assert s.run_line(line).quit


def test_unique_prefixes_find_commands():
    assert REGISTRY.lookup("sh").name == "show"
    assert REGISTRY.lookup("e") is None  # export, explain, exit
    assert REGISTRY.lookup("expl").name == "explain"


def test_an_ambiguous_prefix_names_the_commands_it_could_be():
    s, _, _, err = make()
    s.run_line(":s 1")
    said = err.getvalue()
    assert "':s' could be" in said and ":show" in said and ":sort" in said and ":stats" in said
    assert "unknown command ':zz'" in REGISTRY.not_found("zz")


def test_no_results():
    s, _, out, _ = make()
    s.run_line("nothing")
    assert "No cables match" in out.getvalue()


def test_colour_marks_the_matches():
    s, _, out, _ = make(color=True)
    s.run_line("FSB")
    text = out.getvalue()
    assert "\x1b[1;31mFSB\x1b[0m" in text
    assert all(len(ANSI.sub("", line)) <= 80 for line in text.splitlines())


@pytest.mark.parametrize("width", [40, 50, 80])
def test_results_fit_narrow_terminals(width):
    ix = FakeIndex(3)
    res = ix.search("FSB")
    for color in (False, True):
        text = render_results(res, color=color, width=width)
        assert all(len(ANSI.sub("", line)) <= width for line in text.splitlines()), text


def test_snippet_line_keeps_the_match_in_view():
    sn = Snippet("x" * 200 + " FSB " + "y" * 200, (Span(201, 204),))
    line = snippet_line(sn, 60, color=False)
    assert len(line) <= 60 and "FSB" in line and line.startswith("…") and line.endswith("…")


def test_help_lists_every_command_and_key():
    text = help_text()
    for cmd in REGISTRY:
        assert cmd.usage in text and cmd.help.strip()
    for keys, _ in KEYS:
        assert keys in text
    assert all(len(line) <= 80 for line in text.splitlines())
    assert ":show N" in help_text("show")
    assert "Keys" in help_text("keys")


def test_help_on_fields_and_syntax_come_from_their_sources():
    from cablesearch.helptext import field_help, query_help

    assert help_text("fields") == field_help()
    assert help_text("syntax") == query_help()


def test_every_command_and_key_is_in_the_shell_notes():
    from conftest import ROOT

    notes = (ROOT / "README.md").read_text(encoding="utf-8")
    for cmd in REGISTRY:
        assert f":{cmd.name}" in notes, cmd.name
    for keys, _ in KEYS:
        assert keys in notes, keys
    from cablesearch.shell.commands import commands_markdown

    assert commands_markdown() in notes, "regenerate the README's shell tables from commands_markdown()"


def test_snippet_spans_survive_control_characters():
    text = "\x1b[31mred\x1b[0m and \x07FSB here"
    start = text.index("FSB")
    line = snippet_line(Snippet(text, (Span(start, start + 3),)), 80, color=True)
    assert "\x1b[1;31mFSB\x1b[0m" in line
    assert ANSI.sub("", line) == "red and FSB here"
