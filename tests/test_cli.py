"""The command line as a user runs it: a subprocess, its output and its exit codes."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def run(*args: str, index: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "cablesearch", *args]
    if index is not None:
        cmd += ["--index", str(index)]
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=120)


def test_search_prints_the_seed_cable_and_exits_0(fixture_index_path):
    r = run("search", "org:FSB AND tag:WTO", index=fixture_index_path)
    assert r.returncode == 0, r.stderr
    assert "09MOSCOW2723" in r.stdout
    assert "INTEL'S CRYPTO IMPORTATION WAIVER" in r.stdout
    assert "FSB" in r.stdout  # a snippet line shows the match
    assert "\x1b" not in r.stdout  # NO_COLOR and not a terminal: plain


def test_no_results_exit_1_and_bad_query_exit_2_with_caret(fixture_index_path):
    r = run("search", "tag:NOSUCHTAGATALL", index=fixture_index_path)
    assert r.returncode == 1
    r = run("search", "orgg:FSB", index=fixture_index_path)
    assert r.returncode == 2
    assert "unknown field 'orgg' -- did you mean 'org'?" in r.stderr
    lines = r.stderr.splitlines()
    caret = next(line for line in lines if line.strip().startswith("^"))
    query_line = lines[lines.index(caret) - 1]
    assert query_line[caret.index("^"):].startswith("orgg")
    assert "Traceback" not in r.stderr


def test_a_query_starting_with_a_minus_is_explained_not_a_bare_usage_error(fixture_index_path):
    r = run("search", "-tag:PREL", index=fixture_index_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "cablesearch search -- '-tag:PREL'" in r.stderr and "NOT tag:PREL" in r.stderr
    after_dashes = run("search", "--count", "--index", str(fixture_index_path), "--", "-tag:PREL")
    negated = run("search", "NOT tag:PREL", "--count", index=fixture_index_path)
    assert after_dashes.returncode == 0 and after_dashes.stdout == negated.stdout
    assert int(negated.stdout) > 0


def test_missing_index_is_a_message_not_a_traceback(tmp_path):
    r = run("search", "intel", index=tmp_path / "nothing-here")
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and "cablesearch:" in r.stderr


def test_json_count_and_streamed_exports_agree(fixture_index_path):
    q = "class:confidential"
    count = run("search", q, "--count", index=fixture_index_path)
    n = int(count.stdout.strip())
    assert n > 1
    doc = json.loads(run("search", q, "--json", "--limit", "3", index=fixture_index_path).stdout)
    assert doc["total"] == n and len(doc["hits"]) == min(3, n)
    jl = run("search", q, "--jsonl", index=fixture_index_path).stdout.splitlines()
    refs_jsonl = [json.loads(line)["ref"] for line in jl]
    rows = list(csv.DictReader(io.StringIO(run("search", q, "--csv", index=fixture_index_path).stdout)))
    assert len(refs_jsonl) == len(rows) == n
    assert [r["ref"] for r in rows] == refs_jsonl


def test_count_honours_json_and_facets_and_refuses_a_stream(fixture_index_path):
    q = "moscow not russia"  # a warning to carry
    n = int(run("search", q, "--count", index=fixture_index_path).stdout)
    full = json.loads(run("search", q, "--json", "--facets", "tag", index=fixture_index_path).stdout)
    done = run("search", q, "--count", "--json", "--facets", "tag", index=fixture_index_path)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["query"] == q and doc["total"] == n == full["total"] and "hits" not in doc
    assert [w["message"] for w in doc["warnings"]] == [w["message"] for w in full["warnings"]] != []
    assert doc["facets"] == full["facets"] and doc["facets"]["tag"]
    text = run("search", q, "--count", "--facets", "tag", index=fixture_index_path).stdout.splitlines()
    top = full["facets"]["tag"][0]
    assert text[0] == str(n) and text[1] == "tag" and text[2].split() == [top["value"], str(top["count"])]
    for fmt in ("--jsonl", "--csv"):
        refused = run("search", q, "--count", fmt, index=fixture_index_path)
        assert refused.returncode == 2 and refused.stdout == ""
        assert f"use it without {fmt}" in refused.stderr and "Traceback" not in refused.stderr


@pytest.mark.parametrize("mode", [["--count"], ["--jsonl"], ["--csv"], []])
def test_every_output_mode_shows_the_query_warnings(fixture_index_path, mode):
    """`iran not nuclear` searches 'not' as a word (and drops it): the warning reaches stderr
    whatever the output, --count and the streamed exports too."""
    done = run("search", "moscow not russia", *mode, index=fixture_index_path)
    assert done.returncode == 0, done.stderr
    assert "warning:" in done.stderr and "'not'" in done.stderr
    assert "warning" not in done.stdout


def test_streamed_exports_honour_an_explicit_page(fixture_index_path):
    q = "class:confidential"
    out = run("search", q, "--jsonl", index=fixture_index_path).stdout
    every = [json.loads(line)["ref"] for line in out.splitlines()]
    assert len(every) > 5
    first = [json.loads(line)["ref"] for line in
             run("search", q, "--jsonl", "-n", "2", index=fixture_index_path).stdout.splitlines()]
    assert first == every[:2]
    rows = list(csv.DictReader(io.StringIO(run("search", q, "--csv", "-n", "2", "-p", "2",
                                               index=fixture_index_path).stdout)))
    assert [r["ref"] for r in rows] == every[2:4]
    beyond = run("search", q, "--csv", "-n", "10", "-p", "999", index=fixture_index_path)
    assert beyond.returncode == 1


def test_sort_by_date_orders_the_listing(fixture_index_path):
    doc = json.loads(run("search", "*", "--json", "--sort", "date", "--limit", "50", index=fixture_index_path).stdout)
    dates = [h["date"] for h in doc["hits"] if h["date"]]
    assert dates == sorted(dates) and len(dates) > 5


def test_facets_on_the_command_line(fixture_index_path):
    r = run("search", "*", "--facets", "class,year", index=fixture_index_path)
    assert r.returncode == 0
    assert "CONFIDENTIAL" in r.stdout and "2009" in r.stdout


def test_explain_shows_the_tree_and_the_whoosh_query():
    r = run("search", "--explain", "org:FSB -tag:PREL")
    assert r.returncode == 0
    assert "canonical: org:FSB AND NOT tag:PREL" in r.stdout
    assert "org:fsb" in r.stdout


def test_show_prints_the_whole_cable(fixture_index_path):
    r = run("show", "09moscow2723", index=fixture_index_path)
    assert r.returncode == 0
    assert "09MOSCOW2723" in r.stdout and "CONFIDENTIAL" in r.stdout
    assert "Embassy will follow-up with the FSB" in r.stdout
    assert run("show", "99NOWHERE1", index=fixture_index_path).returncode == 1


def test_stats(fixture_index_path):
    r = run("stats", "--json", index=fixture_index_path)
    figures = json.loads(r.stdout)
    assert figures["cables"] == sum(figures["by_classification"].values()) > 0


def test_help_topics():
    from cablesearch.helptext import field_help, query_help

    assert run("help", "query").stdout.strip() == query_help().strip()
    assert run("help", "fields").stdout.strip() == field_help().strip()


def test_build_reports_skipped_files_and_exit_1(tmp_path, fixture_cables):
    src = tmp_path / "src"
    src.mkdir()
    seed = fixture_cables / "annotated" / "000_615657d95461bb59.txt"
    (src / seed.name).write_bytes(seed.read_bytes())
    (src / "empty.txt").write_bytes(b"")
    r = run("build", str(src), index=tmp_path / "ix")
    assert r.returncode == 1, r.stderr
    assert "empty.txt" in r.stderr
    r = run("search", "org:FSB", "--count", index=tmp_path / "ix")
    assert r.stdout.strip() == "1"


def test_build_prints_a_note_for_a_date_it_could_not_read_and_exits_0(tmp_path):
    path = tmp_path / "cables.csv"
    path.write_text('"1","13/45/2009 10:35","89ROME1","Embassy Rome","UNCLASSIFIED","","",'
                    '"UNCLAS ROME 000001\nSUBJECT: ONE"\n', encoding="utf-8")
    r = run("build", str(path), index=tmp_path / "ix")
    assert r.returncode == 0, r.stderr
    assert f"note: {path}:1: indexed, but its date '13/45/2009 10:35' is not a date; it has no date" in r.stderr
    assert "1 indexed with a note (listed in skipped.tsv)" in r.stdout + r.stderr


@pytest.mark.parametrize("args", [["search"], ["show"], ["build"], ["nosuchcommand"]])
def test_usage_errors_exit_2(args):
    r = run(*args)
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_a_page_past_the_end_says_so_and_exits_1(fixture_index_path):
    n = int(run("search", "class:confidential", "--count", index=fixture_index_path).stdout)
    past = n // 10 + 2
    r = run("search", "class:confidential", "-p", str(past), index=fixture_index_path)
    assert r.returncode == 1, r.stderr
    assert f"{n:,} cables match · page {past} is past the last page, {-(-n // 10)}" in r.stdout


def test_explain_with_an_output_option_is_a_usage_error_and_facets_say_why_not(fixture_index_path):
    for extra in (["--count"], ["--json"], ["--csv"], ["--facets", "tag"]):
        r = run("search", "org:FSB", "--explain", *extra, index=fixture_index_path)
        assert r.returncode == 2 and r.stdout == "" and "--explain shows how the query is read" in r.stderr
    r = run("search", "org:FSB", "--facets", "body", index=fixture_index_path)
    assert r.returncode == 2 and "cannot count by 'body': it holds running text, not values to count" in r.stderr
