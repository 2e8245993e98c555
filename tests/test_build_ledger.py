"""The ledger's rules, without an index: the later source wins a key, case-insensitively; stamps decide
what is read; counts of added/replaced/removed/unchanged; the ledger file round-trips."""

from __future__ import annotations

import json
import marshal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cablesearch.ledger import (
    DUPLICATE,
    INDEXED,
    OLD,
    SOURCES_FILE,
    SOURCES_JSONL,
    Candidate,
    Entry,
    Ledger,
    read_sources,
    write_sources,
)
from cablesearch.sources import RawCable


def raw(source: str, stamp: str = "1:1") -> RawCable:
    return RawCable(source=source, path=source, stamp=stamp)


def written(ledger: Ledger, source: str, key: str, docnum: int, worker: int = 0, sha1: str = "h") -> None:
    ledger.add(Candidate(ledger.seq_of(source), source, "1:1", sha1, key, (worker, docnum)))


def test_the_source_discovered_last_wins_a_key_whatever_the_case():
    led = Ledger({})
    for s in ("a", "b", "c"):
        assert led.discovered(raw(s)) is None
    assert led.discovered(raw("a")) is False  # the same source twice is read once
    written(led, "c", "09X1", 0, worker=1)
    written(led, "a", "09x1", 0, worker=0)
    written(led, "b", "09Y2", 1, worker=0)
    assert led.resolve() == []
    assert led.expected_count() == 2
    assert led.duplicates() == [("a", "09x1", "c")]
    assert led.deleted_docs(0) == [0] and led.deleted_docs(1) == []
    assert led.changes() == (2, 0, 0, 0)
    assert [(e.source, e.state) for e in led.entries()] == [("a", DUPLICATE), ("b", INDEXED), ("c", INDEXED)]


def test_entries_and_counts_follow_the_ledger_after_they_were_asked_for():
    """changes() and entries() come from one pass kept between calls: a source put after them counts."""
    led = Ledger({"a": Entry("a", "1:1", "h1", "K1", INDEXED)})
    for s in ("a", "b"):
        led.discovered(raw(s, "2:2"))
    written(led, "a", "K1", 0)
    assert led.changes() == (0, 1, 0, 0)
    assert [e.source for e in led.entries()] == ["a"]
    written(led, "b", "K1", 1)  # the same key, discovered later: b wins, a is now a duplicate
    assert led.changes() == (1, 0, 1, 0)
    assert [(e.source, e.state) for e in led.entries()] == [("a", DUPLICATE), ("b", INDEXED)]


def test_unchanged_stamps_are_not_read_and_keep_their_documents():
    old = {"a": Entry("a", "1:1", "h1", "K1", INDEXED), "b": Entry("b", "1:1", "h2", "K2", INDEXED),
           "gone": Entry("gone", "1:1", "h3", "K3", INDEXED)}
    led = Ledger(old)
    assert led.discovered(raw("a")) is False  # same stamp
    assert led.discovered(raw("b", "2:2")) == "h2"  # touched: the worker compares hashes
    assert led.discovered(raw("new")) is None
    led.add_unchanged()
    led.add_same(Candidate(led.seq_of("b"), "b", "2:2", "h2", "K2", None))
    written(led, "new", "K4", 0)
    assert led.resolve() == []
    assert led.changes() == (1, 0, 1, 2)
    assert led.old_docs_to_delete() == ["K3"]
    assert led.unchanged_by_stamp == 1
    assert {e.source: e.stamp for e in led.entries()} == {"a": "1:1", "b": "2:2", "new": "1:1"}


def test_a_changed_source_replaces_its_old_document():
    led = Ledger({"a": Entry("a", "1:1", "h1", "K1", INDEXED)})
    assert led.discovered(raw("a", "9:9")) == "h1"
    written(led, "a", "K1", 0, sha1="h9")
    assert led.resolve() == []
    assert led.changes() == (0, 1, 0, 0)
    assert led.old_docs_to_delete() == ["K1"]


def test_a_duplicate_whose_winner_is_gone_must_be_revived():
    old = {"a": Entry("a", "1:1", "h", "K", DUPLICATE), "b": Entry("b", "1:1", "h", "K", INDEXED)}
    led = Ledger(old)
    assert led.discovered(raw("a")) is False  # unchanged, but it has no document
    led.add_unchanged()
    revive = led.resolve()
    assert [c.source for c in revive] == ["a"]
    written(led, "a", "K", 0)  # read again and written
    assert led.resolve() == []
    assert led.changes() == (1, 0, 1, 0)
    assert led.old_docs_to_delete() == ["K"]


def test_a_skipped_source_loses_its_document():
    led = Ledger({"a": Entry("a", "1:1", "h", "K", INDEXED)})
    led.discovered(raw("a", "2:2"))
    led.skip("a", "empty file")
    assert led.resolve() == [] and led.expected_count() == 0
    assert led.changes() == (0, 0, 1, 0) and led.old_docs_to_delete() == ["K"]
    assert led.skipped == [("a", "empty file")]


