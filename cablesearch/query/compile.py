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

import copy
import dataclasses
import functools
import itertools
import weakref
from collections.abc import Iterable
from datetime import datetime

from whoosh import query as wq
from whoosh.fields import Schema
from whoosh.reading import TermNotFound

from .. import bulk, phrases, wordlists
from .. import schema as fields_table
from ..engine import ENTITY_GAP, legacy_entity_words, whoosh_schema
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
#: Smallest product of nested boosts: below it, scores times the boost round towards 0.
MIN_BOOST = 1e-100

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
        result = expand_patterns(result, reader, max_expansion, text)
        if warnings is not None:
            warnings.extend(unknown_values(node, compiler.schema, reader))
    return result


#: A keyword field with at most this many values lists them all when a query names another.
LIST_VALUES = 12


def _values_hint(reader, field: str, value: str, values: list[str]) -> str:
    """What to say after "no cable has ...": every value when there are few, else the closest, else
    the most common (when counting them is cheap), else how many there are."""
    import difflib

    if not values:
        return ""
    if len(values) <= LIST_VALUES:
        return f"; its values here: {', '.join(values)}"
    close = difflib.get_close_matches(value, values, n=3, cutoff=0.6)
    if close:
        return f"; did you mean {' or '.join(repr(c) for c in close)}?"
    if len(values) <= COUNT_VALUES:
        common = sorted(values, key=lambda v: -reader.doc_frequency(field, v))[:LIST_VALUES // 2]
        return f"; the most common of its {len(values):,} values here: {', '.join(common)}"
    return f"; none of its {len(values):,} values here is close"


#: Up to this many values, a miss with no close value names the most common (a count per value).
COUNT_VALUES = 200


def unknown_values(node: Node, schema: Schema, reader) -> list[QueryWarning]:
    """A warning for each value of a keyword field (``tag``, ``class``, ``para``...) that no cable
    in the index has, with the closest values it does have (or all of them, when they are few):
    ``class:topsecret`` or ``tag:PRELL`` find nothing, and a bare count of 0 does not say why."""
    out = []
    for n in walk(node):
        if not isinstance(n, Term | Phrase) or n.field is None:  # class:secret, class:"top secret"
            continue
        field = fields_table.FIELD_BY_NAME.get(n.field)
        if field is None or field.kind != "keyword" or not field.complete_values:
            continue
        parts = n.text.split(field.all_of) if field.all_of else [n.text]
        for part in parts:
            tokens = [t.text for t in schema[n.field].tokenize(part, mode="query")]
            missing = [t for t in tokens if (n.field, t) not in reader]
            if not missing:
                continue
            values = [v.decode("utf-8", "replace") for v in reader.lexicon(n.field)]
            for value in missing:
                out.append(QueryWarning(f"no cable in this index has {n.field} {value!r}"
                                        f"{_values_hint(reader, n.field, value, values)}", n.start, n.end))
    return out


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
        keep.append(bulk.Not(excluded[0] if len(excluded) == 1 else wq.Or(excluded)))
    while len(keep) > MAX_AND_CHILDREN:
        step = MAX_AND_CHILDREN
        keep = [g[0] if len(g) == 1 else wq.And(g) for g in (keep[i:i + step] for i in range(0, len(keep), step))]
    return keep[0] if len(keep) == 1 else wq.And(keep)


def _standalone(q: wq.Query) -> wq.Query:
    """A NOT that is not excluding from an AND means every cable without it."""
    return wq.And([bulk.Every(), q]) if isinstance(q, wq.Not) else q


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
                parts.insert(0, bulk.Every())
            return parts[0] if len(parts) == 1 else _and(parts)
        if isinstance(node, Or):
            parts = [_standalone(q) for q in (self.compile(i, boost) for i in node.items) if q is not None]
            if not parts:
                return None
            return parts[0] if len(parts) == 1 else wq.Or(parts)
        if isinstance(node, Not):
            inner = self.compile(node.item, 1.0)
            return None if inner is None else bulk.Not(_standalone(inner))
        if isinstance(node, Boost):
            if boost * node.factor < MIN_BOOST:  # nested boosts: scores would round to 0 and drop matches
                raise QueryError(f"boosts multiply to less than {MIN_BOOST:g}: too small to rank by", self.text,
                                 node.start, node.end)
            return self.compile(node.node, boost * node.factor)
        if isinstance(node, MatchAll):
            return _leaf(bulk.Every(boost=boost), node)
        if isinstance(node, DateRange):
            return _leaf(_date_range(node, boost), node)
        if isinstance(node, NumberRange):
            field = self.schema[node.field]
            least, most = getattr(field, "min_value", None), getattr(field, "max_value", None)
            if least is not None and any(v is not None and not least <= v <= most for v in (node.low, node.high)):
                raise QueryError(f"'{node.field}' holds numbers from {least:,} to {most:,}", self.text,
                                 node.start, node.end)
            return _leaf(bulk.NumericRange(node.field, node.low, node.high, not node.low_incl, not node.high_incl,
                                           boost=boost), node)
        fields = (fields_table.DEFAULT_FIELDS if node.field is None
                  else fields_table.FIELD_BY_NAME[node.field].union_of or (node.field,))
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
        if isinstance(node, Prefix):
            return wq.Every(name, boost=boost) if not node.text else wq.Prefix(name, node.text.lower(), boost=boost)
        if isinstance(node, Wildcard):
            return wq.Wildcard(name, node.text.lower(), boost=boost)
        if isinstance(node, Fuzzy):
            return wq.FuzzyTerm(name, node.text.lower(), boost=boost, maxdist=node.distance, prefixlength=FUZZY_PREFIX)
        assert isinstance(node, Term | Phrase), node
        spelling = fields_table.FIELD_BY_NAME[name].spelling
        other = spelling(node.text) if spelling is not None else None
        if other and other.lower() != " ".join(node.text.split()).lower():
            # origin:"Embassy Moscow": the value as typed, and as the index spells posts (MOSCOW)
            both = (self.exact_leaf(node, name, boost),
                    self.exact_leaf(dataclasses.replace(node, text=other), name, boost))
            parts = [p for p in both if p is not None]
            return None if not parts else parts[0] if len(parts) == 1 else wq.Or(parts)
        return self.exact_leaf(node, name, boost)

    def exact_leaf(self, node: Term | Phrase, name: str, boost: float) -> wq.Query | None:
        """A word or phrase of ``name`` as written (no other spelling)."""
        kind = fields_table.FIELD_BY_NAME[name].kind
        sep = fields_table.FIELD_BY_NAME[name].all_of
        if sep and sep in node.text:  # class:SECRET//NOFORN: every part
            parts = [self.leaf(dataclasses.replace(node, text=p), name, boost)
                     for p in node.text.split(sep) if p.strip()]
            parts = [p for p in parts if p is not None]
            return None if not parts else parts[0] if len(parts) == 1 else wq.And(parts)
        text = node.text if isinstance(node, Term) else " ".join(node.text.split())
        tokens = [(t.text, t.pos) for t in self.schema[name].tokenize(text, mode="query", positions=True)]
        positional = kind in ("text", "entity")
        if isinstance(node, Phrase) and node.slop is not None and not positional:
            raise self.error(f"proximity (~) is for text and names; '{name}' holds whole values", node)
        if not tokens:
            return None
        user_slop = node.slop if isinstance(node, Phrase) and node.slop else 0
        found = self.words_query(name, tokens, user_slop, boost, node)
        if kind == "entity":
            # An index built before names split at hyphens holds `al-qa'ida` as one word: ask for
            # that too, so it answers as it did (the split words find nothing there).
            legacy = legacy_entity_words(text)
            if legacy and legacy != [t for t, _ in tokens]:
                old = self.words_query(name, [(w, i) for i, w in enumerate(legacy)], user_slop, boost, node)
                return wq.Or([found, old])
        return found

    def words_query(self, name: str, tokens: list[tuple[str, int]], user_slop: int, boost: float,
                    node: Node) -> wq.Query:
        if len(tokens) == 1:
            return bulk.Term(name, tokens[0][0], boost=boost)
        if fields_table.FIELD_BY_NAME[name].kind not in ("text", "entity"):
            raise self.error(f"'{name}' takes one value at a time; for either, write {name}:(a OR b)", node)
        # Positions skip what the analyzer dropped; allow those gaps, never an entity gap.
        gap = max(b - a - 1 for (_, a), (_, b) in itertools.pairwise(tokens))
        slop = 1 + user_slop + gap
        return phrases.Phrase(name, [t for t, _ in tokens], slop=min(slop, ENTITY_GAP - 1), boost=boost)


def _date_range(node: DateRange, boost: float) -> wq.Query:
    low = high = None
    if node.low is not None:
        low = node.low.first() if node.low_incl else node.low.last()
    if node.high is not None:
        high = node.high.last() if node.high_incl else node.high.first()
    return bulk.DateRange(node.field, low, high, startexcl=not node.low_incl, endexcl=not node.high_incl, boost=boost)


def _expansion(q: wq.Query, reader, stop: int, per_segment: dict[str, tuple[bytes, ...]] | None = None,
               infos: dict[str, tuple[object, ...]] | None = None):
    """The index terms ``q`` stands for, lazily (at least ``stop`` if there are as many); None
    when it does not expand."""
    if isinstance(q, wq.Every):
        return reader.lexicon(q.fieldname) if q.fieldname not in (None, "", "*") else None
    if isinstance(q, wq.Prefix | wq.Wildcard | wq.FuzzyTerm):
        return ((q.fieldname, t) for t in _pattern_terms(q, reader, stop, per_segment, infos))
    return None


def _pattern_terms(q: wq.MultiTerm, reader, stop: int, per_segment: dict[str, tuple[bytes, ...]] | None = None,
                   infos: dict[str, tuple[object, ...]] | None = None):
    """The index terms of a prefix, wildcard or fuzzy word, sorted, read segment by segment, as
    whoosh's matchers read them: whoosh's merged word list of a multi-segment index costs several
    times the sum of the segments' (a leading ``*`` reads the whole list), and its fuzzy matching on
    the merged list also counts a transposition as one edit, which the segments' does not. Stops
    after ``stop`` terms (enough to tell a query over the limit). With ``per_segment``, a listing
    that did not stop early also fills it: each segment's own terms, sorted, by segment id; with
    ``infos``, each segment's term infos, in the same order, where the walk read them (a prefix)."""
    leaves = [r for r, _ in reader.leaf_readers()] if hasattr(reader, "leaf_readers") else [reader]
    found: set[bytes] = set()
    mine: dict[str, tuple[bytes, ...]] = {}
    mine_infos: dict[str, tuple[object, ...]] = {}
    for leaf in leaves:
        own = []
        for item in _leaf_pattern_items(q, leaf):
            own.append(item)
            found.add(item[0])
            if len(found) >= stop:
                break
        if len(found) >= stop:
            break
        key = _segment_id(leaf)
        if key is not None:
            own.sort(key=lambda item: item[0])
            mine[key] = tuple(t for t, _ in own)
            if own and all(info is not None for _, info in own):
                mine_infos[key] = tuple(info for _, info in own)
    else:
        if per_segment is not None:
            per_segment.update(mine)
        if infos is not None:
            infos.update(mine_infos)
    yield from sorted(found)


def _segment_id(reader) -> str | None:
    """The id of a one-segment reader's segment (None for another reader)."""
    segment = getattr(reader, "segment", None)
    return segment().segment_id() if callable(segment) else None


def _leaf_pattern_items(q: wq.MultiTerm, leaf) -> Iterable[tuple[bytes, object]]:
    """One segment's terms of a pattern, in index order, each with its term info where the walk
    reads it anyway (None where not): a wildcard from the segment's word list
    (:mod:`cablesearch.wordlists`), a prefix from whoosh's walk of the segment's terms with their
    infos (what whoosh's ``expand_prefix`` walks, keys only), anything else from whoosh's walk."""
    if isinstance(q, wq.Wildcard):
        found = wordlists.match(leaf, q.fieldname, q.text)
        if found is not None:
            return ((t, None) for t in found)
    elif type(q) is wq.Prefix and hasattr(leaf, "iter_prefix") and hasattr(leaf, "_terms"):
        return leaf.iter_prefix(q.fieldname, q.text)
    return ((t, None) for t in q._btexts(leaf))


class _Expanded:
    """A prefix, wildcard or fuzzy word whose index terms were listed once, when it was compiled
    against a reader: whoosh asks a pattern for its terms several times per search (the matcher
    of every segment, size estimates, the highlighter), each time scanning the lexicon; this one
    answers from the list. ``str()`` and highlighting are those of the pattern; the scores are
    those of the ``Or`` of its terms (see :meth:`matcher`)."""

    terms: tuple[bytes, ...] = ()
    #: Each segment's own terms (sorted), by segment id, listed with ``terms``.
    per_segment: dict[str, tuple[bytes, ...]] | None = None
    #: Each segment's term infos, in the order of its ``per_segment`` terms, where the listing read them.
    segment_infos: dict[str, tuple[object, ...]] | None = None

    def _btexts(self, ixreader) -> tuple[bytes, ...]:
        return self.terms

    def _held(self, reader) -> list[tuple[bytes, object]]:
        """``(term, term info)`` of each of the terms the one-segment ``reader`` holds, found once
        per reader: from the listing at compile time where it covers the segment, else looked up
        one by one (most of a pattern's terms are absent from most segments). whoosh's ``Or`` asks
        each pattern its size (``estimate_size``) before its matcher, and the union reads postings
        from the same infos: about 60-110 µs a lookup in a segment's hashed word table, for each of
        up to 1,000 terms."""
        fieldname = self.field()
        seen = self.__dict__.get("_seen")
        if seen is None:
            seen = self.__dict__["_seen"] = weakref.WeakKeyDictionary()
        got = seen.get(reader)
        if got is not None and got[0] == fieldname and got[1] is self.terms:
            return got[2]
        key = _segment_id(reader) or ""
        present = (self.per_segment or {}).get(key)
        infos = (self.segment_infos or {}).get(key)
        if present is not None and infos is not None and len(infos) == len(present):
            held = list(zip(present, infos, strict=True))
        else:
            held = []
            for t in self.terms if present is None else present:
                try:
                    held.append((t, reader.term_info(fieldname, t)))
                except TermNotFound:
                    pass
        seen[reader] = (fieldname, self.terms, held)
        return held

    def estimate_size(self, ixreader) -> int:
        """whoosh's (the sum of the terms' document counts), from :meth:`_held` in a segment."""
        if not hasattr(ixreader, "_terms"):
            return super().estimate_size(ixreader)
        return sum(info.doc_frequency() for _, info in self._held(ixreader))

    def estimate_min_size(self, ixreader) -> int:
        """whoosh's (the smallest document count of the terms, 0 for one absent), from :meth:`_held`."""
        if not hasattr(ixreader, "_terms"):
            return super().estimate_min_size(ixreader)
        held = self._held(ixreader)
        if len(held) < len(self.terms):
            return 0
        return min((info.doc_frequency() for _, info in held), default=0)

    def matcher(self, searcher, context=None):
        """An ``Or`` of the terms the segment has, scored as whoosh scores a pattern (the sum of
        its terms' scores, times the boost), preloaded in arrays (whoosh's ``PreloadedOr``) rather
        than a tree of unions: the tree costs a call chain per match and term, the arrays a loop
        per posting. Unlike whoosh's, a pattern that stands for one term keeps its boost (whoosh
        drops it: ``nucl*`` in the subject counted once, not twice)."""
        from whoosh import matching

        reader = searcher.reader()
        fieldname = self.field()
        held = self._held(reader)
        if not held:
            return matching.NullMatcher()
        present = [t for t, _ in held]
        if len(present) == 1:
            return bulk.Term(fieldname, present[0], boost=self.boost).matcher(searcher, context)
        if len(present) > 2 and bulk.bulk_context(context) and searcher.is_atomic() and fieldname in searcher.schema:
            # whoosh's pre-loaded union (below), looked up and scored in bulk: the same sums; two
            # terms stay a plain Or, whose boost multiplies their sum, not each score
            return bulk.TermUnion(searcher, fieldname, present, self.boost, context.weighting,
                                  infos=[info for _, info in held])
        union = wq.Or([bulk.Term(fieldname, t) for t in present], boost=self.boost)
        if len(present) > 2:
            union.matcher_type = wq.Or.ARRAY_MATCHER
        return union.matcher(searcher, context)


class ExpandedPrefix(_Expanded, wq.Prefix):
    pass


class ExpandedWildcard(_Expanded, wq.Wildcard):
    pass


class ExpandedFuzzyTerm(_Expanded, wq.FuzzyTerm):
    pass


_EXPANDED = {wq.Prefix: ExpandedPrefix, wq.Wildcard: ExpandedWildcard, wq.FuzzyTerm: ExpandedFuzzyTerm}


def expand_patterns(q: wq.Query, reader, limit: int = MAX_EXPANSION, text: str = "",
                    total_limit: int = MAX_TOTAL_EXPANSION) -> wq.Query:
    """``q`` with each prefix, wildcard and fuzzy word expanded once against ``reader``: the same
    query, whose patterns no longer scan the index's word list at search time. Raises
    :class:`QueryLimitError` as :func:`check_expansion` does (the same limits and messages)."""
    segments: dict[int, dict[str, tuple[bytes, ...]]] = {}
    infos: dict[int, dict[str, tuple[object, ...]]] = {}
    found = check_expansion(q, reader, limit, text, total_limit, segments, infos)
    if not found:
        return q

    def freeze(node: wq.Query) -> wq.Query:
        terms = found.get(id(node))
        if terms is not None:
            frozen = copy.copy(node)
            frozen.__class__ = _EXPANDED[type(node)]
            frozen.terms = terms
            frozen.per_segment = segments.get(id(node))
            frozen.segment_infos = infos.get(id(node))
            return frozen
        return node.apply(freeze) if not node.is_leaf() else node

    return freeze(q)


def check_expansion(q: wq.Query, reader, limit: int = MAX_EXPANSION, text: str = "",
                    total_limit: int = MAX_TOTAL_EXPANSION,
                    segments: dict[int, dict[str, tuple[bytes, ...]]] | None = None,
                    infos: dict[int, dict[str, tuple[object, ...]]] | None = None) -> dict[int, tuple[bytes, ...]]:
    """Raise :class:`QueryLimitError` if a prefix, wildcard, fuzzy word or ``field:*`` in ``q``
    would stand for more than ``limit`` index terms, or all of them together for more than
    ``total_limit``. Counts lazily and stops at the limit, so ``a*`` on a big index fails fast
    instead of stalling. Returns the terms of each prefix, wildcard and fuzzy word, by ``id()``
    of its node (see :func:`expand_patterns`); with ``segments``, each one's terms per segment too,
    and with ``infos`` their term infos where the listing read them."""
    total = 0
    found: dict[int, tuple[bytes, ...]] = {}
    for leaf in q.leaves() if not q.is_leaf() else (q,):
        own: dict[str, tuple[bytes, ...]] = {}
        own_infos: dict[str, tuple[object, ...]] = {}
        terms = _expansion(leaf, reader, limit + 1, own, own_infos)
        if terms is None:
            continue
        listed = tuple(itertools.islice(terms, limit + 1))
        count = len(listed)
        if type(leaf) in _EXPANDED:
            found[id(leaf)] = tuple(t for _, t in listed)
            if segments is not None and own:
                segments[id(leaf)] = own
            if infos is not None and own_infos:
                infos[id(leaf)] = own_infos
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
    return found


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
