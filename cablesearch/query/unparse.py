"""AST -> canonical query text: ``parse_query(to_query_string(node)).node == node``.

Canonical means: canonical field names, explicit ``AND``/``OR``/``NOT`` (never ``&&``,
``-``, or a bare space), the fewest parentheses that keep the tree as it is, ranges in their
shortest form (``date:2009``, ``date:2008..2009-06``, ``year:>=2005``, ``[a TO b}`` only when
an end is exclusive), a boost as a plain decimal.
"""

from __future__ import annotations

from decimal import Decimal

from .ast import (
    TYPOGRAPHIC_QUOTES,
    And,
    Boost,
    DateRange,
    Fuzzy,
    MatchAll,
    Node,
    Not,
    NumberRange,
    Or,
    Phrase,
    Prefix,
    Term,
    Wildcard,
)


def to_query_string(node: Node) -> str:
    """The canonical query text for an AST."""
    if isinstance(node, Or):
        return " OR ".join(_wrap(item, isinstance(item, Or)) for item in node.items)
    if isinstance(node, And):
        return " AND ".join(_wrap(item, isinstance(item, And | Or)) for item in node.items)
    if isinstance(node, Not):
        return "NOT " + _wrap(node.item, isinstance(node.item, And | Or))
    if isinstance(node, Boost):
        return _wrap(node.node, isinstance(node.node, And | Or | Not | Boost)) + "^" + format_number(node.factor)
    return _leaf(node)


def _wrap(node: Node, parens: bool) -> str:
    text = to_query_string(node)
    return f"({text})" if parens else text


def format_number(x: float) -> str:
    """``2.0`` -> ``2``, ``0.5`` -> ``0.5``, ``1e-05`` -> ``0.00001``: never an exponent."""
    if x.is_integer():
        return str(int(x))
    return format(Decimal(repr(x)), "f")


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    for q in TYPOGRAPHIC_QUOTES:  # which the parser would read as '"' unless escaped
        escaped = escaped.replace(q, "\\" + q)
    return '"' + escaped + '"'


def _range(low, high, low_incl: bool, high_incl: bool) -> str:
    if low is None and high is None:
        return "*"
    if high is None:
        return (">=" if low_incl else ">") + str(low)
    if low is None:
        return ("<=" if high_incl else "<") + str(high)
    if low_incl and high_incl:
        return str(low) if low == high else f"{low}..{high}"
    return f"{'[' if low_incl else '{'}{low} TO {high}{']' if high_incl else '}'}"


def _leaf(node: Node) -> str:
    if isinstance(node, MatchAll):
        return "*"
    prefix = f"{node.field}:" if node.field else ""
    if isinstance(node, Term | Wildcard):
        return prefix + node.text
    if isinstance(node, Phrase):
        return prefix + _quote(node.text) + ("" if node.slop is None else f"~{node.slop}")
    if isinstance(node, Prefix):
        return prefix + node.text + "*"
    if isinstance(node, Fuzzy):
        return prefix + node.text + "~" + ("" if node.distance == 1 else str(node.distance))
    if isinstance(node, DateRange | NumberRange):
        return prefix + _range(node.low, node.high, node.low_incl, node.high_incl)
    raise TypeError(f"not a query node: {node!r}")
