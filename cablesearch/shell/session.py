"""The shell's state and what one line of input does: no prompt_toolkit here.

:class:`Session` runs a line (a query or a ``:command``) against an open index and writes to a
:class:`Console`; the interactive loop (``app.py``) and the scripted loop (stdin not a terminal)
both drive it, so everything but the key bindings can be tested without a terminal.

Errors: a :class:`~cablesearch.errors.CablesearchError` prints its message (a query error with
its caret); anything else prints one ``internal error: ...`` line. Either way the shell goes on.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from ..errors import CablesearchError, QueryError
from ..model import Hit

SORTS: tuple[tuple[str, str], ...] = (
    ("relevance", "best matches first"),
    ("date", "oldest first"),
    ("-date", "newest first"),
)
DEFAULT_LIMIT = 10
MAX_LIMIT = 1000


class QuitShell(Exception):  # a signal, not an error
    """Raised by ``:quit``; the loops end on it."""


class ShellUsageError(CablesearchError, ValueError):
    """A ``:command`` used the wrong way (bad argument, nothing to show yet)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a line did: ``ok`` false when it failed; ``keep`` when the prompt should offer the text again."""

    ok: bool = True
    quit: bool = False
    keep: bool = False


# --------------------------------------------------------------------------- output


class Console:
    """Where the shell writes: results to ``stream``, errors to ``err``, long texts through a pager.

    ``color`` turns ANSI styling on; ``interactive`` allows the pager. ``size`` returns (columns, lines).
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        err: TextIO | None = None,
        color: bool = False,
        interactive: bool = False,
        size: Callable[[], tuple[int, int]] | None = None,
    ) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self._err = err
        self.color = color
        self.interactive = interactive
        self._size = size or (lambda: tuple(shutil.get_terminal_size((80, 24))))
        #: Put before error messages (the scripted loop sets ``line 3: ``).
        self.where = ""

    @property
    def err(self) -> TextIO:
        return self._err if self._err is not None else (self.stream if self.interactive else sys.stderr)

    @property
    def width(self) -> int:
        """Columns to lay results out in: the terminal's, at most 120 (80 when not a terminal)."""
        if not self.interactive:
            return 80
        return max(20, min(120, int(self._size()[0])))

    @property
    def height(self) -> int:
        return max(5, int(self._size()[1]))

    def echo(self, text: str = "") -> None:
        self.stream.write(text if text.endswith("\n") else text + "\n")
        self.stream.flush()

    def error(self, text: str) -> None:
        err = self.err
        text = self.where + text
        err.write(text if text.endswith("\n") else text + "\n")
        err.flush()

    def page(self, text: str) -> None:
        """Print ``text``; through a pager when interactive and longer than the screen."""
        if self.interactive and text.count("\n") + 1 > self.height - 2 and os.environ.get("PAGER", "x") != "":
            import click

            # less: keep colours (-R), leave the text on the screen (-X), quit at once if it fits (-F).
            unset = "LESS" not in os.environ
            if unset:
                os.environ["LESS"] = "-FRX"
            try:
                click.echo_via_pager(text, color=self.color)
            finally:
                if unset:
                    os.environ.pop("LESS", None)
        else:
            self.echo(text)


# --------------------------------------------------------------------------- the session


@dataclass
class Session:
    """An open index, the settings (limit, sort) and the last results, numbered for ``:show N``."""

    index: Any
    console: Console
    limit: int = DEFAULT_LIMIT
    sort: str = "relevance"
    query: str | None = None
    page: int = 0
    total: int = 0
    shown: dict[int, Hit] = field(default_factory=dict)

    # ------------------------------------------------------------------ lines

    def run_line(self, line: str, *, blank_is_more: bool = True) -> Outcome:
        """Run one line of input; never raises (except KeyboardInterrupt, which the loop owns)."""
        text = line.strip()
        try:
            if not text:
                if blank_is_more and self.query is not None:
                    self.more()
                return Outcome()
            if text.startswith(":"):
                from .commands import REGISTRY

                REGISTRY.run(self, text)
            else:
                self.search(text)
            return Outcome()
        except QuitShell:
            return Outcome(quit=True)
        except QueryError as e:
            self.console.error(self._clean(str(e)))
            return Outcome(ok=False, keep=True)
        except CablesearchError as e:
            self.console.error(self._clean(str(e)))
            return Outcome(ok=False)
        except BrokenPipeError:
            raise
        except Exception as e:  # the last guard: no traceback reaches the screen
            self.console.error(self._clean(f"internal error: {type(e).__name__}: {e}"))
            return Outcome(ok=False)

    @staticmethod
    def _clean(text: str) -> str:
        from ..render import sanitize

        return sanitize(text)

    # ------------------------------------------------------------------ searching

    def search(self, text: str, page: int = 1) -> None:
        """Run the query ``text`` and print a page of results; it becomes the query ``:more`` continues."""
        results = self.index.search(text, limit=self.limit, page=page, sort=self.sort)
        self.query, self.page, self.total = text, page, results.total
        first = (page - 1) * self.limit + 1
        if page == 1:
            self.shown = {}
        self.shown.update({first + i: hit for i, hit in enumerate(results.hits)})
        from .view import render_results

        for w in getattr(results, "warnings", ()) or ():
            self.console.error(self._clean(f"warning: {w}"))
        self.console.echo(render_results(results, first=first, limit=self.limit, color=self.console.color,
                                         width=self.console.width, interactive=self.console.interactive))

    def more(self) -> None:
        """The next page of the last query."""
        if self.query is None:
            raise ShellUsageError("no query yet: type one, e.g. tag:WTO")
        if self.page * self.limit >= self.total:
            self.console.echo(f"no more results ({self.total} in all)")
            return
        self.search(self.query, self.page + 1)

    def hit(self, number: int) -> Hit:
        """The hit numbered ``number`` in the results of the last query (any page, fetched if need be)."""
        if number in self.shown:
            return self.shown[number]
        if self.query is None:
            raise ShellUsageError("no results to show: run a query first")
        if not 1 <= number <= self.total:
            raise ShellUsageError(f"no result {number}: the last query has {self.total}")
        page = (number - 1) // self.limit + 1
        results = self.index.search(self.query, limit=self.limit, page=page, sort=self.sort)
        for i, h in enumerate(results.hits):
            self.shown[(page - 1) * self.limit + 1 + i] = h
        if number not in self.shown:
            raise ShellUsageError(f"no result {number}: the index changed, run the query again")
        return self.shown[number]
