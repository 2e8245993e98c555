"""The query language: text -> :class:`Query` (AST) -> canonical text / whoosh query.

``parse_query``, ``to_query_string`` and ``lex`` need only lark; ``compile_query``,
``check_expansion``, ``describe`` and ``explain`` load whoosh on first use, so the shell's
highlighter starts fast. The syntax is described in ``syntax.md`` next to this file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .ast import (
    And,
    Boost,
    DateRange,
    Fuzzy,
    MatchAll,
    Node,
    Not,
    NumberRange,
    Or,
    PartialDate,
    Phrase,
    Prefix,
    Query,
    QueryWarning,
    Term,
    Wildcard,
)
from .parser import (
    MAX_CLAUSES,
    MAX_DEPTH,
    MAX_FUZZY_LENGTH,
    MAX_QUERY_LENGTH,
    lex,
    parse_query,
)
from .unparse import to_query_string

if TYPE_CHECKING:
    from .compile import (
        MAX_EXPANSION,
        MAX_PATTERNS,
        MAX_RANGES,
        MAX_TOTAL_EXPANSION,
        check_expansion,
        compile_query,
        describe,
        explain,
    )

_LAZY = {"compile_query", "check_expansion", "describe", "explain", "MAX_EXPANSION", "MAX_PATTERNS", "MAX_RANGES",
         "MAX_TOTAL_EXPANSION", "SUBJECT_BOOST"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import compile as _compile

        return getattr(_compile, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def syntax_reference() -> str:
    """The query syntax reference (markdown), for ``cablesearch help query`` and the README."""
    from importlib.resources import files

    return (files(__name__) / "syntax.md").read_text(encoding="utf-8")


__all__ = [
    "MAX_CLAUSES",
    "MAX_DEPTH",
    "MAX_EXPANSION",
    "MAX_FUZZY_LENGTH",
    "MAX_PATTERNS",
    "MAX_QUERY_LENGTH",
    "MAX_RANGES",
    "MAX_TOTAL_EXPANSION",
    "And",
    "Boost",
    "DateRange",
    "Fuzzy",
    "MatchAll",
    "Node",
    "Not",
    "NumberRange",
    "Or",
    "PartialDate",
    "Phrase",
    "Prefix",
    "Query",
    "QueryWarning",
    "Term",
    "Wildcard",
    "check_expansion",
    "compile_query",
    "describe",
    "explain",
    "lex",
    "parse_query",
    "syntax_reference",
    "to_query_string",
]
