"""Query text -> AST: loads ``grammar/query.lark``, maps lark's errors, reads values by field.

The only module that knows where the grammar lives. ``parse_query`` is strict: anything it
cannot read raises a :class:`~cablesearch.errors.QueryError` with the span of the problem;
nothing else escapes (lengths and depths are checked before any recursion).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import os
import re
import sys
from pathlib import Path

import lark
from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from .. import schema
from ..errors import QueryLimitError, QuerySyntaxError, UnknownFieldError
from . import ast as nodes
from .ast import TYPOGRAPHIC_QUOTES, Node, PartialDate, Query, QueryWarning

#: Longest query text accepted, in characters.
MAX_QUERY_LENGTH = 10_000
#: Deepest nesting of parentheses, NOTs and boosts.
MAX_DEPTH = 32
#: Most terms (leaves) in one query.
MAX_CLAUSES = 1_000
#: Longest word a fuzzy search takes: whoosh builds an automaton in time growing with the length
#: (a 5,000-letter ``a...a~2`` takes 14 s).
MAX_FUZZY_LENGTH = 32
#: Largest proximity: ``"a b"~50``. With stop-word gaps it stays below the engine's entity gap.
MAX_SLOP = 50
MAX_BOOST = 1000.0
MAX_NUMBER = 2**32 - 1

_OPERATOR_WORDS = {
    "and": "'{w}' is searched as a word; use AND (or just a space) for both",
    "or": "'{w}' is searched as a word; use OR for either-or",
    "not": "'{w}' is searched as a word; use NOT or - to exclude",
}
_TERM_START = {"WORD", "PHRASE", "FIELD", "LPAR", "NOT", "BANG", "MINUS", "CMP", "RANGE"}
_OPERATORS = {"AND", "AMPS", "OR", "PIPES", "NOT", "BANG", "MINUS"}
_NESTING = {"group", "field_group", "not_", "boost"}


def _grammar_text() -> str:
    """The grammar: from the installed package (the wheel puts it in ``cablesearch/grammar``),
    else from the repository's ``grammar/`` next to the package (editable or source tree)."""
    packaged = importlib.resources.files("cablesearch") / "grammar" / "query.lark"
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return (Path(__file__).resolve().parents[2] / "grammar" / "query.lark").read_text(encoding="utf-8")


def _cache_file() -> str | bool:
    """Where lark keeps the built parser between runs (it checks the grammar's hash on load,
    so an edited grammar is rebuilt): the user's cache dir, or no cache if there is none."""
    try:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cablesearch"
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
    except (OSError, RuntimeError):
        return False
    return str(base / f"query-lark{lark.__version__}-py{sys.version_info[0]}.{sys.version_info[1]}.cache")


@functools.cache
def _parser() -> Lark:
    """The LALR parser, once per process: about 35 ms to build, 3 ms from lark's cache."""
    parser = Lark(_grammar_text(), parser="lalr", lexer="basic", propagate_positions=True, cache=_cache_file())
    # Lark.lex() builds a new lexer (and its scanner regexes) on every call unless the instance
    # has one, and lark sets it only when parser=None: ~250 us per call, more than lexing a
    # query. Build it once; it is the lexer lex() would build.
    if not hasattr(parser, "lexer"):
        parser.lexer = parser._build_lexer()
    return parser


def normalize_quotes(text: str) -> str:
    r"""``text`` with its typographic double quotes (“ ” „ ‟ « ») as ``"``, except those escaped
    with a backslash (``\“`` is the character itself, inside a phrase). One character for one, so
    the columns of error messages do not move."""
    if not any(q in text for q in TYPOGRAPHIC_QUOTES):
        return text
    out = []
    escaped = False
    for ch in text:
        out.append('"' if ch in TYPOGRAPHIC_QUOTES and not escaped else ch)
        escaped = ch == "\\" and not escaped
    return "".join(out)


