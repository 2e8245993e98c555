"""AST -> whoosh query. Pure: the schema (and optionally a reader, for the expansion limit)
come in as arguments. The only module of the query language that knows whoosh; the search
layer runs what this returns.

Semantics decided here (and documented in ``syntax.md``):

- A bare term searches :data:`cablesearch.schema.DEFAULT_FIELDS`, the subject boosted
  :data:`SUBJECT_BOOST` times above the body.
- Words and phrases go through the field's own analyzer (``tokenize(mode="query")``), so body
  and subject are stemmed (``waivers`` finds ``waiver``) and entity, keyword and id values are
  lowercased. A word the analyzer splits in two (``09MOSCOW1234-x``) becomes a phrase.
- A word or phrase the analyzer drops entirely (a stop word such as ``the``, one letter,
  punctuation) is left out, with a warning; if nothing is left at all, that is an error.
- ``"a b"~N`` allows N words between consecutive words, in order: whoosh slop N+1 (1 is exact),
  plus any positions the analyzer skipped, always below the engine's entity gap.
- Prefixes, wildcards and fuzzy words are not analyzed, only lowercased: ``waiv*``.
- ``NOT x`` inside an AND excludes; anywhere else (alone, in an OR) it means every cable
  without x: ``a OR -b`` is "a, or anything without b".
"""

from __future__ import annotations

import functools
import itertools
from datetime import datetime

from whoosh import query as wq
from whoosh.fields import Schema

from .. import schema as fields_table
from ..engine import ENTITY_GAP, whoosh_schema
from ..errors import QueryError, QueryLimitError, QuerySyntaxError
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
    Phrase,
    Prefix,
    Query,
    QueryWarning,
    Term,
    Wildcard,
    dump,
    walk,
)
from .unparse import format_number, to_query_string

#: How far a bare term's subject match outranks its body match.
SUBJECT_BOOST = 2.0
#: Most index terms one prefix, wildcard or fuzzy word may stand for.
MAX_EXPANSION = 1_000
#: Most index terms all the prefixes, wildcards and fuzzy words of one query may stand for together.
MAX_TOTAL_EXPANSION = 2 * MAX_EXPANSION
#: Most prefixes, wildcards, fuzzy words and ``field:*`` in one query: whoosh scans the index's word
#: list for each, several times per search, so fifty take seconds even on a 41-cable index.
MAX_PATTERNS = 4
#: Most date and number terms in one query: whoosh reads each as a few dozen index terms
#: (600 ``date:2009..2010`` take 8 s on a 41-cable index).
MAX_RANGES = 20
#: Leading characters a fuzzy word must get right (whoosh's default; keeps it fast).
FUZZY_PREFIX = 1
#: Most subqueries under one whoosh ``And``: whoosh chains an And's matchers one inside the next, so
#: 300 terms take seconds and 1,000 overflow the stack (RecursionError); more are nested in groups.
MAX_AND_CHILDREN = 16


@functools.cache
def _default_schema() -> Schema:
    return whoosh_schema()


def compile_query(
    query: Query | Node,
    schema: Schema | None = None,
    *,
    reader=None,
    max_expansion: int = MAX_EXPANSION,
    warnings: list[QueryWarning] | None = None,
) -> wq.Query:
    """The whoosh query for a parsed query (or a bare AST node).

    ``schema`` is the index's whoosh schema (default: ``engine.whoosh_schema()``). With a
    ``reader``, prefixes, wildcards and fuzzy words that stand for more than ``max_expansion``
    index terms raise :class:`QueryLimitError` (see :func:`check_expansion`). Words left out
    because the index does not keep them are appended to ``warnings`` when it is given.
    """
    text = query.text if isinstance(query, Query) else ""
    node = query.node if isinstance(query, Query) else query
    _check_cost(node, text)
    compiler = _Compiler(schema if schema is not None else _default_schema(), text)
    result = compiler.compile(node, 1.0)
    if warnings is not None:
        warnings.extend(compiler.warnings)
    if result is None:
        dropped = ", ".join(f"'{d}'" for d in compiler.dropped)
        raise QueryError(
            f"nothing left to search: the index does not keep {dropped} (common words, single letters, punctuation)",
            text, node.start, node.end,
        )
    result = _standalone(result)
    if reader is not None:
        check_expansion(result, reader, max_expansion, text)
    return result


def _check_cost(node: Node, text: str) -> None:
    """Too many prefixes, wildcards and fuzzy words (:data:`MAX_PATTERNS`), or date and number
    terms (:data:`MAX_RANGES`), for one search: QueryLimitError at the first one over."""
    patterns = ranges = 0
    for n in walk(node):
        if isinstance(n, Prefix | Wildcard | Fuzzy):
            patterns += 1
            if patterns > MAX_PATTERNS:
                raise QueryLimitError(f"query has more than {MAX_PATTERNS} prefixes, wildcards and fuzzy words",
                                      text, n.start, n.end)
        elif isinstance(n, DateRange | NumberRange):
            ranges += 1
            if ranges > MAX_RANGES:
                raise QueryLimitError(f"query has more than {MAX_RANGES} date and number terms", text, n.start, n.end)


