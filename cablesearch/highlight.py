"""Snippets: the passages of a cable that a query matched, as plain text plus match spans.

A :class:`Highlighter` is built once per query (:func:`build_highlighter`) and then marks any
text: it analyzes the text with the body analyzer and marks the tokens whose stems the query
asked for. Entity fields are not stored, so entity (and subject) terms are *re-targeted* to the
body: ``org:FSB`` marks the body's "FSB", ``per:"John Beyrle"`` the body's "John Beyrle" (as one
span), ``org:Int*`` every body word starting with "int". Terms under NOT are never marked.

No markup is produced: a :class:`~cablesearch.model.Snippet` carries ``text`` and ``spans``
(``text[span.start:span.end]`` is the matched word or phrase); renderers choose ANSI, bold or JSON.
This module and ``search.py`` are the engine's side of search results; nothing here does I/O.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, NamedTuple

from whoosh import query as wq
from whoosh.query import spans as wspans

from .engine import fold_text
from .model import Snippet, Span
from .schema import FIELD_BY_NAME

#: Query fields whose terms are shown in the body and subject text.
SHOWN_KINDS = ("text", "entity")
#: At most this many index terms are taken from one fuzzy or range query for highlighting.
MAX_EXPANSION = 1000
#: Positions a phrase may skip beyond its slop: stop words the query dropped but the text has.
STOP_SLACK = 2
#: Marks considered per text (a very long cable full of one common word stops here).
MAX_MARKS = 2000
DEFAULT_WIDTH = 200
#: Characters analyzed on each side of a word that may match; positions left between regions.
REGION_PAD, REGION_GAP = 80, 1000
#: Non-space characters up to the next space (the end of a word: ``str.isspace``'s spaces).
_TO_SPACE = re.compile(r"\S*")


class _Token(NamedTuple):
    """A tuple, made as fast as the chain yields them (a frozen dataclass sets each field through
    ``object.__setattr__``: a snippet query makes one for each of hundreds of words)."""

    pos: int
    stem: str
    word: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class _Mark:
    start: int
    end: int
    keys: frozenset[str]


@dataclass(frozen=True)
class Highlighter:
    """What one query marks in a text: stems, word patterns and phrases.

    ``patterns`` holds ``(regex, on_word)``: matched against the lowercased word when
    ``on_word`` (entity wildcards), else against the stem. ``phrases`` holds sequences of
    ``(stem, gap)``: the gap is how many positions after the previous stem this one may come.
    """

    analyzer: Any
    stems: frozenset[str] = frozenset()
    patterns: tuple[tuple[re.Pattern[str], bool], ...] = ()
    phrases: tuple[tuple[tuple[str, int], ...], ...] = ()
    #: How every word that can match begins (None: unknown, any word may): only the regions of a
    #: text around such words are analyzed, which keeps a 60 kB cable with three matches fast.
    starts: frozenset[str] | None = None

    @property
    def empty(self) -> bool:
        return not (self.stems or self.patterns or self.phrases)

    @functools.cached_property
    def _starts_re(self) -> tuple[re.Pattern[str], ...] | None:
        if self.starts is None:
            return None
        # Searched in the folded (lowercased) text, each start a literal with its "not inside a
        # word" check after it, one scan a start: re finds a pattern that begins with a literal
        # many times faster than one that begins with a look-behind, ignores case or offers a
        # choice (a 7.5 kB body: karz 62 against 333 µs; chav and vene 30 against 129 as one
        # alternation).
        return tuple(re.compile(rf"{x}(?<!\w{x})") for x in map(re.escape, sorted({fold_text(x) for x in self.starts})))

    def _start_places(self, hay: str, scans: tuple[re.Pattern[str], ...]) -> list[int]:
        """Where in ``hay`` a start begins, ascending."""
        if len(scans) == 1:
            return [m.start() for m in scans[0].finditer(hay)]
        return sorted({m.start() for rx in scans for m in rx.finditer(hay)})

    def _regions(self, text: str) -> list[tuple[int, int]]:
        scans = self._starts_re
        if scans is None:
            return [(0, len(text))]
        # Accents fold away in analysis ("SÃO" is "sao"): look for the (folded) starts in the
        # folded, lowercased text, which keeps every position (one character for one) unless
        # lowercasing changed a length.
        hay = fold_text(text)
        if len(hay) != len(text):
            return [(0, len(text))]
        # Without a phrase, a word's neighbours never matter: only the run of non-space characters
        # holding each start is analyzed (its tokens are the ones the whole text gives there).
        pad = REGION_PAD if self.phrases else 0
        out: list[tuple[int, int]] = []
        for at in self._start_places(hay, scans):
            if out and at + pad <= out[-1][1]:  # within the last region, as far as it reaches
                continue
            a, b = max(0, at - pad), min(len(text), at + pad)
            while a > 0 and not text[a - 1].isspace():  # widen to whole words
                a -= 1
            b = _TO_SPACE.match(text, b).end()  # \S* matches, if only the empty string
            if out and a <= out[-1][1]:  # overlapping the last region: one region
                a = out.pop()[0]
            out.append((a, b))
        return out

    @functools.cached_property
    def _chain(self) -> Any:
        from .segwriter import StemmingChain  # with the build's writer: imported on the first snippet

        chain = StemmingChain(self.analyzer)
        return chain if chain.ok else None

    def _tokens(self, text: str) -> list[_Token]:
        out: list[_Token] = []
        pos = 0
        chain = self._chain
        for a, b in self._regions(text):
            if chain is not None:  # the same tokens as the analyzer's, several times faster
                out.extend(map(_Token._make, chain.tokens(text[a:b], a, pos)))
            else:
                for t in self.analyzer(text[a:b], positions=True, chars=True, keeporiginal=True, mode="index",
                                       start_char=a, start_pos=pos):
                    out.append(_Token(t.pos, t.text, t.original.lower(), t.startchar, t.endchar))
            pos = (out[-1].pos if out else pos) + REGION_GAP
        return out

    def _marks(self, text: str) -> list[_Mark]:
        if self.empty or not text:
            return []
        tokens = self._tokens(text)
        found: list[tuple[int, int, str]] = []
        if self.stems or self.patterns:
            for t in tokens:
                if t.stem in self.stems:
                    found.append((t.start, t.end, t.stem))
                    continue
                for i, (p, on_word) in enumerate(self.patterns):
                    if p.match(t.word if on_word else t.stem):
                        found.append((t.start, t.end, f"\x00pattern{i}"))
                        break
        for k, phrase in enumerate(self.phrases):
            found.extend((s, e, f"\x00phrase{k}") for s, e in _phrase_matches(tokens, phrase))
        found.sort()
        marks: list[_Mark] = []
        for s, e, key in found[:MAX_MARKS]:
            if marks and s < marks[-1].end:  # overlapping: one mark covering both
                last = marks[-1]
                marks[-1] = _Mark(last.start, max(last.end, e), last.keys | {key})
            else:
                marks.append(_Mark(s, e, frozenset((key,))))
        return marks

    def spans(self, text: str) -> tuple[Span, ...]:
        """The matched ranges of ``text`` itself (no windowing), for showing a whole cable."""
        return tuple(Span(m.start, m.end) for m in self._marks(text))

    def snippets(
        self, text: str, *, count: int = 3, width: int = DEFAULT_WIDTH, field: str = "body"
    ) -> tuple[Snippet, ...]:
        """Up to ``count`` passages of about ``width`` characters around the matches, in text order.

        The best passages hold the most distinct matched terms, then the most matches. Whitespace
        runs are collapsed to one space. Empty when nothing in ``text`` matches.
        """
        if count <= 0:
            return ()
        marks = self._marks(text)
        if not marks:
            return ()
        windows = _choose_windows(text, marks, count, max(width, 20))
        return tuple(_cut(text, a, b, marks, field) for a, b in windows)


def _phrase_matches(tokens: list[_Token], phrase: tuple[tuple[str, int], ...]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    first = phrase[0][0]
    n = len(tokens)
    for i, t in enumerate(tokens):
        if t.stem != first:
            continue
        j, last = i, t
        for stem, gap in phrase[1:]:
            j += 1
            while j < n and tokens[j].pos - last.pos <= gap and tokens[j].stem != stem:
                j += 1
            if j < n and tokens[j].stem == stem and tokens[j].pos - last.pos <= gap:
                last = tokens[j]
            else:
                break
        else:
            out.append((t.start, last.end))
    return out


def _choose_windows(text: str, marks: list[_Mark], count: int, width: int) -> list[tuple[int, int]]:
    chosen: list[tuple[int, int]] = []
    remaining = marks
    while remaining and len(chosen) < count:
        best: tuple[tuple[int, int, int], int, int] | None = None
        for i, m in enumerate(remaining):
            keys: set[str] = set()
            hits, end = 0, m.end
            for mm in remaining[i:]:
                if hits and mm.end - m.start > width:
                    break
                keys |= mm.keys
                hits += 1
                end = mm.end
            score = (len(keys), hits, -m.start)
            if best is None or score > best[0]:
                best = (score, m.start, end)
        assert best is not None
        a, b = _pad(text, best[1], best[2], width, chosen)
        chosen.append((a, b))
        remaining = [m for m in remaining if m.end <= a or m.start >= b]
    return sorted(chosen)


def _pad(text: str, s: int, e: int, width: int, taken: list[tuple[int, int]]) -> tuple[int, int]:
    """Widen the matched range [s, e) to about ``width`` characters, at word boundaries, not
    overlapping the windows already ``taken``."""
    lo, hi = 0, len(text)
    for a, b in taken:
        if b <= s:
            lo = max(lo, b)
        elif a >= e:
            hi = min(hi, a)
    if e - s >= width:
        e = s + width
        while e < hi and not text[e].isspace():  # finish the word
            e += 1
        return s, min(e, hi)
    pad = (width - (e - s)) // 2
    a = max(lo, s - pad)
    b = min(hi, a + width)
    a = max(lo, min(a, b - width))
    if a > lo and not text[a - 1].isspace():  # start at a word
        k = a
        while k < s and not text[k].isspace():
            k += 1
        a = k if k < s else a
    if b < hi and not text[b].isspace():  # end at a word
        k = b
        while k > e and not text[k - 1].isspace():
            k -= 1
        b = k if k > e else b
    return a, b


def _cut(text: str, a: int, b: int, marks: list[_Mark], field: str) -> Snippet:
    spans = [(max(m.start, a) - a, min(m.end, b) - a) for m in marks if m.start < b and m.end > a]
    out, spans2 = collapse_whitespace(text[a:b], spans)
    return Snippet(out, tuple(Span(s, e) for s, e in spans2 if e > s), field)


def collapse_whitespace(raw: str, spans: list[tuple[int, int]]) -> tuple[str, list[tuple[int, int]]]:
    """``raw`` with runs of whitespace made one space and the ends stripped; ``spans`` moved along."""
    text = " ".join(raw.split())
    m = len(text)

    def moved(i: int) -> int:  # where raw[i] lands: the collapsed length of what comes before it
        head = raw[:i]
        n = len(" ".join(head.split()))
        return n + 1 if n and head[-1].isspace() else n

    return text, [(min(moved(s), m), min(moved(e), m)) for s, e in spans]


def lead_snippet(text: str, *, width: int = DEFAULT_WIDTH, field: str = "body") -> Snippet | None:
    """The opening of ``text``, about ``width`` characters cut at a word: for hits with no marks."""
    if not text.strip():
        return None
    start = len(text) - len(text.lstrip())
    end = min(len(text), start + width)
    if end < len(text):
        cut = text.rfind(" ", start, end)
        end = cut if cut > start + width // 2 else end
    out, _ = collapse_whitespace(text[start:end], [])
    return Snippet(out, (), field)


# --------------------------------------------------------------------------- building


@dataclass
class _Builder:
    analyzer: Any
    reader: Any = None
    stems: set[str] = field(default_factory=set)
    patterns: list[tuple[re.Pattern[str], bool]] = field(default_factory=list)
    phrases: list[tuple[tuple[str, int], ...]] = field(default_factory=list)
    #: Beginnings of the words patterns can match; None once a pattern can match any word.
    pattern_starts: set[str] | None = field(default_factory=set)

    def starts(self) -> frozenset[str] | None:
        """How the matching words begin: a stem less its last letter begins the word (stemming
        only rewrites endings: happy -> happi, hoping -> hope)."""
        if self.pattern_starts is None:
            return None
        words = self.stems | {s for phrase in self.phrases for s, _ in phrase}
        return frozenset({w[:max(1, min(len(w) - 1, 4))] for w in words} | self.pattern_starts)

    def stems_of(self, word: str) -> list[str]:
        return [t.text for t in self.analyzer(word, mode="query")]

    def walk(self, q: Any) -> None:
        if isinstance(q, wq.Not):
            return
        if isinstance(q, (wq.AndNot, wspans.SpanNot)):
            self.walk(q.a)
            return
        if isinstance(q, wq.Phrase):
            self.phrase(q.fieldname, list(q.words), q.slop)
        elif isinstance(q, wq.Term):
            self.term(q.fieldname, q.text)
        elif isinstance(q, (wq.Prefix, wq.PatternQuery)):
            self.pattern(q)
        elif isinstance(q, wq.MultiTerm):
            self.expand(q)
        elif isinstance(q, wspans.SpanQuery) and getattr(q, "q", None) is not None:
            self.walk(q.q)
        else:
            for child in q.children():
                self.walk(child)

    @staticmethod
    def kind(fieldname: str | None) -> str | None:
        f = FIELD_BY_NAME.get(fieldname or "")
        return f.kind if f and f.kind in SHOWN_KINDS else None

    def term(self, fieldname: str, text: Any) -> None:
        kind = self.kind(fieldname)
        if kind is None:
            return
        text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        if kind == "text":  # already analyzed by the compiler: a stem of the body analyzer
            self.stems.add(text.lower())
            return
        self.phrase_or_term(self.stems_of(text), slop=1)

    def phrase(self, fieldname: str, words: list[Any], slop: int) -> None:
        kind = self.kind(fieldname)
        if kind is None:
            return
        seq: list[tuple[str, int]] = []
        dropped = 0
        for w in words:
            w = w.decode("utf-8", "replace") if isinstance(w, bytes) else str(w)
            stems = [w.lower()] if kind == "text" else self.stems_of(w)
            if not stems:
                dropped += 1
                continue
            for s in stems:
                seq.append((s, 1 + dropped + max(slop, 1) - 1 + STOP_SLACK if seq else 0))
                dropped = 0
        if len(seq) == 1:
            self.stems.add(seq[0][0])
        elif seq:
            self.phrases.append(tuple(seq))

    def phrase_or_term(self, stems: list[str], slop: int) -> None:
        if len(stems) == 1:
            self.stems.add(stems[0])
        elif stems:
            self.phrases.append(tuple((s, 0 if i == 0 else slop + STOP_SLACK) for i, s in enumerate(stems)))

    def pattern(self, q: Any) -> None:
        kind = self.kind(q.fieldname)
        if kind is None:
            return
        text = q.text.lower()
        source = re.escape(text) if isinstance(q, wq.Prefix) else q._get_pattern()
        try:
            self.patterns.append((re.compile(source), kind == "entity"))
        except re.error:
            return
        literal = text if isinstance(q, wq.Prefix) else re.split(r"[*?\[]", text)[0] if isinstance(
            q, wq.Wildcard) else ""
        literal = literal[:max(1, min(len(literal) - 1, 4))] if kind == "text" else literal[:4]
        if not literal or self.pattern_starts is None:
            self.pattern_starts = None
        else:
            self.pattern_starts.add(literal)

    def expand(self, q: Any) -> None:
        fieldname = q.field()
        if self.kind(fieldname) is None:
            return
        if self.reader is None:
            if isinstance(getattr(q, "text", None), str):
                self.term(fieldname, q.text)
            return
        for btext in islice(q._btexts(self.reader), MAX_EXPANSION):
            self.term(fieldname, btext)


def build_highlighter(q: Any, schema: Any, reader: Any = None) -> Highlighter:
    """The highlighter for a compiled whoosh query. ``reader`` (optional) expands fuzzy terms and
    ranges against the index; prefixes and wildcards are matched as patterns without it."""
    b = _Builder(schema["body"].analyzer, reader)
    b.walk(q)
    return Highlighter(b.analyzer, frozenset(b.stems), tuple(b.patterns), tuple(b.phrases), b.starts())


__all__ = ["Highlighter", "build_highlighter", "collapse_whitespace", "lead_snippet"]
