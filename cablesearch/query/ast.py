"""The query AST: frozen dataclasses between the grammar and whoosh.

Every node carries the ``start``/``end`` character span of the text it came from. Spans are
left out of equality (and of ``repr``), so ``parse_query(to_query_string(node)).node == node``
holds although the canonical text puts things at other columns.

Field names are canonical (``org``, never ``organization``), or ``None`` for a bare term,
which searches the default fields. Values are kept as the user typed them (``FSB``, not
``fsb``); what the index stores is the compiler's business.

Invariants the parser guarantees (and ``to_query_string`` relies on):

- ``Term.text``, ``Prefix.text``, ``Wildcard.text`` and ``Fuzzy.text`` are single words of the
  grammar's WORD; ``Term`` and ``Fuzzy`` have no ``*``/``?``; ``Prefix.text`` has none either
  (the ``*`` is implied); ``Wildcard.text`` has a ``*`` or ``?`` that is not just one trailing
  ``*``. ``Prefix(field, "")`` is ``field:*`` (the field has any value) and needs a field.
- ``Term``/``Phrase``/``Prefix``/``Wildcard``/``Fuzzy`` never name a date or number field;
  ``DateRange`` names a date field and ``NumberRange`` a number field.
- ``And``/``Or`` have at least two items; nesting is kept as written (``(a b) c`` is an
  ``And`` inside an ``And``).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field, fields
from datetime import datetime

_DATE = re.compile(r"([0-9]{4})(?:-([0-9]{1,2})(?:-([0-9]{1,2}))?)?")


#: Typographic double quotes (pasted from a document), read as ``"`` by the parser. Single quotes
#: are not: ``’`` is also an apostrophe.
TYPOGRAPHIC_QUOTES = "\u201c\u201d\u201e\u201f\u00ab\u00bb"


@dataclass(frozen=True, slots=True)
class PartialDate:
    """A date to the precision the user gave: a year, a month or a day."""

    year: int
    month: int | None = None
    day: int | None = None

    def __str__(self) -> str:
        s = f"{self.year:04d}"
        if self.month is not None:
            s += f"-{self.month:02d}"
            if self.day is not None:
                s += f"-{self.day:02d}"
        return s

    @classmethod
    def parse(cls, text: str) -> PartialDate:
        """``2009``, ``2009-11`` or ``2009-11-03``; a ValueError that says what is wrong otherwise."""
        m = _DATE.fullmatch(text)
        if not m:
            raise ValueError("expected YYYY, YYYY-MM or YYYY-MM-DD")
        year, month, day = (int(g) if g else None for g in m.groups())
        if year < 1:
            raise ValueError("there is no year 0")
        if month is not None and not 1 <= month <= 12:
            raise ValueError(f"month {month} is not 1-12")
        if day is not None:
            last = calendar.monthrange(year, month)[1]
            if not 1 <= day <= last:
                raise ValueError(f"{calendar.month_name[month]} {year} has {last} days")
        return cls(year, month, day)

    def first(self) -> datetime:
        """The first instant of the period."""
        return datetime(self.year, self.month or 1, self.day or 1)

    def last(self) -> datetime:
        """The last instant (microsecond) of the period."""
        month = self.month or 12
        day = self.day or calendar.monthrange(self.year, month)[1]
        return datetime(self.year, month, day, 23, 59, 59, 999_999)


def _span() -> int:
    return field(default=0, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class MatchAll:
    """``*`` on its own: every cable."""

    start: int = _span()
    end: int = _span()


@dataclass(frozen=True, slots=True)
class Term:
    """One word: ``intel``, ``org:FSB``, ``tag:WTO``."""

    field: str | None
    text: str
    start: int = _span()
    end: int = _span()


@dataclass(frozen=True, slots=True)
class Phrase:
    """``"crypto importation"``; with ``slop`` (``"intel waiver"~5``) the words may have up to
    ``slop`` other words between them, in order. ``slop=None`` is an exact phrase."""

    field: str | None
    text: str
    slop: int | None = None
    start: int = _span()
    end: int = _span()


@dataclass(frozen=True, slots=True)
class Prefix:
    """``crypt*`` (``text`` is ``crypt``); ``org:*`` when ``text`` is empty."""

    field: str | None
    text: str
    start: int = _span()
    end: int = _span()


@dataclass(frozen=True, slots=True)
class Wildcard:
    """``te?t``, ``*crypt``: ``?`` one character, ``*`` any run."""

    field: str | None
    text: str
    start: int = _span()
    end: int = _span()


@dataclass(frozen=True, slots=True)
class Fuzzy:
    """``beyrle~`` (distance 1) or ``beyrle~2``: words within ``distance`` edits."""

    field: str | None
    text: str
    distance: int = 1
    start: int = _span()
    end: int = _span()


@dataclass(frozen=True, slots=True)
class DateRange:
    """A date field from ``low`` to ``high``, each a year, a month or a day; ``None`` is open.

    ``date:2009`` is ``DateRange("date", 2009, 2009)``: an inclusive bound takes in the whole
    of its period (``high`` 2009 reaches 2009-12-31 23:59:59.999999), an exclusive one none of
    it (``date:>2009`` starts in 2010). An open bound is always stored as inclusive.
    """

    field: str
    low: PartialDate | None
    high: PartialDate | None
    low_incl: bool = True
    high_incl: bool = True
    start: int = _span()
    end: int = _span()


@dataclass(frozen=True, slots=True)
class NumberRange:
    """A number field from ``low`` to ``high``, ``None`` open: ``year:2009``, ``redactions:>3``."""

    field: str
    low: int | None
    high: int | None
    low_incl: bool = True
    high_incl: bool = True
    start: int = _span()
    end: int = _span()


@dataclass(frozen=True, slots=True)
class Boost:
    """``fsb^2``: the node's score times ``factor``."""

    node: Node
    factor: float
    start: int = _span()
    end: int = _span()