def _and(parts: list[wq.Query]) -> wq.Query:
    """``wq.And(parts)``, as a tree of Ands of at most :data:`MAX_AND_CHILDREN` when there are more:
    repeated parts dropped (as whoosh's ``normalize`` does: every one costs time on every
    document), the exclusions (NOTs) merged into one ``NOT (a OR b ...)``, the rest in nested groups."""
    if len(parts) <= MAX_AND_CHILDREN:
        return wq.And(parts)
    parts = list(dict.fromkeys(parts))
    keep = [q for q in parts if not isinstance(q, wq.Not)]
    excluded = [q.query for q in parts if isinstance(q, wq.Not)]
    if excluded:
        keep.append(wq.Not(excluded[0] if len(excluded) == 1 else wq.Or(excluded)))
    while len(keep) > MAX_AND_CHILDREN:
        step = MAX_AND_CHILDREN
        keep = [g[0] if len(g) == 1 else wq.And(g) for g in (keep[i:i + step] for i in range(0, len(keep), step))]
    return keep[0] if len(keep) == 1 else wq.And(keep)


def _standalone(q: wq.Query) -> wq.Query:
    """A NOT that is not excluding from an AND means every cable without it."""
    return wq.And([wq.Every(), q]) if isinstance(q, wq.Not) else q


def _leaf(q: wq.Query, node: Node) -> wq.Query:
    q.startchar, q.endchar = node.start, node.end
    return q


class _Compiler:
    def __init__(self, schema: Schema, text: str) -> None:
        self.schema = schema
        self.text = text
        self.warnings: list[QueryWarning] = []
        self.dropped: list[str] = []

    def error(self, message: str, node: Node) -> QuerySyntaxError:
        return QuerySyntaxError(message, self.text, node.start, node.end)

    def compile(self, node: Node, boost: float) -> wq.Query | None:
        if isinstance(node, And):
            parts = [q for q in (self.compile(i, boost) for i in node.items) if q is not None]
            if not parts:
                return None
            if all(isinstance(q, wq.Not) for q in parts):
                parts.insert(0, wq.Every())
            return parts[0] if len(parts) == 1 else _and(parts)
        if isinstance(node, Or):
            parts = [_standalone(q) for q in (self.compile(i, boost) for i in node.items) if q is not None]
            if not parts:
                return None
            return parts[0] if len(parts) == 1 else wq.Or(parts)
        if isinstance(node, Not):
            inner = self.compile(node.item, 1.0)
            return None if inner is None else wq.Not(_standalone(inner))
        if isinstance(node, Boost):
            return self.compile(node.node, boost * node.factor)
        if isinstance(node, MatchAll):
            return _leaf(wq.Every(boost=boost), node)
        if isinstance(node, DateRange):
            return _leaf(_date_range(node, boost), node)
        if isinstance(node, NumberRange):
            return _leaf(wq.NumericRange(node.field, node.low, node.high, not node.low_incl, not node.high_incl,
                                         boost=boost), node)
        fields = fields_table.DEFAULT_FIELDS if node.field is None else (node.field,)
        parts = []
        for name in fields:
            b = boost * (SUBJECT_BOOST if node.field is None and name == "subject" else 1.0)
            q = self.leaf(node, name, b)
            if q is not None:
                parts.append(_leaf(q, node))
        if not parts:
            shown = to_query_string(node)
            self.dropped.append(shown)
            self.warnings.append(QueryWarning(
                f"'{shown}' is left out: the index does not keep common words, single letters or punctuation",
                node.start, node.end))
            return None
        return parts[0] if len(parts) == 1 else wq.Or(parts)

    def leaf(self, node: Node, name: str, boost: float) -> wq.Query | None:
        kind = fields_table.FIELD_BY_NAME[name].kind
        if isinstance(node, Prefix):
            return wq.Every(name, boost=boost) if not node.text else wq.Prefix(name, node.text.lower(), boost=boost)
        if isinstance(node, Wildcard):
            return wq.Wildcard(name, node.text.lower(), boost=boost)
        if isinstance(node, Fuzzy):
            return wq.FuzzyTerm(name, node.text.lower(), boost=boost, maxdist=node.distance, prefixlength=FUZZY_PREFIX)
        assert isinstance(node, Term | Phrase), node
        text = node.text if isinstance(node, Term) else " ".join(node.text.split())
        tokens = [(t.text, t.pos) for t in self.schema[name].tokenize(text, mode="query", positions=True)]
        positional = kind in ("text", "entity")
        if isinstance(node, Phrase) and node.slop is not None and not positional:
            raise self.error(f"proximity (~) is for text and names; '{name}' holds whole values", node)
        if not tokens:
            return None
        if len(tokens) == 1:
            return wq.Term(name, tokens[0][0], boost=boost)
        if not positional:
            raise self.error(f"'{name}' takes one value at a time; for either, write {name}:(a OR b)", node)
        # Positions skip what the analyzer dropped; allow those gaps, never an entity gap.
        gap = max(b - a - 1 for (_, a), (_, b) in itertools.pairwise(tokens))
        user_slop = node.slop if isinstance(node, Phrase) and node.slop else 0
        slop = 1 + user_slop + gap
        return wq.Phrase(name, [t for t, _ in tokens], slop=min(slop, ENTITY_GAP - 1), boost=boost)


