"""What to complete at the cursor. Pure: text in, suggestion types out.

Completion kinds are types, as pgcli's ``sqlcompletion`` has ``Column``/``Keyword``: the completer
(``completer.py``) keeps one matcher per type. Field names and which fields have values to offer
come from :data:`cablesearch.schema.FIELDS`; command names and the kind of their argument come
from the command registry (``commands.py``), passed in so this module stays free of it.

>>> suggest("tag:wt")
(FieldValue(field='tag', prefix='wt', quoted=False),)
>>> suggest("moscow AND orga")
(FieldName(prefix='orga', facets_only=False),)
>>> suggest("moscow O")
(FieldName(prefix='O', facets_only=False), Operator(prefix='O'))
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..schema import FIELD_BY_NAME, resolve_field

# --------------------------------------------------------------------------- what to complete


@dataclass(frozen=True, slots=True)
class FieldName:
    """A field name, completed as ``name:``; ``facets_only`` keeps the fields with values to count."""

    prefix: str
    facets_only: bool = False


@dataclass(frozen=True, slots=True)
class FieldValue:
    """A value of ``field`` from the index; ``quoted`` when the user opened a ``"`` after the colon."""

    field: str
    prefix: str
    quoted: bool = False


@dataclass(frozen=True, slots=True)
class Operator:
    """A boolean operator of the query language (AND, OR, NOT)."""

    prefix: str


@dataclass(frozen=True, slots=True)
class CommandName:
    """A ``:command`` name (without the colon)."""

    prefix: str


@dataclass(frozen=True, slots=True)
class Choice:
    """One word out of a fixed set: ``(value, meta)`` pairs."""

    prefix: str
    choices: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Path:
    """A file name (``:export FILE``)."""

    prefix: str


Suggestion = FieldName | FieldValue | Operator | CommandName | Choice | Path

# --------------------------------------------------------------------------- command arguments

#: What a command's argument is; the registry names one per command, ``suggest`` maps it to suggestions.


@dataclass(frozen=True, slots=True)
class NoArg:
    pass


@dataclass(frozen=True, slots=True)
class NumberArg:
    pass


@dataclass(frozen=True, slots=True)
class QueryArg:
    pass


@dataclass(frozen=True, slots=True)
class FieldsArg:
    """Field names with values to count, separated by commas or spaces."""


@dataclass(frozen=True, slots=True)
class PathArg:
    pass


@dataclass(frozen=True, slots=True)
class ChoiceArg:
    """One of fixed words; ``choices`` is the pairs or a function returning them (help topics)."""

    choices: tuple[tuple[str, str], ...] | Callable[[], tuple[tuple[str, str], ...]]

    def pairs(self) -> tuple[tuple[str, str], ...]:
        return self.choices() if callable(self.choices) else self.choices


ArgKind = NoArg | NumberArg | QueryArg | FieldsArg | PathArg | ChoiceArg


class CommandLookup(Protocol):
    def lookup(self, name: str) -> object | None: ...


#: The query language's boolean operators, offered when a typed word is upper case (``AN`` -> ``AND``).
OPERATORS: tuple[str, ...] = ("AND", "OR", "NOT")

# Where a term starts: the beginning, after white space, a parenthesis or a unary sign.
_START = r"(?:^|(?<=[\s(\-+!]))"
_FIELD_VALUE = re.compile(_START + r'(?P<field>[A-Za-z_]\w*):(?P<value>"[^"]*|[^\s()"]*)$')
_WORD = re.compile(_START + r"(?P<word>[A-Za-z_]\w*|)$")
_COMMAND = re.compile(r"^\s*:(?P<name>\S*)$")
_COMMAND_ARG = re.compile(r"^\s*:(?P<name>\S+)\s+(?P<rest>.*)$", re.S)


def _default_commands() -> CommandLookup:
    from .commands import REGISTRY

    return REGISTRY


