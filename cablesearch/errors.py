"""The one exception hierarchy of cablesearch.

Every error a user can meet derives from :class:`CablesearchError`, so the CLI and the
shell catch exactly one type and print it; anything else is a bug.
"""

from __future__ import annotations

import unicodedata


class CablesearchError(Exception):
    """Root of every error cablesearch raises on purpose."""


class CableParseError(CablesearchError, ValueError):
    """A cable could not be read. Carries the file (or row) and the reason."""

    def __init__(self, reason: str, *, source: str | None = None) -> None:
        self.reason = reason
        self.source = source
        super().__init__(f"{source}: {reason}" if source else reason)


class QueryError(CablesearchError, ValueError):
    """A query that cannot be read. ``str()`` shows the query with a caret under the column."""

    def __init__(self, message: str, text: str = "", start: int = 0, end: int | None = None) -> None:
        self.message = message
        self.text = text
        self.start = max(0, min(start, len(text)))
        self.end = self.start + 1 if end is None else max(end, self.start)
        super().__init__(message)

    @property
    def column(self) -> int:
        """1-based column of the error."""
        return self.start + 1

    def __str__(self) -> str:
        if not self.text:
            return self.message
        pieces = _on_one_line(self.text)
        lo, hi = _window(pieces, self.start)
        shown = ("…" if lo > 0 else "") + "".join(t for t, _ in pieces[lo:hi]) + ("…" if hi < len(pieces) else "")
        before = (1 if lo > 0 else 0) + sum(w for _, w in pieces[lo:self.start])
        width = max(1, sum(w for _, w in pieces[self.start:min(self.end, hi)]))
        return f"{self.message}\n  {shown}\n  {' ' * before}{'^' * width}"


#: How many columns of a long query an error shows, and how many of them before the caret.
SHOW_COLUMNS, SHOW_BEFORE = 76, 36


def _on_one_line(text: str) -> list[tuple[str, int]]:
    """Each character of a query as an error shows it, with its width on a terminal: tabs and line
    breaks as a space, invisible and control characters as escapes (``\\x1b``, ``\\u200b``: what
    the user typed, and nothing a terminal would act on), combining marks 0 columns wide, East
    Asian wide characters 2, so that the caret stands under the character it means."""
    out: list[tuple[str, int]] = []
    for c in text:
        if c in "\t\r\n":
            out.append((" ", 1))
            continue
        cat = unicodedata.category(c)
        if cat[0] == "C" or cat in ("Zl", "Zp"):
            code = ord(c)
            esc = f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
            out.append((esc, len(esc)))
        elif cat in ("Mn", "Me"):
            out.append((c, 0))
        else:
            out.append((c, 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1))
    return out


def _window(pieces: list[tuple[str, int]], at: int) -> tuple[int, int]:
    """The characters ``[lo, hi)`` of a long query to show around position ``at``."""
    if sum(w for _, w in pieces) <= SHOW_COLUMNS:
        return 0, len(pieces)
    lo, used = at, 0
    while lo > 0 and used + pieces[lo - 1][1] <= SHOW_BEFORE:
        lo -= 1
        used += pieces[lo][1]
    hi = at
    while hi < len(pieces) and used + pieces[hi][1] <= SHOW_COLUMNS:
        used += pieces[hi][1]
        hi += 1
    return lo, hi


class QuerySyntaxError(QueryError):
    """The query does not follow the grammar."""


class UnknownFieldError(QueryError):
    """A ``field:`` prefix that is not in the field table."""

    def __init__(
        self, field: str, suggestions: tuple[str, ...] = (), text: str = "", start: int = 0, end: int | None = None
    ) -> None:
        self.field = field
        self.suggestions = tuple(suggestions)
        hint = f" -- did you mean '{suggestions[0]}'?" if suggestions else ""
        super().__init__(f"unknown field '{field}'{hint}", text, start, end)


class QueryLimitError(QueryError):
    """The query is too long, too deep, or would expand to too many terms."""


class IndexNotFoundError(CablesearchError, FileNotFoundError):
    """No index at the given path."""


class IndexStateError(CablesearchError):
    """The index exists but cannot be used: corrupt, locked, unsafe, incomplete, or counts disagree."""


class UnsafeIndexError(IndexStateError):
    """The index folder (or a file in it) belongs to another user or can be written by others.

    whoosh keeps stored fields as pickles, so opening such an index could run someone else's code;
    see :mod:`cablesearch.trust`.
    """


class BuildError(CablesearchError):
    """A build or update failed; the previous index is left as it was."""