def parse_query(text: str) -> Query:
    """Parse query text into a :class:`Query` (AST root, warnings, text). Raises QueryError."""
    text = normalize_quotes(text)
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryLimitError(
            f"query is {len(text):,} characters long; the limit is {MAX_QUERY_LENGTH:,}",
            text, MAX_QUERY_LENGTH, len(text),
        )
    if not text.strip():
        raise QuerySyntaxError("empty query", text, 0, len(text))
    if (bad := _SURROGATE.search(text)) is not None:
        # what a byte that is not UTF-8 becomes in argv (surrogateescape); no index term holds one,
        # and whoosh cannot encode it (UnicodeEncodeError)
        raise QuerySyntaxError("the query holds an undecodable character (bytes that are not UTF-8?)",
                               text, bad.start())
    _check_parens(text)
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as e:
        raise _syntax_error(e, text) from None
    _check_depth(tree, text)
    builder = _ToAst(text)
    node = builder.build(tree, None)
    _check_clauses(node, text)
    return Query(node, text, tuple(builder.warnings))


# -- limits -------------------------------------------------------------------------------


def _check_parens(text: str) -> None:
    """Deep parentheses, before the parser sees them (so ``((((…`` fails as too deep, not unclosed)."""
    if text.count("(") <= MAX_DEPTH:  # fewer "(" than the limit: no need to lex
        return
    depth = 0
    try:
        for tok in _parser().lex(text):
            depth += {"LPAR": 1, "RPAR": -1}.get(tok.type, 0)
            if depth > MAX_DEPTH:
                raise QueryLimitError(f"query nests more than {MAX_DEPTH} levels deep", text, tok.start_pos)
    except UnexpectedCharacters:
        pass


def _check_depth(tree: Tree, text: str) -> None:
    """Deep NOTs, boosts and parentheses, in the tree, before anything recurses over it."""
    stack: list[tuple[Tree, int]] = [(tree, 0)]
    while stack:
        t, depth = stack.pop()
        if t.data in _NESTING:
            depth += 1
            if depth > MAX_DEPTH:
                raise QueryLimitError(f"query nests more than {MAX_DEPTH} levels deep", text, t.meta.start_pos)
        stack.extend((c, depth) for c in t.children if isinstance(c, Tree))


_SURROGATE = re.compile("[\ud800-\udfff]")


def _check_clauses(node: Node, text: str) -> None:
    count = 0
    for n in nodes.walk(node):
        if isinstance(n, nodes.LEAVES):
            count += 1
            if count > MAX_CLAUSES:
                raise QueryLimitError(f"query has more than {MAX_CLAUSES:,} terms", text, n.start, n.end)


# -- lark errors --------------------------------------------------------------------------

_CHAR_HINTS = {
    '"': "unterminated phrase",
    "[": "unterminated range; expected ']' or '}'",
    "{": "unterminated range; expected ']' or '}'",
    "^": "expected a number after '^'",
    ":": "unexpected ':'; a field name goes right before it, as in org:FSB",
    "]": "unexpected ']'; a range looks like [2008 TO 2009]",
    "}": "unexpected '}'; a range looks like {2008 TO 2009}",
    "\\": "unexpected '\\'; backslash escapes work only inside quotes",
}
_TOKEN_HINTS = {
    "FUZZY": "; '~' goes right after a word (beyrle~) or a phrase (\"intel waiver\"~5)",
    "BOOST": "; '^' goes right after a term, once",
    "DOTDOT": "; '..' goes between two dates or numbers, as in date:2008..2009",
}


def _tokens_before(text: str, pos: int) -> list[Token]:
    tokens: list[Token] = []
    try:
        tokens.extend(_parser().lex(text[:pos]))
    except UnexpectedCharacters:
        pass
    return tokens


