"""The one exception hierarchy of cablesearch.

Every error a user can meet derives from :class:`CablesearchError`, so the CLI and the
shell catch exactly one type and print it; anything else is a bug.
"""

from __future__ import annotations


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
        # Queries are one line; tabs and newlines would break the caret's alignment.
        shown = "".join(" " if c in "\t\r\n" else c for c in self.text)
        width = max(1, min(self.end, len(shown) + 1) - self.start)
        caret = " " * self.start + "^" * width
        return f"{self.message}\n  {shown}\n  {caret}"


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
