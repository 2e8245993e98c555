"""The prompt_toolkit completer: ``suggest()`` says what fits, one matcher per suggestion type.

As pgcli's ``suggestion_matchers``: field names with their help (from ``FIELDS``), values from the
index with their counts (from :class:`~cablesearch.shell.values.ValueCache`), operators,
``:commands`` with their help (from the registry), fixed choices and file names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator

from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document

from ..render import sanitize
from ..schema import FIELDS, Field
from .commands import REGISTRY, Registry
from .suggest import (
    OPERATORS,
    Choice,
    CommandName,
    FieldName,
    FieldValue,
    Operator,
    Path,
    Suggestion,
    suggest,
)
from .values import ValueCache

#: How many values one completion offers at most (the menu scrolls; more is noise and time).
MAX_VALUES = 100
_OPERATOR_HELP = {"AND": "both sides must match", "OR": "either side may match", "NOT": "leave out what follows"}
# The grammar's WORD, less the wildcards: what a value can be without quotes.
_BARE = re.compile(r'^[^\s():"^~\[\]{}<>\\&|.!\-*?][^\s():"^~\[\]{}<>\\*?]*$')


def quote_value(value: str, *, force: bool = False) -> str:
    """``value`` as the query language takes it: bare when it is one plain word, else in quotes."""
    bare = _BARE.match(value) and not any(op in value for op in ("..", "&&", "||"))
    if not force and bare and value not in OPERATORS:
        return value
    return '"' + value.replace("\\", " ").replace('"', " ").strip() + '"'


def facetable(f: Field) -> bool:
    """Fields worth counting with ``:facets``: those with values to offer, and numbers (year)."""
    return f.complete_values or f.kind == "number"


class ShellCompleter(Completer):
    """Completes queries and ``:commands``; ``values`` may be None (no index: no values offered)."""

    def __init__(self, values: ValueCache | None = None, commands: Registry = REGISTRY,
                 max_values: int = MAX_VALUES) -> None:
        self.values = values
        self.commands = commands
        self.max_values = max_values
        self.matchers: dict[type, Callable[[Suggestion, bool], Iterable[Completion]]] = {
            FieldName: self._field_names,
            FieldValue: self._field_values,
            Operator: self._operators,
            CommandName: self._command_names,
            Choice: self._choices,
            Path: self._paths,
        }

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterator[Completion]:
        requested = complete_event.completion_requested
        for s in suggest(document.text_before_cursor, self.commands):
            yield from self.matchers[type(s)](s, requested)

    # ------------------------------------------------------------------ matchers

    def _field_names(self, s: FieldName, requested: bool) -> Iterator[Completion]:  # type: ignore[override]
        if not s.prefix and not requested:
            return  # not after every space: only on Tab
        p = s.prefix.lower()
        colon = "" if s.facets_only else ":"
        seen: set[str] = set()
        for f in FIELDS:
            if not f.searchable or (s.facets_only and not facetable(f)):
                continue
            if f.name.startswith(p):
                seen.add(f.name)
                yield Completion(f.name + colon, -len(s.prefix), display=f.name + colon, display_meta=f.help)
        for f in FIELDS:
            if not f.searchable or f.name in seen or (s.facets_only and not facetable(f)):
                continue
            for alias in f.aliases:
                if p and alias.startswith(p):
                    yield Completion(alias + colon, -len(s.prefix), display=alias + colon,
                                     display_meta=f"= {f.name}: {f.help}")
                    break

    def _field_values(self, s: FieldValue, requested: bool) -> Iterator[Completion]:  # type: ignore[override]
        if self.values is None:
            return
        start = -(len(s.prefix) + (1 if s.quoted else 0))
        for raw, count in self.values.get(s.field).match(s.prefix, self.max_values):
            # Values come from cable text: no control character may reach the menu or the query.
            value = sanitize(raw).strip()
            if not value:
                continue
            yield Completion(quote_value(value, force=s.quoted), start, display=value,
                             display_meta=f"{count:,} cable{'s' if count != 1 else ''}")

    def _operators(self, s: Operator, requested: bool) -> Iterator[Completion]:  # type: ignore[override]
        for op in OPERATORS:
            if op.startswith(s.prefix) and op != s.prefix:
                yield Completion(op, -len(s.prefix), display_meta=_OPERATOR_HELP.get(op, "operator"))

    def _command_names(self, s: CommandName, requested: bool) -> Iterator[Completion]:  # type: ignore[override]
        p = s.prefix.lower()
        for cmd in self.commands:
            if cmd.name.startswith(p):
                yield Completion(":" + cmd.name, -(len(s.prefix) + 1), display=cmd.usage, display_meta=cmd.help)

    def _choices(self, s: Choice, requested: bool) -> Iterator[Completion]:  # type: ignore[override]
        p = s.prefix.lower()
        for value, meta in s.choices:
            if value.lower().startswith(p):
                yield Completion(value, -len(s.prefix), display_meta=meta)

    def _paths(self, s: Path, requested: bool) -> Iterator[Completion]:  # type: ignore[override]
        if not s.prefix and not requested:
            return
        sub = Document(s.prefix, len(s.prefix))
        yield from PathCompleter(expanduser=True).get_completions(sub, CompleteEvent(completion_requested=True))


__all__ = ["MAX_VALUES", "ShellCompleter", "facetable", "quote_value"]