def _syntax_error(e: UnexpectedInput, text: str) -> QuerySyntaxError:
    if isinstance(e, UnexpectedCharacters):
        pos = e.pos_in_stream
        char = text[pos]
        message = _CHAR_HINTS.get(char, f"unexpected character {char!r}")
        end = len(text) if char in '"[{' else pos + 1
        return QuerySyntaxError(message, text, pos, end)
    assert isinstance(e, UnexpectedToken)
    tok = e.token
    expected = set(e.expected)
    at_end = tok.type == "$END"
    pos = len(text) if at_end else tok.start_pos
    end = pos + 1 if at_end else tok.end_pos
    found = "" if at_end else f", found '{tok}'"
    before = _tokens_before(text, pos)
    prev = before[-1] if before else None
    after = f" after '{prev}'" if prev is not None and prev.type in _OPERATORS else ""
    if at_end and "RPAR" in expected:
        return QuerySyntaxError("expected ')'", text, pos, end)
    if prev is not None and prev.type == "FIELD":
        return QuerySyntaxError(f"expected a value after '{prev}'{found}", text, pos, end)
    if prev is not None and prev.type in ("CMP", "DOTDOT"):
        return QuerySyntaxError(f"expected a date or number after '{prev}'{found}", text, pos, end)
    if tok.type in _TOKEN_HINTS:
        return QuerySyntaxError(f"unexpected '{tok}'{_TOKEN_HINTS[tok.type]}", text, pos, end)
    if tok.type == "RPAR" and "RPAR" not in expected:
        if prev is not None and prev.type == "LPAR":
            return QuerySyntaxError("empty parentheses", text, prev.start_pos, end)
        if not after and sum({"LPAR": 1, "RPAR": -1}.get(t.type, 0) for t in before) <= 0:
            return QuerySyntaxError("unmatched ')'", text, pos, end)
    if expected & _TERM_START:
        return QuerySyntaxError(f"expected a term{after}{found}", text, pos, end)
    if not at_end:
        return QuerySyntaxError(f"unexpected '{tok}'", text, pos, end)
    return QuerySyntaxError("unexpected end of query", text, pos, end)


# -- tree -> AST --------------------------------------------------------------------------