def test_an_old_document_stands_when_the_same_content_comes_back():
    led = Ledger({"a": Entry("a", "1:1", "h", "K", INDEXED)})
    led.discovered(raw("a", "2:2"))
    led.add_same(Candidate(led.seq_of("a"), "a", "2:2", "h", "k", None))
    assert led.winners["k"].doc == OLD
    assert led.old_docs_to_delete() == []


def test_the_ledger_file_round_trips_and_refuses_another_generation(tmp_path):
    entries = [Entry("a\udcff", "1:2", "h", "K", INDEXED), Entry("b", "", "", "K", DUPLICATE)]
    write_sources(tmp_path, entries, toc_generation=7)
    assert read_sources(tmp_path, 7) == {e.source: e for e in entries}
    assert read_sources(tmp_path, 8) is None
    (tmp_path / SOURCES_FILE).write_text("garbage")
    assert read_sources(tmp_path, 7) is None
    write_sources(tmp_path, [], toc_generation=7)
    assert read_sources(tmp_path, 7) == {}


TRICKY = ["a\udcff", 'quo"te', "back\\slash", "tab\tnew\nline\r", "\x00\x1b[31m", "naïve Straße", "北京",
          "\u2028\u2029\x85", "emoji \U0001F600", "", "\udc80\ud800 lone surrogates"]


@given(st.lists(st.tuples(st.text(), st.text(), st.text(), st.text(), st.sampled_from([INDEXED, DUPLICATE])),
                unique_by=lambda t: t[0], max_size=20))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_ledger_round_trips(tmp_path, fields):
    entries = [Entry(*f) for f in fields]
    write_sources(tmp_path, entries, toc_generation=4)
    assert read_sources(tmp_path, 4) == {e.source: e for e in entries}
    assert list(read_sources(tmp_path, 4)) == [e.source for e in entries]  # in discovery order


def test_tricky_names_round_trip(tmp_path):
    entries = [Entry(t, f"{i}:{i}", t[::-1], f"K{i}{t}", INDEXED if i % 2 else DUPLICATE) for i, t in enumerate(TRICKY)]
    write_sources(tmp_path, entries, toc_generation=3)
    assert read_sources(tmp_path, 3) == {e.source: e for e in entries}


def test_an_index_written_before_keeps_its_ledger(tmp_path):
    """The JSON-lines ledger of format 1 is read (so the first update after an upgrade reads only
    what changed) and replaced by the next write."""
    entries = [Entry(t, f"{i}:{i}", "h", f"K{i}", INDEXED) for i, t in enumerate(TRICKY)]
    lines = [json.dumps({"format": 1, "toc_generation": 5, "count": len(entries)})]
    lines += [json.dumps(list(e)) for e in entries]
    (tmp_path / SOURCES_JSONL).write_text("\n".join(lines) + "\n", encoding="ascii")
    assert read_sources(tmp_path, 5) == {e.source: e for e in entries}
    assert read_sources(tmp_path, 6) is None
    write_sources(tmp_path, entries[:2], toc_generation=6)
    assert not (tmp_path / SOURCES_JSONL).exists()
    assert read_sources(tmp_path, 6) == {e.source: e for e in entries[:2]}


def _entries4() -> list[Entry]:
    return [Entry(f"s{i}", "1:1", "h", f"K{i}", INDEXED) for i in range(4)]


@pytest.mark.parametrize("damage", [
    lambda data: data[: len(data) // 2],  # cut short
    lambda data: data[:-1],  # the last byte lost
    lambda data: b"",  # empty
    lambda data: marshal.dumps((2, 1, 4, *[["s0", "s1", "s2", "s3"]] * 4)),  # a column short
    lambda data: marshal.dumps((2, 1, 5, *[[f"s{i}" for i in range(4)] + ["s0"]] * 5)),  # a source twice
    lambda data: marshal.dumps((2, 1, 4, *[["s0", "s1", "s2", 3]] * 5)),  # not all str
    lambda data: marshal.dumps((3, 1, 4, *[["s0", "s1", "s2", "s3"]] * 5)),  # another format
    lambda data: marshal.dumps({"format": 2}),
])
def test_a_damaged_ledger_is_no_ledger(tmp_path, damage):
    write_sources(tmp_path, _entries4(), toc_generation=1)
    assert read_sources(tmp_path, 1) is not None
    path = tmp_path / SOURCES_FILE
    path.write_bytes(damage(path.read_bytes()))
    assert read_sources(tmp_path, 1) is None


@pytest.mark.parametrize("damage", [
    lambda lines: [*lines[:2], "[1, 2", *lines[2:]],  # a line cut short
    lambda lines: [*lines[:2], "", *lines[2:]],  # a blank line
    lambda lines: [*lines[:2], '["x", "1:1", "h", "K"]', *lines[2:]],  # four fields
    lambda lines: lines[:-1],  # fewer entries than the head counts
])
def test_a_damaged_old_ledger_is_no_ledger(tmp_path, damage):
    lines = [json.dumps({"format": 1, "toc_generation": 1, "count": 4})] + [json.dumps(list(e)) for e in _entries4()]
    (tmp_path / SOURCES_JSONL).write_text("\n".join(damage(lines)) + "\n")
    assert read_sources(tmp_path, 1) is None
