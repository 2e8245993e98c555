"""Colours for the line being typed, from the grammar's own lexer, and the live check of it.

:func:`line_styles` turns the tokens of :func:`cablesearch.query.lex` into prompt_toolkit style
classes, ``class:query.<token type>`` (``query.field``, ``query.phrase``, ``query.and`` ...), so
the highlighter knows no token of its own. The values after a date or number field get
``query.date`` / ``query.number`` (the field's kind comes from ``FIELDS``; the lexer marks an
unknown field ``ERROR``), and the span of the current error (:func:`check_line`) ``query.error``.
A ``:command`` line colours its name, and the query after ``:explain`` as a query.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from prompt_toolkit.document import Document
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.lexers import Lexer

from ..errors import QueryError
from ..schema import FIELD_BY_NAME, resolve_field

#: How a field's value runs on (the grammar's ``value`` rule): state -> {token type: next state}.
#: ``WORD``, ``WORD FUZZY``, ``PHRASE``, ``PHRASE FUZZY``, ``CMP WORD``, ``WORD DOTDOT WORD``, ``RANGE``.
_VALUE_STATES: dict[str, dict[str, str]] = {
    "start": {"WORD": "word", "PHRASE": "phrase", "CMP": "cmp", "RANGE": "end"},
    "word": {"FUZZY": "end", "DOTDOT": "dotdot"},
    "phrase": {"FUZZY": "end"},
    "cmp": {"WORD": "end"},
    "dotdot": {"WORD": "end"},
    "end": {},
}


@dataclass(frozen=True, slots=True)
class LineWarning:
    """A query warning with its span in the line."""

    message: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Check:
    """The verdict on a line: the error (message and span in the line) and any warnings."""

    error: QueryError | None = None
    warnings: tuple[LineWarning, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None


@functools.lru_cache(maxsize=256)
def check_line(text: str) -> Check:
    """Parse a query, or look up a command (and parse its query argument), for the toolbar and the
    highlighter; spans are columns of ``text``. Cached per text: both ask on every keystroke."""
    if not text.strip():
        return Check()
    stripped = text.lstrip()
    if not stripped.startswith(":"):
        return _check_query(text)
    from .commands import REGISTRY
    from .suggest import QueryArg

    lead = len(text) - len(stripped)
    name, sep, rest = stripped.partition(" ")
    cmd = REGISTRY.lookup(name[1:])
    if cmd is None:
        return Check(QueryError(REGISTRY.not_found(name[1:]), text, lead, lead + len(name)))
    if not isinstance(cmd.arg, QueryArg) or not rest.strip():
        return Check()
    at = lead + len(name) + len(sep)
    inner = _check_query(rest)
    error = inner.error
    if error is not None:
        error = QueryError(error.message, text, error.start + at, error.end + at)
    return Check(error, tuple(LineWarning(w.message, w.start + at, w.end + at) for w in inner.warnings))


def _check_query(text: str) -> Check:
    from ..query import parse_query

    try:
        q = parse_query(text)
    except QueryError as e:
        return Check(e)
    except Exception as e:  # a bug in the parser must not break typing
        return Check(QueryError(f"internal error: {type(e).__name__}: {e}", text, 0, len(text)))
    return Check(None, tuple(LineWarning(str(w), getattr(w, "start", 0), getattr(w, "end", 0))
                             for w in getattr(q, "warnings", ()) or ()))


def _tokens(text: str) -> list[tuple[str, int, int]]:
    from ..query import lex

    try:
        return [(str(t[0]), int(t[1]), int(t[2])) for t in lex(text)]
    except Exception:
        return []


def query_styles(text: str) -> list[str]:
    """One style string per character of the query ``text``."""
    styles = [""] * len(text)
    if not text.strip():
        return styles
    groups: list[str | None] = [None]  # the field kind of each open parenthesis (``date:(2008 OR 2009)``)
    kind: str | None = None  # the kind of the field whose value is being read
    state: str | None = None
    for ttype, start, end in _tokens(text):
        style = f"class:query.{ttype.lower()}"
        if ttype == "FIELD":
            canon = resolve_field(text[start:end].rstrip(":"))
            kind, state = (FIELD_BY_NAME[canon].kind if canon else None), "start"
        elif ttype == "LPAR":
            groups.append(kind if state == "start" else groups[-1])
            state = None
        elif ttype == "RPAR":
            if len(groups) > 1:
                groups.pop()
            state = None
        else:
            if state is None and groups[-1] is not None:
                kind, state = groups[-1], "start"
            state = _VALUE_STATES.get(state or "end", {}).get(ttype)
            if state is not None and kind in ("date", "number"):
                style += f" class:query.{kind}"
        for i in range(max(0, start), min(end, len(text))):
            styles[i] = style
    return styles


def line_styles(text: str, check: Callable[[str], Check] = check_line) -> list[str]:
    """One style string per character of the line: tokens, the command name, warnings, the error."""
    stripped = text.lstrip()
    if stripped.startswith(":"):
        from .commands import REGISTRY
        from .suggest import QueryArg

        name, sep, rest = stripped.partition(" ")
        cmd = REGISTRY.lookup(name[1:])
        styles = [""] * (len(text) - len(stripped)) + ["class:command"] * len(name) + [""] * len(sep)
        if cmd is not None and isinstance(cmd.arg, QueryArg):
            styles += query_styles(rest)
        else:
            styles += ["class:command.arg"] * len(rest)
    else:
        styles = query_styles(text)
    verdict = check(text)
    for w in verdict.warnings:
        _mark(styles, w.start, w.end, "class:query.warning")
    if verdict.error is not None:
        _mark(styles, verdict.error.start, verdict.error.end, "class:query.error")
    return styles


def _mark(styles: list[str], start: int, end: int, style: str) -> None:
    for i in range(max(0, start), min(max(end, start + 1), len(styles))):
        styles[i] = (styles[i] + " " + style).strip()


def fragments(text: str, check: Callable[[str], Check] = check_line) -> StyleAndTextTuples:
    """``text`` as prompt_toolkit (style, text) fragments, runs of one style joined."""
    out: StyleAndTextTuples = []
    for ch, style in zip(text, line_styles(text, check), strict=True):
        if out and out[-1][0] == style:
            out[-1] = (style, out[-1][1] + ch)
        else:
            out.append((style, ch))
    return out


class QueryLexer(Lexer):
    """The prompt's lexer. A line is usually one query; a pasted newline is coloured line by line."""

    def __init__(self, check: Callable[[str], Check] = check_line) -> None:
        self.check = check

    def lex_document(self, document: Document) -> Callable[[int], StyleAndTextTuples]:
        lines = document.lines
        cache: dict[int, StyleAndTextTuples] = {}

        def get_line(i: int) -> StyleAndTextTuples:
            if i not in cache:
                cache[i] = fragments(lines[i], self.check) if 0 <= i < len(lines) else []
            return cache[i]

        return get_line


__all__ = ["Check", "LineWarning", "QueryLexer", "check_line", "fragments", "line_styles", "query_styles"]