class _ToAst:
    """Builds the AST top-down, carrying the field of an enclosing ``field:`` or ``field:(...)``,
    so a value is read for its field's kind (a date on ``date:``, a number on ``year:``).

    Methods are named after the grammar's aliases. Recursion is bounded by ``_check_depth``.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.warnings: list[QueryWarning] = []

    def error(self, message: str, at: Token | tuple[int, int]) -> QuerySyntaxError:
        start, end = (at.start_pos, at.end_pos) if isinstance(at, Token) else at
        return QuerySyntaxError(message, self.text, start, end)

    def build(self, tree: Tree, field: str | None) -> Node:
        return getattr(self, tree.data)(tree, field)

    def _subtrees(self, tree: Tree, field: str | None) -> tuple[Node, ...]:
        return tuple(self.build(c, field) for c in tree.children if isinstance(c, Tree))

    def or_(self, tree: Tree, field: str | None) -> Node:
        return nodes.Or(self._subtrees(tree, field), start=tree.meta.start_pos, end=tree.meta.end_pos)

    def and_(self, tree: Tree, field: str | None) -> Node:
        return nodes.And(self._subtrees(tree, field), start=tree.meta.start_pos, end=tree.meta.end_pos)

    def not_(self, tree: Tree, field: str | None) -> Node:
        (item,) = self._subtrees(tree, field)
        return nodes.Not(item, start=tree.meta.start_pos, end=tree.meta.end_pos)

    def group(self, tree: Tree, field: str | None) -> Node:
        (item,) = self._subtrees(tree, field)
        return item

    def boost(self, tree: Tree, field: str | None) -> Node:
        (item,) = self._subtrees(tree, field)
        tok = tree.children[-1]
        factor = float(tok[1:])
        if not 0 < factor <= MAX_BOOST:
            raise self.error(f"boost must be more than 0 and at most {MAX_BOOST:g}", tok)
        return nodes.Boost(item, factor, start=tree.meta.start_pos, end=tree.meta.end_pos)

    def _field(self, tok: Token, outer: str | None) -> str:
        name = tok[:-1]
        if outer is not None:
            raise self.error(f"'{tok}' inside '{outer}:(...)': a field group holds plain terms", tok)
        canon = schema.resolve_field(name)
        if canon is None:
            raise UnknownFieldError(name, schema.suggest_fields(name), self.text, tok.start_pos, tok.end_pos - 1)
        return canon

    def field_term(self, tree: Tree, field: str | None) -> Node:
        tok, value = tree.children
        canon = self._field(tok, field)
        node = self.word(value, canon, bare=False) if value.data == "word" else self.build(value, canon)
        return dataclasses.replace(node, start=tok.start_pos)

    def field_group(self, tree: Tree, field: str | None) -> Node:
        tok = tree.children[0]
        canon = self._field(tok, field)
        (item,) = self._subtrees(tree, canon)
        return item

    # -- values --

    def _kind(self, field: str | None) -> str:
        return "text" if field is None else schema.FIELD_BY_NAME[field].kind

    def _words_only(self, field: str | None, what: str, tok: Token) -> None:
        kind = self._kind(field)
        if kind in ("date", "number"):
            example = "date:2009-11" if kind == "date" else f"{field}:2009"
            raise self.error(f"{what} is for words; '{field}' holds {kind}s (write {example})", tok)

    def word(self, tree: Tree, field: str | None, bare: bool = True) -> Node:
        (tok,) = tree.children
        s, e, text = tok.start_pos, tok.end_pos, str(tok)
        kind = self._kind(field)
        if kind in ("date", "number"):
            if text == "*":
                return self._range(field, None, None, True, True, (s, e))
            value = self._value(field, tok)
            return self._range(field, value, value, True, True, (s, e))
        if text == "*":
            return nodes.MatchAll(start=s, end=e) if field is None else nodes.Prefix(field, "", start=s, end=e)
        if "*" in text or "?" in text:
            if text.endswith("*") and "*" not in text[:-1] and "?" not in text:
                return nodes.Prefix(field, text[:-1], start=s, end=e)
            return nodes.Wildcard(field, text, start=s, end=e)
        if bare and text.lower() in _OPERATOR_WORDS:
            self.warnings.append(QueryWarning(_OPERATOR_WORDS[text.lower()].format(w=text), s, e))
        return nodes.Term(field, text, start=s, end=e)

    def fuzzy(self, tree: Tree, field: str | None) -> Node:
        tok, tilde = tree.children
        self._words_only(field, "fuzzy (~)", tilde)
        if "*" in tok or "?" in tok:
            raise self.error("a word cannot be both a wildcard and fuzzy", tilde)
        digits = tilde[1:]
        if digits not in ("", "1", "2"):
            raise self.error("fuzzy distance must be 1 or 2", tilde)
        if len(tok) > MAX_FUZZY_LENGTH:
            raise QueryLimitError(f"a fuzzy word may be at most {MAX_FUZZY_LENGTH} characters long", self.text,
                                  tok.start_pos, tok.end_pos)
        return nodes.Fuzzy(field, str(tok), int(digits or 1), start=tree.meta.start_pos, end=tree.meta.end_pos)

    def _phrase_text(self, tok: Token, field: str | None) -> str:
        self._words_only(field, "a quoted phrase", tok)
        text = re.sub(r"\\(.)", r"\1", tok[1:-1], flags=re.DOTALL)
        if not text.strip():
            raise self.error("empty phrase", tok)
        if re.search(r"\w\*|[*?]\w", text):  # "human righ*": no wildcard here ("what?" is punctuation)
            self.warnings.append(QueryWarning(
                "inside quotes * and ? are not wildcards (they are dropped with the punctuation); "
                "for a word that starts so, write it outside the quotes", tok.start_pos, tok.end_pos))
        return text

    def phrase(self, tree: Tree, field: str | None) -> Node:
        (tok,) = tree.children
        return nodes.Phrase(field, self._phrase_text(tok, field), None, start=tok.start_pos, end=tok.end_pos)

    def proximity(self, tree: Tree, field: str | None) -> Node:
        tok, tilde = tree.children
        text = self._phrase_text(tok, field)
        digits = tilde[1:]
        if not digits.isdigit() or len(digits) > 3 or int(digits) > MAX_SLOP:
            raise self.error(f"proximity must be a whole number from 0 to {MAX_SLOP}, as in \"intel waiver\"~5", tilde)
        return nodes.Phrase(field, text, int(digits), start=tree.meta.start_pos, end=tree.meta.end_pos)

    def _ranged(self, field: str | None, tok: Token) -> str:
        kind = self._kind(field)
        if kind not in ("date", "number"):
            names = ", ".join(f.name for f in schema.FIELDS if f.kind in ("date", "number"))
            where = f"'{field}' is not one" if field else "it needs one, as in date:2008..2009"
            raise self.error(f"ranges are for date and number fields ({names}); {where}", tok)
        return kind

    def compare(self, tree: Tree, field: str | None) -> Node:
        op, tok = tree.children
        self._ranged(field, op)
        value = self._value(field, tok)
        s, e = tree.meta.start_pos, tree.meta.end_pos
        if op.startswith(">"):
            return self._range(field, value, None, op == ">=", True, (s, e))
        return self._range(field, None, value, True, op == "<=", (s, e))

    def span(self, tree: Tree, field: str | None) -> Node:
        low, dots, high = tree.children
        self._ranged(field, dots)
        return self._range(field, self._value(field, low), self._value(field, high), True, True,
                           (tree.meta.start_pos, tree.meta.end_pos))

    def range(self, tree: Tree, field: str | None) -> Node:
        (tok,) = tree.children
        self._ranged(field, tok)
        parts = [(m.group(), tok.start_pos + m.start()) for m in re.finditer(r"[^\s\[\]{}]+", tok)]
        if len(parts) != 3 or parts[1][0] != "TO":
            raise self.error("a range looks like [2008 TO 2009] ([ ] include the ends, { } leave them out)", tok)
        bounds = []
        for part, offset in (parts[0], parts[2]):
            sub = Token("WORD", part, start_pos=offset, end_pos=offset + len(part))
            bounds.append(None if part == "*" else self._value(field, sub))
        return self._range(field, bounds[0], bounds[1], tok[0] == "[", tok[-1] == "]",
                           (tok.start_pos, tok.end_pos))

    def _value(self, field: str | None, tok: Token) -> PartialDate | int:
        text, s, e = str(tok), tok.start_pos, tok.end_pos
        if self._kind(field) == "number":
            if not text.isascii() or not text.isdigit():
                raise self.error(f"expected a whole number for '{field}', found '{text}'", (s, e))
            if len(text) > 10 or int(text) > MAX_NUMBER:
                raise self.error(f"number {text} is too large", (s, e))
            return int(text)
        try:
            return PartialDate.parse(text)
        except ValueError as err:
            raise self.error(f"bad date '{text}': {err}", (s, e)) from None

    def _range(self, field, low, high, low_incl: bool, high_incl: bool, at: tuple[int, int]) -> Node:
        s, e = at
        low_incl = low_incl or low is None
        high_incl = high_incl or high is None
        if self._kind(field) == "date":
            if low is not None and high is not None and low.first() > high.last():
                raise self.error(f"empty range: {low} comes after {high}", (s, e))
            return nodes.DateRange(field, low, high, low_incl, high_incl, start=s, end=e)
        if low is not None and high is not None and low > high:
            raise self.error(f"empty range: {low} comes after {high}", (s, e))
        return nodes.NumberRange(field, low, high, low_incl, high_incl, start=s, end=e)


# -- tokens for the shell -----------------------------------------------------------------


def lex(text: str) -> list[tuple[str, int, int]]:
    """``(token_type, start, end)`` for syntax highlighting, from the grammar's lexer.

    Types are the grammar's terminal names (``WORD``, ``PHRASE``, ``FIELD``, ``AND``, ``AMPS``,
    ``OR``, ``PIPES``, ``NOT``, ``BANG``, ``MINUS``, ``LPAR``, ``RPAR``, ``FUZZY``, ``BOOST``,
    ``CMP``, ``DOTDOT``, ``RANGE``) or ``ERROR``. Never raises: a field name that is not in the
    field table is an ``ERROR`` token; at the first character or token the grammar cannot
    take, one ``ERROR`` token runs to the end of the text. An unfinished query (``org:(a``)
    is not an error.
    """
    text = normalize_quotes(text)
    parser = _parser()
    tokens: list[Token] = []
    error_at: int | None = None
    try:
        for tok in parser.lex(text):
            tokens.append(tok)
    except UnexpectedCharacters as e:
        error_at = e.pos_in_stream
    out: list[tuple[str, int, int]] = []
    interactive = parser.parse_interactive()
    for tok in tokens:
        try:
            interactive.feed_token(tok)
        except UnexpectedInput:
            error_at = tok.start_pos
            break
        kind = tok.type
        if kind == "FIELD" and schema.resolve_field(tok[:-1]) is None:
            kind = "ERROR"
        out.append((kind, tok.start_pos, tok.end_pos))
    if error_at is not None and error_at < len(text):
        out.append(("ERROR", error_at, len(text)))
    return out
