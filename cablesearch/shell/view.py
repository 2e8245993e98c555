"""How the shell lays out a page of results: numbered, one screen line per item, to the width.

The shell numbers hits across pages (``:show 12``), fits every line to the terminal (80 columns
or narrower) and puts 1-3 snippet lines under each hit, the matched spans in bold colour. Data
in, text out: :class:`~cablesearch.model.Hit` and :class:`~cablesearch.model.Snippet` from the
index, every text from a cable through :func:`cablesearch.render.sanitize`.
"""

from __future__ import annotations

import itertools
from typing import Any

from ..model import Hit, Snippet

RESET = "\x1b[0m"
BOLD = "\x1b[1m"
DIM = "\x1b[2m"
MATCH = "\x1b[1;31m"  # as render.py (grep's colour for matches)
REF = "\x1b[1m"
ORIGIN = "\x1b[36m"
LEVEL_COLORS = {"SECRET": "\x1b[1;31m", "CONFIDENTIAL": "\x1b[33m"}
ELLIPSIS = "…"
MAX_SNIPPETS = 3


def _paint(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{RESET}" if color and text else text


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + ELLIPSIS


def _clean(text: str) -> str:
    from ..render import sanitize

    return sanitize(text)


def clean_with_spans(text: str, spans: list[tuple[int, int]]) -> tuple[str, list[tuple[int, int]]]:
    """``text`` through ``render.sanitize`` piece by piece between span edges, the spans moved along."""
    from ..render import sanitize

    pairs = [(max(0, a), min(len(text), b)) for a, b in spans if b > a]
    cuts = sorted({0, len(text), *(x for p in pairs for x in p)})
    where = {0: 0}
    out: list[str] = []
    n = 0
    for a, b in itertools.pairwise(cuts):
        where[a] = n
        piece = sanitize(text[a:b])
        out.append(piece)
        n += len(piece)
    where[cuts[-1]] = n
    return "".join(out), [(where[a], where[b]) for a, b in pairs if where[b] > where[a]]


def snippet_line(snippet: Snippet, width: int, color: bool, paint: str = "", focus: bool = True) -> str:
    """One line of at most ``width`` characters: white space collapsed, the first match in view
    (or, with ``focus`` false, the start of the text: a subject is read from its beginning)."""
    raw, raw_spans = clean_with_spans(snippet.text, [(x.start, x.end) for x in snippet.spans])
    # Collapse runs of white space, keeping a map from old to new positions for the spans.
    chars: list[str] = []
    pos: list[int] = []
    for ch in raw:
        pos.append(len(chars))
        if ch.isspace():
            if chars and chars[-1] != " ":
                chars.append(" ")
        else:
            chars.append(ch)
    pos.append(len(chars))
    text = "".join(chars).rstrip()
    spans = sorted((pos[a], min(pos[b], len(text))) for a, b in raw_spans if pos[b] > pos[a])
    lo, hi = 0, len(text)
    if len(text) > width:
        at = spans[0][0] if spans and focus else 0
        lo = max(0, min(at - width // 3, len(text) - width + 1))
        hi = lo + width - (1 if lo else 0)
        if hi < len(text):
            hi -= 1
        # Cut between words where one is near, never past the first match.
        if lo > 0:
            space = text.find(" ", lo, min(lo + 15, at))
            lo = space + 1 if space >= 0 else lo
        if hi < len(text):
            space = text.rfind(" ", max(hi - 15, lo + 1, spans[0][1] if spans and focus else 0), hi)
            hi = space if space > 0 else hi
    out = ELLIPSIS if lo > 0 else ""
    at = lo
    for s, e in spans:
        s, e = max(s, at), min(e, hi)
        if s >= e:
            continue
        out += _paint(text[at:s], paint, color and bool(paint)) + _paint(text[s:e], MATCH, color)
        at = e
    out += _paint(text[at:hi], paint, color and bool(paint))
    if hi < len(text):
        out += ELLIPSIS
    return out


def hit_lines(number: int, hit: Hit, *, num_width: int, width: int, color: bool) -> list[str]:
    """The lines of one hit: number, ref, date, classification, origin; subject; snippets."""
    indent = " " * (num_width + 2)
    avail = max(10, width - len(indent))
    date = hit.date.strftime("%Y-%m-%d") if hit.date else ""
    label = _clean(hit.classification or "")
    level = label.split("//")[0]
    parts = [
        _paint(_clean(hit.ref), REF, color),
        date,
        _paint(label, LEVEL_COLORS.get(level, ""), color) if label else "",
        _paint(_clean(hit.origin or ""), ORIGIN, color),
    ]
    plain = [p for p in (_clean(hit.ref), date, label, _clean(hit.origin or "")) if p]
    head = "  ".join(p for p in parts if p)
    plain_len = len("  ".join(plain))
    if plain_len > avail:  # too narrow: fall back to plain text, clipped
        head = _clip("  ".join(plain), avail)
    lines = [f"{number:>{num_width}}. {head}"]
    subject_snip = next((sn for sn in hit.snippets if sn.field == "subject"), None)
    if hit.subject:
        spans = subject_snip.spans if subject_snip and subject_snip.text == hit.subject else ()
        line = snippet_line(Snippet(hit.subject, spans, "subject"), avail, color, paint=BOLD, focus=False)
        lines.append(indent + line)
    shown = [sn for sn in hit.snippets if sn.field != "subject" and sn.text.strip()]
    for sn in shown[:MAX_SNIPPETS]:
        lines.append(indent + snippet_line(sn, avail, color))
    return lines


def render_results(results: Any, *, first: int = 1, limit: int = 10, color: bool = False, width: int = 80,
                   interactive: bool = False) -> str:
    """A page of results: the numbered hits, then the total, the time and how to see more."""
    hits: list[Hit] = list(getattr(results, "hits", ()))
    total = int(getattr(results, "total", len(hits)))
    last = first + len(hits) - 1
    num_width = len(str(max(last, 1)))
    lines: list[str] = []
    for i, hit in enumerate(hits):
        lines.extend(hit_lines(first + i, hit, num_width=num_width, width=width, color=color))
        lines.append("")
    from ..render import summary_line

    summary = summary_line(results, color=False)
    if hits and last < total:
        summary += " · Enter or :more for more" if interactive else " · :more for more"
    lines.append(_paint(_clip(summary, width), DIM, color))
    return "\n".join(lines)


__all__ = ["hit_lines", "render_results", "snippet_line"]
