"""The shell on a real index without a terminal: scripted stdin (as `cablesearch shell < queries.txt`),
the prompt wiring through prompt_toolkit's pipe input, and the build from the sample when there is no index."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT


@pytest.fixture(scope="module")
def word(fixture_index_path: Path) -> str:
    """A word that several fixture cables contain, to search for."""
    from cablesearch.index import open_index

    with open_index(fixture_index_path) as ix:
        for w in ("moscow", "embassy", "government", "minister", "said"):
            if ix.search(w, limit=1).total >= 3:
                return w
    pytest.skip("no common word in the fixture cables")


def run(path: Path, script: str, capsys) -> tuple[int, str, str]:
    from cablesearch.shell.app import run_shell

    out = io.StringIO()
    rc = run_shell(path, input=io.StringIO(script), output=out)
    return rc, out.getvalue(), capsys.readouterr().err


def test_scripted_session_prints_plain_results(fixture_index_path, word, capsys):
    rc, out, err = run(fixture_index_path, f"# a comment\n{word}\n\n:limit 1\n:more\n:show 1\n:quit\nnot run\n", capsys)
    assert rc == 0, err
    assert err == ""
    assert "\x1b" not in out and "cables> " not in out
    assert re.search(r"(?m)^ ?1\. \S", out) and "cables match · page 1 of" in out
    assert re.search(r"(?m)^2\. \S", out)  # :more after :limit 1 shows the second hit
    assert "Ref:" in out  # :show 1
    assert "not run" not in out


def test_a_failing_line_is_reported_with_its_number_and_the_exit_code_is_1(fixture_index_path, word, capsys):
    rc, out, err = run(fixture_index_path, f"{word}\nintel AND (\n:sort sideways\n{word}\n", capsys)
    assert rc == 1
    lines = err.splitlines()
    assert lines[0].startswith("line 2: ")
    assert lines[1] == "  intel AND ("
    assert lines[2].strip() == "^"
    assert any(x.startswith("line 3: unknown sort") for x in lines)
    assert out.count("cables match") == 2  # the lines after the errors still ran


def test_facets_stats_explain_export(fixture_index_path, word, capsys, tmp_path):
    target = tmp_path / "out.jsonl"
    csv_target = tmp_path / "out.csv"
    script = f"{word}\n:facets tag class\n:stats\n:explain {word}\n:export {target}\n:export {csv_target}\n"
    rc, out, err = run(fixture_index_path, script, capsys)
    assert rc == 0, err
    assert "\ntag\n" in f"\n{out}" and "class" in out
    assert "cables" in out  # :stats
    assert "canonical" in out.lower() or "whoosh" in out.lower()  # :explain
    lines = target.read_text(encoding="utf-8").splitlines()
    assert f"exported {len(lines)} cables to {target}" in out
    import json

    assert all(json.loads(x)["ref"] for x in lines)
    assert csv_target.read_text(encoding="utf-8").startswith("rank,ref,")


def test_the_cli_runs_a_script_from_stdin(fixture_index_path, word, tmp_path):
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path), NO_COLOR="")
    p = subprocess.run(
        [sys.executable, "-m", "cablesearch", "shell", "--index", str(fixture_index_path)],
        input=f"{word}\n:help\norgz:x\n", capture_output=True, text=True, timeout=120, cwd=ROOT, env=env,
    )
    assert p.returncode == 1, p.stderr
    assert "cables match" in p.stdout and ":show N" in p.stdout
    assert "\x1b" not in p.stdout
    assert "line 3: unknown field 'orgz'" in p.stderr
    assert "Traceback" not in p.stderr + p.stdout


def test_prompt_wiring_through_a_pipe_input(fixture_index_path, word, capsys, tmp_path, monkeypatch):
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from cablesearch.shell.app import history_path, run_shell

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    with create_pipe_input() as inp:
        inp.send_text(f":limit 2\r{word}\r\r:show 1\rintel AND (\r\x03:quit\r")
        rc = run_shell(fixture_index_path, input=inp, output=DummyOutput())
    out = capsys.readouterr().out
    assert rc == 0
    assert "page 1 of" in out and "page 2 of" in out  # Enter on an empty line: the next page
    assert "Ref:" in out
    assert "expected" in out and "^" in out  # the caret message (errors go to the screen)
    history = history_path().read_text(encoding="utf-8")
    assert word in history and ":show 1" in history


def test_ctrl_d_quits(fixture_index_path, tmp_path, monkeypatch, capsys):
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from cablesearch.shell.app import run_shell

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    with create_pipe_input() as inp:
        inp.send_text("\x04")
        assert run_shell(fixture_index_path, input=inp, output=DummyOutput()) == 0


def test_no_index_builds_one_from_the_sample_and_says_so(tmp_path, fixture_cables, monkeypatch, capsys):
    import itertools

    import cablesearch.sources as sources
    from cablesearch.shell.app import ensure_index

    # The shipped sample stands in for a few fixture cables, to keep the test fast.
    monkeypatch.setattr(sources, "sample_sources",
                        lambda: itertools.islice(sources.discover([fixture_cables]), 5))
    said: list[str] = []
    ix = ensure_index(tmp_path / "index", said.append)
    try:
        assert len(ix) > 0
    finally:
        ix.close()
    assert "building one from the sample" in said[0]
    ix = ensure_index(tmp_path / "index", said.append)  # the second time it is just opened
    ix.close()
    assert len(said) == 2


def test_the_build_progress_line_prints_a_notice_as_a_sanitized_line_of_its_own():
    import io
    from types import SimpleNamespace

    from cablesearch import BuildNotice, BuildProgress
    from cablesearch.shell.app import _progress

    console = SimpleNamespace(stream=io.StringIO())
    show = _progress(console)
    show(BuildNotice("recovered", 0, None, 0, "a previous build (pid 7) of ix\x1b]0;pwned\x07 was killed"))
    show(BuildProgress("indexing", 3, 10, 0))
    out = console.stream.getvalue()
    assert "a previous build (pid 7) of ix" in out and "pwned\x07" not in out and "\x1b]0" not in out
    assert "recovered: 0" not in out and out.endswith("indexing: 3/10 cables\x1b[K")


def test_a_missing_index_that_cannot_be_built_is_a_message(tmp_path, capsys):
    from cablesearch.shell.app import run_shell

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    rc = run_shell(blocker / "index", input=io.StringIO("x\n"), output=io.StringIO())
    assert rc == 2
    err = capsys.readouterr().err
    assert err.startswith("cablesearch: ") or "cablesearch:" in err
    assert "Traceback" not in err


def test_value_lists_come_from_the_index_and_find_what_they_promise(fixture_index_path):
    from cablesearch.index import open_index
    from cablesearch.shell.completer import quote_value
    from cablesearch.shell.values import VALUE_FIELDS, ValueCache

    with open_index(fixture_index_path) as ix:
        cache = ValueCache.for_index(ix).start()
        assert cache.wait(120)
        assert not cache.errors
        for field in VALUE_FIELDS:
            values = cache.get(field)
            for value, count in values.items[:3]:
                # what completion inserts finds at least the cables it counted
                assert ix.count(f"{field}:{quote_value(value)}") >= count, (field, value)
        tags = cache.get("tag").items
        assert tags and all(v == v.upper() for v, _ in tags)
        assert any(" " in v for v, _ in cache.get("org").items)  # whole mentions, not words
