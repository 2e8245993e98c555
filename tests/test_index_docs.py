"""The README's Python example for building runs, and its stats table names every key stats() returns."""

from __future__ import annotations

import contextlib
import io
import os
import re

from conftest import ROOT

NOTES = ROOT / "README.md"


def _section() -> str:
    return NOTES.read_text(encoding="utf-8").split("\n## Building and updating the index", 1)[1].split("\n## ", 1)[0]


def test_the_python_example_runs(tmp_path, fixture_cables):
    blocks = re.findall(r"```python\n(.*?)```", _section(), re.S)
    assert blocks, "the README's index section has no python example"
    cwd = os.getcwd()
    os.chdir(ROOT)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(blocks[0], str(NOTES), "exec"), {"INDEX": str(tmp_path / "index")})
    finally:
        os.chdir(cwd)
    text = out.getvalue()
    assert "cables indexed" in text and "duplicate 04ANKARA7106" in text
    assert "0 0 0 " in text  # the update found nothing to do


def test_the_stats_table_lists_every_key(fixture_index):
    table = _section().split("### Stats", 1)[1].split("###", 1)[0]
    documented = set(re.findall(r"`([a-z_]+)`", table))
    assert set(fixture_index.stats()) <= documented
