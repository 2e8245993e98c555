"""End to end: the real `cablesearch shell` in a pseudo-terminal (80x24), driven by pexpect."""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT

pexpect = pytest.importorskip("pexpect")

CPR_REQUEST = re.compile(r"\x1b\[6n")
PROMPT = re.compile(r"cables> ")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Shell:
    """A spawned shell; answers prompt_toolkit's cursor position requests as a terminal would."""

    def __init__(self, index: Path, home: Path) -> None:
        env = dict(os.environ, TERM="xterm-256color", XDG_DATA_HOME=str(home), PAGER="cat", LC_ALL="C.UTF-8")
        env.pop("NO_COLOR", None)
        env.pop("PROMPT_TOOLKIT_NO_CPR", None)
        self.t0 = time.perf_counter()
        self.child = pexpect.spawn(
            sys.executable, ["-m", "cablesearch", "shell", "--index", str(index)],
            cwd=str(ROOT), env=env, dimensions=(24, 80), encoding="utf-8", timeout=60,
        )
        self.seen = ""

    def expect(self, pattern: re.Pattern[str] | str) -> str:
        """Wait for ``pattern``; returns the output before it (CPR requests answered on the way)."""
        pattern = re.compile(re.escape(pattern)) if isinstance(pattern, str) else pattern
        before = ""
        while True:
            i = self.child.expect([CPR_REQUEST, pattern])
            before += self.child.before
            if i == 0:
                self.child.send("\x1b[1;1R")
                continue
            self.seen += before + self.child.after
            return before

    def send(self, text: str) -> None:
        self.child.send(text)


@pytest.fixture(scope="module")
def word(fixture_index_path: Path) -> str:
    from cablesearch.index import open_index

    with open_index(fixture_index_path) as ix:
        for w in ("moscow", "embassy", "government", "minister", "said"):
            if ix.search(w, limit=1).total >= 3:
                return w
    pytest.skip("no common word in the fixture cables")


def test_a_session_in_a_terminal(fixture_index_path, word, tmp_path):
    sh = Shell(fixture_index_path, tmp_path)
    sh.expect(PROMPT)
    startup = time.perf_counter() - sh.t0
    print(f"start-up to the first prompt: {startup:.2f} s")

    # The bottom toolbar shows the keys.
    sh.expect("Ctrl-D")

    # A query: numbered results with snippets, matches in bold red, the total and the time.
    sh.send(word + "\r")
    out = sh.expect(re.compile(r"cables? match(es)? · page 1 of \d+ · \d+ ms"))
    assert re.search(r"\n\s*1\. ", ANSI.sub("", out))
    assert "\x1b[1;31m" in out  # a highlighted match in a snippet
    sh.expect(PROMPT)

    # :show 1, the whole cable (PAGER=cat).
    sh.send(":show 1\r")
    sh.expect(re.compile(r"Ref(\x1b\[0m)?: +\S"))
    sh.expect(re.compile(r"Subject(\x1b\[0m)?: +\S"))

    # A bad query: the caret message, and the text offered again at the next prompt.
    sh.send("intel AND (\r")
    sh.expect("expected")
    out = sh.expect(re.compile(r"\^"))
    assert "  intel AND (" in ANSI.sub("", out)
    sh.expect(re.compile(r"cables> (\x1b\[[0-9;]*m)*intel"))  # the kept text
    sh.send("\x03")  # Ctrl-C clears the line

    # Live validation: an unknown field is named in the toolbar as it is typed.
    sh.send("orgz:fsb")
    sh.expect(re.compile(r"col 1: unknown field 'orgz'"))
    sh.send("\x03")

    # Completion of a field's values, with their counts.
    sh.send("class:")
    sh.expect(re.compile(r"\d+ cables?"))
    sh.send("\x03")

    sh.send(":quit\r")
    sh.child.expect(pexpect.EOF)
    sh.child.close()
    assert sh.child.exitstatus == 0
    assert "Traceback" not in sh.seen
    history = (tmp_path / "cablesearch" / "history").read_text(encoding="utf-8")
    assert word in history and ":show 1" in history


def test_ctrl_d_quits_in_a_terminal(fixture_index_path, tmp_path):
    sh = Shell(fixture_index_path, tmp_path)
    sh.expect(PROMPT)
    sh.send("\x04")
    sh.child.expect(pexpect.EOF)
    sh.child.close()
    assert sh.child.exitstatus == 0