def _date_range(node: DateRange, boost: float) -> wq.Query:
    low = high = None
    if node.low is not None:
        low = node.low.first() if node.low_incl else node.low.last()
    if node.high is not None:
        high = node.high.last() if node.high_incl else node.high.first()
    return wq.DateRange(node.field, low, high, startexcl=not node.low_incl, endexcl=not node.high_incl, boost=boost)


def _expansion(q: wq.Query, reader):
    """The index terms ``q`` stands for, lazily; None when it does not expand."""
    if isinstance(q, wq.Every):
        return reader.lexicon(q.fieldname) if q.fieldname not in (None, "", "*") else None
    if isinstance(q, wq.Prefix | wq.Wildcard | wq.FuzzyTerm):
        return q.expanded_terms(reader)
    return None


def check_expansion(q: wq.Query, reader, limit: int = MAX_EXPANSION, text: str = "",
                    total_limit: int = MAX_TOTAL_EXPANSION) -> None:
    """Raise :class:`QueryLimitError` if a prefix, wildcard, fuzzy word or ``field:*`` in ``q``
    would stand for more than ``limit`` index terms, or all of them together for more than
    ``total_limit``. Counts lazily and stops at the limit, so ``a*`` on a big index fails fast
    instead of stalling."""
    total = 0
    for leaf in q.leaves() if not q.is_leaf() else (q,):
        terms = _expansion(leaf, reader)
        if terms is None:
            continue
        count = sum(1 for _ in itertools.islice(terms, limit + 1))
        total += count
        if count > limit or total > total_limit:
            start, end = getattr(leaf, "startchar", 0), getattr(leaf, "endchar", 0)
            shown = text[start:end] if text and end > start else describe(leaf)
            if count > limit:
                advice = "make it longer" if isinstance(leaf, wq.Prefix) else "make it more specific"
                message = f"'{shown}' would match more than {limit:,} terms; {advice}"
            else:
                message = (f"the prefixes, wildcards and fuzzy words up to '{shown}' would match more than "
                           f"{total_limit:,} terms in all; use fewer or make them more specific")
            raise QueryLimitError(message, text, start, end)


def describe(q: wq.Query) -> str:
    """whoosh's ``str(q)``, made readable and complete: dates as dates (whoosh prints the
    internal numbers), ``*`` for every cable, a phrase's slop as ``~n`` and every boost as
    ``^n`` (whoosh drops both from most nodes)."""
    boost = getattr(q, "boost", 1.0)
    if isinstance(q, wq.Every):
        s = f"{q.fieldname}:*" if q.fieldname else "*"
    elif isinstance(q, wq.DateRange):
        s = f"{q.fieldname}:{'{' if q.startexcl else '['}{_iso(q.startdate)} TO {_iso(q.enddate)}"
        s += "}" if q.endexcl else "]"
    elif isinstance(q, wq.Not):
        s = "NOT " + describe(q.query)
    elif isinstance(q, wq.And | wq.Or):
        s = "(" + q.JOINT.join(describe(c) for c in q.subqueries) + ")"
    elif isinstance(q, wq.Phrase):
        s = f'{q.fieldname}:"{" ".join(q.words)}"' + (f"~{q.slop}" if q.slop != 1 else "")
    elif isinstance(q, wq.FuzzyTerm):
        s = f"{q.fieldname}:{q.text}~{q.maxdist}"
    elif isinstance(q, wq.Term):
        s = f"{q.fieldname}:{q.text}"
    else:
        s = str(q)
    return s + (f"^{format_number(boost)}" if boost != 1 else "")


def _iso(d: datetime | None) -> str:
    return "" if d is None else d.isoformat()


def explain(text: str, schema: Schema | None = None, *, reader=None) -> str:
    """What a query means, stage by stage: the AST, the canonical text, the whoosh query and
    any warnings. Raises QueryError like :func:`parse_query`. For ``search --explain``."""
    from .parser import parse_query

    query = parse_query(text)
    warnings = list(query.warnings)
    compiled = compile_query(query, schema, reader=reader, warnings=warnings)
    lines = ["query:     " + _visible(text), "ast:"]
    lines += ["  " + _visible(line) for line in dump(query.node).splitlines()]
    lines.append("canonical: " + _visible(to_query_string(query.node)))
    lines.append("whoosh:    " + _visible(describe(compiled)))
    lines += ["warning:   " + _visible(w.message) for w in warnings]
    return "\n".join(lines)


def _visible(text: str) -> str:
    """Control and format characters (ESC, C1, bidi overrides ...) written as Python escapes
    (``\\x1b``): ``explain`` shows what was typed, and a terminal never acts on it."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
