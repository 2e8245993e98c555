"""Rendering: terminal safety, the hit list (plain and ANSI, fitted to the width), a whole cable,
JSON / JSONL / CSV that validate and round-trip."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_search import BY_REF, CABLES, build

from cablesearch import render
from cablesearch import search as S
from cablesearch.model import Cable, Classification, Hit, Snippet, Span
from cablesearch.render import (
    escape_name,
    iter_csv,
    iter_jsonl,
    render_cable_text,
    render_facets,
    render_hits_text,
    render_json,
    render_stats,
    sanitize,
)
from cablesearch.search import SearchResults

ANSI = re.compile(r"\x1b\[[0-9;]*m")
HOSTILE = "EVIL \x1b[2J\x1b]0;pwned\x07 \x9b31m BELL\x07 \x1bc \u202eRTL \x00NUL"


@pytest.fixture(scope="module")
def ix():
    return build(CABLES)


def hostile_results() -> SearchResults:
    hit = Hit(
        ref="09EVIL1\x1b[31m", score=1.5, date=datetime(2009, 1, 2, 3, 4), classification="SECRET//NOFORN",
        origin="MOSCOW", tags=("PREL", "RS"), subject="SUBJECT " + HOSTILE, entities={"ORG": ["FSB"]},
        snippets=(Snippet("a waiver \x1b[2J of the waiver rules", (Span(2, 8), Span(21, 27))),),
        source="cables/evil\n.txt", rank=1,
    )
    return SearchResults((hit,), total=1, page=1, pagelen=10, query="waiver", elapsed=0.0123)


# --------------------------------------------------------------------------- sanitize


@pytest.mark.parametrize(("raw", "clean"), [
    ("clear\x1b[2Jscreen", "clearscreen"),
    ("title\x1b]0;owned\x07after", "titleafter"),
    ("st\x1b]8;;http://x\x1b\\link", "stlink"),
    ("bell\x07", "bell"),
    ("c1\x9b31mred", "c1red"),
    ("reset\x1bc!", "reset!"),
    ("keep\ttabs\nand lines", "keep\ttabs\nand lines"),
    ("crlf\r\nlone\rcr", "crlf\nlone\ncr"),
    ("bidi\u202egnp.exe", "bidignp.exe"),
    ("nul\x00del\x7f", "nuldel"),
    ("unterminated \x1b]0;title", "unterminated 0;title"),  # ESC ] goes; the rest is inert
    ("Zürich — ok ✓", "Zürich — ok ✓"),
])
def test_sanitize(raw, clean):
    assert sanitize(raw) == clean


@given(st.text())
def test_sanitize_leaves_no_control_but_tab_and_newline(text):
    out = sanitize(text)
    assert not any((ord(c) < 32 and c not in "\t\n") or 0x7F <= ord(c) <= 0x9F for c in out)
    assert sanitize(out) == out


def test_escape_name_shows_controls():
    assert escape_name("cables/a\x1b[2Jb\n.txt") == "cables/a\\x1b[2Jb\\n.txt"
    assert escape_name("evil\u202etxt.exe") == "evil\\u202etxt.exe"
    assert escape_name(b"bad\xffname") == "bad\\xffname"
    assert escape_name("plain/ok.txt") == "plain/ok.txt"


# --------------------------------------------------------------------------- the hit list


def test_hit_list_plain_has_no_escapes_and_fits_the_width(ix):
    res = S.search(ix, "waiver OR fsb", limit=5)
    out = render_hits_text(res, color=False, width=60)
    assert "\x1b" not in out
    assert all(len(line) <= 60 for line in out.splitlines())
    assert out.startswith("1. ")
    for hit in res:
        assert hit.ref in out
    assert re.search(rf"{res.total} cables match · page 1 of {res.pages} · \d+ ms\n$", out)


def test_hit_list_in_colour_marks_exactly_the_spans(ix):
    res = S.search(ix, "org:FSB", limit=5)
    out = render_hits_text(res, color=True, width=100)
    marked = re.findall(r"\x1b\[1;31m(.*?)\x1b\[0m", out)
    assert marked and set(marked) == {"FSB"} | ({"SECRET//NOFORN"} & set(marked))
    assert ANSI.sub("", out) == render_hits_text(res, color=False, width=100)
    assert all(len(ANSI.sub("", line)) <= 100 for line in out.splitlines())


def test_hostile_cable_text_cannot_reach_the_terminal():
    for color in (False, True):
        out = render_hits_text(hostile_results(), color=color, width=80)
        bare = ANSI.sub("", out)
        assert "\x1b" not in bare and "\x07" not in bare and "\x9b" not in bare and "\u202e" not in bare
    out = render_hits_text(hostile_results(), color=True, width=80)
    assert re.findall(r"\x1b\[1;31m(.*?)\x1b\[0m", out) == ["waiver", "waiver"]


def test_no_results():
    out = render_hits_text(SearchResults((), 0, query="nothing", elapsed=0.002), color=False)
    assert out == "No cables match · 2 ms\n"


def test_facets_text():
    out = render_facets({"tag": [("PREL", 12), ("WTO", 3)], "year": [(2009, 1234)], "org": []})
    assert out.splitlines() == ["tag", "  PREL  12", "  WTO    3", "", "year", "  2009  1,234", "", "org", "  (none)"]


def test_stats_text():
    out = render_stats({"cables": 5000, "size_bytes": 2_500_000, "by_year": {2008: 10, 2009: 1200},
                        "top_tags": [("PREL", 900)], "built_at": None})
    assert "cables      5,000" in out and "2.5 MB" in out and "  2009  1,200" in out and "PREL" in out


# --------------------------------------------------------------------------- a whole cable


def test_cable_text_shows_metadata_then_the_body_with_paragraphs(ix):
    cable = BY_REF["09MOSCOW2723"]
    out = render_cable_text(cable, color=False)
    head, _, body = out.partition("\n\n")
    assert "Ref:" in head and "09MOSCOW2723" in head and "2009-11-03 13:01" in head
    assert "CONFIDENTIAL" in head and "ETRD, EINV" in head and "INTEL'S CRYPTO" in head
    assert "\n\n2. (C) The waiver" in "\n\n" + body.split("\n\n", 1)[1]


def test_cable_text_highlights_a_query_with_or_without_an_index(ix):
    cable = BY_REF["09MOSCOW2723"]
    for index in (None, ix):
        out = render_cable_text(cable, highlight_query='org:FSB OR "federal security bureau"', color=True,
                                index=index, width=None)
        marked = re.findall(r"\x1b\[1;31m(.*?)\x1b\[0m", out)
        assert "FSB" in marked and "Federal Security Bureau" in marked
    stored = {"ref": "X1", "body": "line one\nwaiver " + HOSTILE, "tag": "A,B", "label": "SECRET"}
    out = render_cable_text(stored, highlight_query="waiver", color=False)
    assert "\x1b" not in out and "\x07" not in out
    assert re.search(r"^Tags: +A, B$", out, re.M)


def test_cable_text_wraps_long_lines_keeping_marks():
    cable = Cable(ref="R1", body="word " * 40 + "waiver " + "word " * 40, classification=Classification())
    out = render_cable_text(cable, highlight_query="waiver", color=True, width=50)
    assert all(len(ANSI.sub("", line)) <= 50 for line in out.splitlines())
    assert re.findall(r"\x1b\[1;31m(.*?)\x1b\[0m", out) == ["waiver"]


# --------------------------------------------------------------------------- JSON, JSONL, CSV


def test_json_validates_and_carries_everything(ix):
    res = S.search(ix, "org:FSB", limit=5)
    facets = S.facets(ix, "org:FSB", by=("tag", "year"))
    doc = json.loads(render_json(res, facets=facets))
    assert doc["total"] == res.total and doc["query"] == "org:FSB" and doc["pages"] == res.pages
    assert [h["ref"] for h in doc["hits"]] == [h.ref for h in res]
    h0, hit = doc["hits"][0], res.hits[0]
    assert h0["date"] == hit.date.isoformat() and h0["tags"] == list(hit.tags)
    for snip in h0["snippets"]:
        for s, e in snip["spans"]:
            assert snip["text"][s:e]
    assert doc["facets"]["year"][0]["count"] >= 1


def test_json_escapes_controls_that_json_dumps_would_pass_through():
    text = render_json(hostile_results())
    assert not re.search("[\x00-\x1f\x7f-\x9f\u202a-\u202e]", text.replace("\n", ""))
    doc = json.loads(text)
    assert doc["hits"][0]["subject"] == "SUBJECT " + HOSTILE  # the data itself is intact


def test_json_warnings():
    res = SearchResults((), 0, query="the AND x", warnings=(type("W", (), {"start": 0, "end": 3,
                                                                           "__str__": lambda s: "left out"})(),))
    assert json.loads(render_json(res))["warnings"] == [{"message": "left out", "start": 0, "end": 3}]


def test_jsonl_one_object_a_line(ix):
    hits = list(S.iter_search(ix, "waiver"))
    lines = list(iter_jsonl(hits))
    assert len(lines) == len(hits) and all(line.endswith("\n") and line.count("\n") == 1 for line in lines)
    assert [json.loads(line)["ref"] for line in lines] == [h.ref for h in hits]


def test_csv_round_trips_through_csv_reader(ix):
    hits = list(S.iter_search(ix, "waiver OR *", snippets=1))
    rows = list(csv.reader(io.StringIO("".join(iter_csv(hits)))))
    assert tuple(rows[0]) == render.CSV_COLUMNS
    assert len(rows) == len(hits) + 1
    for row, hit in zip(rows[1:], hits, strict=True):
        rec = dict(zip(rows[0], row, strict=True))
        assert rec["ref"] == hit.ref and rec["subject"] == (hit.subject or "")
        assert rec["tags"].split(";") == list(hit.tags) if hit.tags else rec["tags"] == ""
        assert rec["date"] == (hit.date.isoformat() if hit.date else "")
        assert rec["snippet"] == " … ".join(s.text for s in hit.snippets if s.field == "body")


def test_csv_cells_are_sanitized_and_quoted():
    rows = list(csv.reader(io.StringIO("".join(iter_csv(hostile_results().hits)))))
    rec = dict(zip(rows[0], rows[1], strict=True))
    assert rec["ref"] == "09EVIL1" and rec["source"] == "cables/evil\\n.txt"  # file names shown escaped
    assert "\x1b" not in "".join(rows[1])


def test_a_long_header_wraps_between_its_pieces():
    hit = Hit(ref="05USUNNEWYORK1234", date=datetime(2005, 1, 2), origin="USUN NEW YORK",
              classification="UNCLASSIFIED//FOR OFFICIAL USE ONLY", rank=12)
    out = render_hits_text(SearchResults((hit,), 1), color=True, width=50)
    lines = [ANSI.sub("", line) for line in out.splitlines()]
    assert lines[:2] == ["12.  05USUNNEWYORK1234  2005-01-02", "    UNCLASSIFIED//FOR OFFICIAL USE ONLY"]
    assert lines[2] == "    USUN NEW YORK"
