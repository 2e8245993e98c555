"""The README's Python API example runs, against an index built from the fixture cables."""

from __future__ import annotations

import contextlib
import io
import os
import re

import pytest
from conftest import FIXTURE_CABLES, ROOT

NOTES = ROOT / "README.md"


def _example() -> str:
    section = NOTES.read_text(encoding="utf-8").split("\n## Python API", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert blocks, "the README's Python API section has no python example"
    return blocks[0]


def test_the_python_example_runs(tmp_path):
    from cablesearch.index import CableIndex

    if not all(hasattr(CableIndex, m) for m in ("search", "count", "facets", "iter_search", "more_like")):
        pytest.skip("CableIndex does not delegate to cablesearch.search yet")
    if not (FIXTURE_CABLES.is_dir() and any(FIXTURE_CABLES.iterdir())):
        pytest.skip("tests/fixtures/cables is not there yet")
    cwd = os.getcwd()
    os.chdir(ROOT)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(_example(), str(NOTES), "exec"), {"INDEX": str(tmp_path / "index")})
    finally:
        os.chdir(cwd)
    assert "cables match; page 1 of" in out.getvalue()