def suggest(text: str, commands: CommandLookup | None = None) -> tuple[Suggestion, ...]:
    """The kinds of completion that fit at the end of ``text`` (the text before the cursor).

    An empty tuple means nothing to offer (inside a phrase, after a date field, ...).
    """
    if text.lstrip().startswith(":"):
        return _suggest_command(text, commands or _default_commands())
    return suggest_query(text)


def suggest_query(text: str) -> tuple[Suggestion, ...]:
    """Suggestions inside a query."""
    m = _FIELD_VALUE.search(text)
    if m:
        name = resolve_field(m["field"])
        if name is None or not FIELD_BY_NAME[name].complete_values:
            return ()
        value = m["value"]
        quoted = value.startswith('"')
        return (FieldValue(name, value[1:] if quoted else value, quoted),)
    group = _group_field(text)
    if _open_quote(text):
        if group:
            return (FieldValue(group, text[text.rindex('"') + 1:], True),)
        return ()
    m = _WORD.search(text)
    if m is None:
        return ()
    word = m["word"]
    if group:  # tag:(PREL OR PG|
        return (FieldValue(group, word),) + ((Operator(word),) if _is_operator_prefix(word) else ())
    out: list[Suggestion] = [FieldName(word)]
    if _is_operator_prefix(word):
        out.append(Operator(word))
    return tuple(out)


def _is_operator_prefix(word: str) -> bool:
    # Operators are upper case in the grammar; a lower-case ``and`` is a word to search.
    return word.isupper() and any(op.startswith(word) for op in OPERATORS)


_GROUP_OPEN = re.compile(r"([A-Za-z_]\w*):$")


def _group_field(text: str) -> str | None:
    """The field of the innermost open ``field:( ...`` group around the end of ``text``, if it has values."""
    stack: list[str | None] = []
    in_quote = False
    for i, ch in enumerate(text):
        if ch == '"' and (i == 0 or text[i - 1] != "\\"):
            in_quote = not in_quote
        elif in_quote:
            continue
        elif ch == "(":
            m = _GROUP_OPEN.search(text, 0, i)
            stack.append(resolve_field(m[1]) if m else None)
        elif ch == ")" and stack:
            stack.pop()
    name = next((f for f in reversed(stack) if f), None)
    return name if name and FIELD_BY_NAME[name].complete_values else None


def _open_quote(text: str) -> bool:
    """True when the cursor is inside a phrase (an odd number of unescaped quotes before it)."""
    return len(re.findall(r'(?<!\\)"', text)) % 2 == 1


def _suggest_command(text: str, commands: CommandLookup) -> tuple[Suggestion, ...]:
    m = _COMMAND.match(text)
    if m:
        return (CommandName(m["name"]),)
    m = _COMMAND_ARG.match(text)
    if not m:
        return ()
    cmd = commands.lookup(m["name"])
    if cmd is None:
        return ()
    arg: ArgKind = getattr(cmd, "arg", NoArg())
    rest = m["rest"]
    if isinstance(arg, QueryArg):
        return suggest_query(rest)
    last = _last_item(rest)
    if isinstance(arg, FieldsArg):
        return (FieldName(last, facets_only=True),)
    if isinstance(arg, ChoiceArg):
        return (Choice(last, arg.pairs()),)
    if isinstance(arg, PathArg):
        return (Path(rest),)
    return ()


def _last_item(rest: str) -> str:
    parts: Sequence[str] = re.split(r"[\s,]+", rest)
    return parts[-1] if parts else ""


__all__ = [
    "OPERATORS",
    "ArgKind",
    "Choice",
    "ChoiceArg",
    "CommandName",
    "FieldName",
    "FieldValue",
    "FieldsArg",
    "NoArg",
    "NumberArg",
    "Operator",
    "Path",
    "PathArg",
    "QueryArg",
    "Suggestion",
    "suggest",
    "suggest_query",
]