@dataclass(frozen=True, slots=True)
class And:
    """All of the items (``a AND b``, ``a && b``, ``a b``)."""

    items: tuple[Node, ...]
    start: int = _span()
    end: int = _span()


@dataclass(frozen=True, slots=True)
class Or:
    """Any of the items (``a OR b``, ``a || b``)."""

    items: tuple[Node, ...]
    start: int = _span()
    end: int = _span()


@dataclass(frozen=True, slots=True)
class Not:
    """Cables without the item (``NOT a``, ``!a``, ``-a``)."""

    item: Node
    start: int = _span()
    end: int = _span()


Node = MatchAll | Term | Phrase | Prefix | Wildcard | Fuzzy | DateRange | NumberRange | Boost | And | Or | Not
LEAVES = (MatchAll, Term, Phrase, Prefix, Wildcard, Fuzzy, DateRange, NumberRange)
NODE_TYPES = (*LEAVES, Boost, And, Or, Not)


def span(node: Node) -> tuple[int, int]:
    """The node's ``(start, end)`` in the query text."""
    return node.start, node.end


def children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, And | Or):
        return node.items
    if isinstance(node, Not):
        return (node.item,)
    if isinstance(node, Boost):
        return (node.node,)
    return ()


def walk(node: Node):
    """Every node, parents before children (iterative: safe on any depth)."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(children(n)))


def dump(node: Node) -> str:
    """The tree, one node a line, indented, with each node's span: for ``--explain``."""
    lines: list[str] = []
    stack: list[tuple[Node, int]] = [(node, 0)]
    while stack:
        n, depth = stack.pop()
        attrs = []
        for f in fields(n):
            value = getattr(n, f.name)
            if f.compare and not isinstance(value, (tuple, *NODE_TYPES)):
                attrs.append(f"{f.name}={value if isinstance(value, PartialDate) else repr(value)}")
        lines.append(f"{'  ' * depth}{type(n).__name__}({', '.join(attrs)})  [{n.start}:{n.end}]")
        stack.extend((c, depth + 1) for c in reversed(children(n)))
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class QueryWarning:
    """Something the query does that is probably not what was meant; the search still runs."""

    message: str
    start: int = 0
    end: int = 0

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: the AST root, the warnings, and the text it came from."""

    node: Node
    text: str = ""
    warnings: tuple[QueryWarning, ...] = ()
