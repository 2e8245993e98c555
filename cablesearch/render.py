"""Hits and cables as text for people (plain, or ANSI colour) and as JSON, JSONL and CSV for programs.

Pure functions returning strings; no click, no prompt_toolkit, no printing. Every piece of cable
text bound for a terminal goes through :func:`sanitize` first, so a cable holding ``ESC[2J``
cannot clear the screen or retitle the window; JSON escapes control characters itself (C1 and
bidi controls included, which ``json.dumps`` would otherwise pass through).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from .model import Cable, Hit, Span

# --------------------------------------------------------------------------- terminal safety

_ESCAPES = re.compile(
    r"""
      \x1b\[[0-?]*[ -/]*[@-~]                                    # CSI: colours, cursor, clear screen
    | \x9b[0-?]*[ -/]*[@-~]                                      # C1 CSI
    | (?:\x1b[]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]{0,4096}(?:\x07|\x1b\\|\x9c)  # OSC DCS SOS PM APC
    | \x1b[ -/]*[0-~]                                            # other ESC sequences (ESC c resets)
    """,
    re.VERBOSE,
)
#: C0 (but tab and newline), DEL, C1, and the bidi embeddings, overrides and isolates.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
#: What ``json.dumps(ensure_ascii=False)`` leaves raw but a terminal may act on.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def sanitize(text: str) -> str:
    """``text`` safe to print to a terminal: escape sequences (CSI, OSC, DCS ...) removed whole,
    every other C0/C1 control and bidi override removed; ``\\n`` and ``\\t`` kept, ``\\r\\n`` and
    a lone ``\\r`` made ``\\n``."""
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def escape_name(path: Any) -> str:
    """A file name with its control characters shown escaped (``\\x1b``, ``\\n``, ``\\u202e``) and
    bytes that were not UTF-8 shown as ``\\xNN``, so a hostile name prints as what it is."""
    name = os.fsdecode(path) if isinstance(path, bytes | os.PathLike) else str(path)
    out = []
    for ch in name:
        o = ord(ch)
        if ch in _NAMED:
            out.append(_NAMED[ch])
        elif 0xDC80 <= o <= 0xDCFF:  # os.fsdecode's surrogateescape of an undecodable byte
            out.append(f"\\x{o - 0xDC00:02x}")
        elif o < 0x20 or 0x7F <= o <= 0x9F:
            out.append(f"\\x{o:02x}")
        elif 0x202A <= o <= 0x202E or 0x2066 <= o <= 0x2069:
            out.append(f"\\u{o:04x}")
        else:
            out.append(ch)
    return "".join(out)


# --------------------------------------------------------------------------- text with spans

_BOLD, _DIM, _RESET = "\x1b[1m", "\x1b[2m", "\x1b[0m"
_MATCH = "\x1b[1;31m"  # grep's colour for matches
_LEVEL_COLOUR = {"SECRET": "\x1b[31m", "CONFIDENTIAL": "\x1b[33m"}
Spans = list[tuple[int, int]]


def _transform(text: str, spans: Iterable[Span | tuple[int, int]], fn: Callable[[str], str]) -> tuple[str, Spans]:
    """``fn`` applied to each piece of ``text`` between span boundaries, the spans moved along."""
    pairs = [(s.start, s.end) if isinstance(s, Span) else (s[0], s[1]) for s in spans]
    pairs = [(max(0, a), min(len(text), b)) for a, b in pairs if b > a]
    cuts = sorted({0, len(text), *(x for p in pairs for x in p)})
    where: dict[int, int] = {}
    out: list[str] = []
    n = 0
    for a, b in itertools.pairwise(cuts):
        where[a] = n
        piece = fn(text[a:b])
        out.append(piece)
        n += len(piece)
    where[cuts[-1]] = n
    return "".join(out), [(where[a], where[b]) for a, b in pairs if where[b] > where[a]]


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", sanitize(text))


def _paint(text: str, spans: Spans, color: bool, on: str = _MATCH) -> str:
    if not color or not spans:
        return text
    out, last = [], 0
    for a, b in sorted(spans):
        a = max(a, last)
        if b <= a:
            continue
        out += [text[last:a], on, text[a:b], _RESET]
        last = b
    out.append(text[last:])
    return "".join(out)


def _wrap(text: str, spans: Spans, width: int) -> list[tuple[str, Spans]]:
    """Greedy word wrap of one line of ``text`` to ``width``, spans split along; long words are cut."""
    width = max(width, 10)
    pieces: list[tuple[int, int]] = []
    for m in re.finditer(r"\S+", text):
        s, e = m.span()
        while e - s > width:
            pieces.append((s, s + width))
            s += width
        pieces.append((s, e))
    lines: list[tuple[int, int]] = []
    for s, e in pieces:
        if lines and e - lines[-1][0] <= width:
            lines[-1] = (lines[-1][0], e)
        else:
            lines.append((s, e))
    out = []
    for a, b in lines:
        inside = [(max(s, a) - a, min(e, b) - a) for s, e in spans if s < b and e > a]
        out.append((text[a:b], inside))
    return out or [("", [])]


def _block(text: str, spans: Any, width: int, indent: str, color: bool, ellipsis: bool = False) -> list[str]:
    clean, moved = _transform(text, spans, _one_line)
    if ellipsis and clean:  # a passage: "…" where it seems to start or end mid-sentence
        if not (clean[0].isupper() or clean[0].isdigit() or clean[0] in "(\"'"):
            clean, moved = "… " + clean, [(a + 2, b + 2) for a, b in moved]
        if clean[-1] not in ".!?)\"'":
            clean += " …"
    return [indent + _paint(t, sp, color) for t, sp in _wrap(clean, moved, width - len(indent))]


def _date(value: Any, with_time: bool = False) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M" if with_time and (value.hour or value.minute) else "%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    return str(value) if value else ""


def _level_style(label: str) -> str | None:
    return _LEVEL_COLOUR.get(label.split("//", 1)[0])


def _level(label: str, color: bool) -> str:
    shown = sanitize(label)
    style = _level_style(shown) if color else None
    return f"{style}{shown}{_RESET}" if style else shown


def _header(pieces: list[tuple[str, str | None]], width: int, color: bool) -> list[str]:
    """Pieces joined by two spaces, wrapped between pieces (continuation lines indented)."""
    lines: list[list[tuple[str, str | None]]] = [[]]
    used = 0
    for text, style in pieces:
        if not text:
            continue
        if lines[-1] and used + 2 + len(text) > width:
            lines.append([])
            used = 4
        used += len(text) + (2 if lines[-1] else 0)
        lines[-1].append((text, style))
    out = []
    for i, line in enumerate(lines):
        shown = "  ".join(f"{st}{t}{_RESET}" if color and st else t for t, st in line)
        out.append(("    " if i else "") + shown)
    return out


# --------------------------------------------------------------------------- hits as text


def render_hits_text(results: Any, *, color: bool = False, width: int = 80) -> str:
    """A numbered list of the hits on this page (ref, date, classification, origin, subject and
    snippets with the matches highlighted), then the total and the time taken. Ends with a newline."""
    lines: list[str] = []
    for hit in results.hits:
        label = _one_line(hit.classification)
        lines += _header([
            (f"{hit.rank}." if hit.rank else "-", None), (_one_line(hit.ref), _BOLD), (_date(hit.date), None),
            (label, _level_style(label)), (_one_line(hit.origin or ""), None),
        ], width, color)
        subject_snip = next((s for s in hit.snippets if s.field == "subject"), None)
        if hit.subject:
            spans = subject_snip.spans if subject_snip and subject_snip.text == hit.subject else ()
            lines += _block(hit.subject, spans, width, "    ", color)
        for snip in hit.snippets:
            if snip.field != "subject":
                lines += _block(snip.text, snip.spans, width, "    ", color, ellipsis=True)
        lines.append("")
    lines.append(summary_line(results, color=color))
    return "\n".join(lines) + "\n"


def summary_line(results: Any, *, color: bool = False) -> str:
    """``37 cables match · page 1 of 4 · 12 ms`` (or ``No cables match · 3 ms``)."""
    ms = f"{results.elapsed * 1000:.0f} ms"
    if not results.total:
        text = f"No cables match · {ms}"
    else:
        noun = "cable matches" if results.total == 1 else "cables match"
        if results.page > results.pages:
            text = f"{results.total:,} {noun} · page {results.page} is past the last page, {results.pages} · {ms}"
        else:
            text = f"{results.total:,} {noun} · page {results.page} of {results.pages} · {ms}"
    return f"{_DIM}{text}{_RESET}" if color else text


def render_facets(facets: Mapping[str, Sequence[tuple[Any, int]]], *, color: bool = False) -> str:
    """Facet counts as one block per field: values left, counts right-aligned."""
    blocks = []
    for name, items in facets.items():
        rows = [(_one_line(str(v)), f"{n:,}") for v, n in items]
        wv = max((len(v) for v, _ in rows), default=0)
        wn = max((len(n) for _, n in rows), default=0)
        title = f"{_BOLD}{name}{_RESET}" if color else name
        body = [f"  {v.ljust(wv)}  {n.rjust(wn)}" for v, n in rows] or ["  (none)"]
        blocks.append("\n".join([title, *body]))
    return "\n\n".join(blocks)


# --------------------------------------------------------------------------- one whole cable


def _fields_of(item: Any) -> dict[str, Any]:
    """The shown fields of a Cable, a Hit or a mapping of stored fields."""
    if isinstance(item, Mapping):
        tags = item.get("tag") or item.get("tags") or ()
        return {
            "ref": item.get("ref"), "date": item.get("date"), "released": item.get("released"),
            "classification": item.get("label") or item.get("classification") or "", "origin": item.get("origin"),
            "tags": tuple(tags.split(",")) if isinstance(tags, str) else tuple(tags),
            "subject": item.get("subject"), "source": item.get("path") or item.get("source"),
            "body": item.get("body") or "",
        }
    if isinstance(item, Cable):
        return {
            "ref": item.key, "date": item.date, "released": item.released, "classification": item.classification.label,
            "origin": item.origin, "tags": item.tags, "subject": item.subject, "source": item.source,
            "body": item.body,
        }
    if isinstance(item, Hit):
        return {
            "ref": item.ref, "date": item.date, "released": None, "classification": item.classification,
            "origin": item.origin, "tags": item.tags, "subject": item.subject, "source": item.source,
            "body": "\n\n".join(s.text for s in item.snippets if s.field == "body"),
        }
    raise TypeError(f"cannot show {type(item).__name__}")


def _highlighter(query: Any, index: Any) -> Any:
    if query is None or query == "":
        return None
    if hasattr(query, "spans"):  # already a Highlighter
        return query
    own = getattr(index, "highlighter", None)  # CableIndex.highlighter: its own thread-safe source
    if callable(own):
        return own(query)
    from .search import highlighter

    return highlighter(query, index)


def render_cable_text(
    cable: Any, *, highlight_query: Any = None, color: bool = False, index: Any = None, width: int | None = 100,
) -> str:
    """The whole cable for ``cablesearch show``: metadata lines, then the body with its paragraphs,
    lines longer than ``width`` wrapped (None: as stored). ``highlight_query`` (query text, a
    compiled query or a ``search.Highlighter``) marks what it matches; ``index`` (a CableIndex or
    whoosh index) lets wildcards and fuzzy words expand against the index's terms."""
    f = _fields_of(cable)
    hl = _highlighter(highlight_query, index)
    meta = [
        ("Ref", _one_line(f["ref"] or "")), ("Date", _date(f["date"], with_time=True)),
        ("Released", _date(f["released"])), ("Class", _level(f["classification"], color)),
        ("Origin", _one_line(f["origin"] or "")), ("Tags", _one_line(", ".join(f["tags"]))),
        ("Source", escape_name(f["source"]) if f["source"] else ""),
    ]
    lines = [f"{(_BOLD + k + _RESET) if color else k}:{' ' * (10 - len(k))}{v}" for k, v in meta if v]
    if f["subject"]:
        spans = hl.spans(f["subject"]) if hl else ()
        label = f"{_BOLD}Subject{_RESET}" if color else "Subject"
        lines += [f"{label}:   " + line.lstrip() for line in _block(f["subject"], spans, width or 10**6, "", color)]
    lines.append("")
    body = f["body"]
    spans = hl.spans(body) if hl and body else ()
    clean, moved = _transform(body, spans, lambda t: sanitize(t).replace("\t", "    "))
    offset = 0
    for raw in clean.split("\n"):
        end = offset + len(raw)
        inside = [(max(a, offset) - offset, min(b, end) - offset) for a, b in moved if a < end and b > offset]
        if width and len(raw) > width:
            lead = raw[: len(raw) - len(raw.lstrip())]
            lines += [lead + _paint(t, sp, color) for t, sp in _wrap(raw, inside, width - len(lead))]
        else:
            lines.append(_paint(raw.rstrip(), inside, color))
        offset = end + 1
    return "\n".join(lines).rstrip("\n") + "\n"


# --------------------------------------------------------------------------- JSON, JSONL, CSV


def _json(obj: Any, indent: int | None = None) -> str:
    text = json.dumps(obj, ensure_ascii=False, indent=indent, default=str)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def hit_to_dict(hit: Hit) -> dict[str, Any]:
    """A hit as JSON-ready data; dates as ISO 8601, spans as ``[start, end]`` pairs."""
    return {
        "rank": hit.rank, "ref": hit.ref, "score": hit.score,
        "date": hit.date.isoformat() if hit.date else None,
        "classification": hit.classification, "origin": hit.origin, "tags": list(hit.tags),
        "subject": hit.subject, "entities": hit.entities,
        "snippets": [{"field": s.field, "text": s.text, "spans": [[x.start, x.end] for x in s.spans]}
                     for s in hit.snippets],
        "source": hit.source,
    }


def _warning(w: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"message": str(w)}
    if hasattr(w, "start"):
        out.update(start=w.start, end=w.end)
    return out


def render_json(results: Any, *, facets: Mapping[str, Sequence[tuple[Any, int]]] | None = None) -> str:
    """One JSON document: the query, total, paging, warnings, the hits of this page, facets if given."""
    doc: dict[str, Any] = {
        "query": results.query, "total": results.total, "page": results.page, "pages": results.pages,
        "pagelen": results.pagelen, "sort": results.sort, "elapsed": round(results.elapsed, 6),
        "warnings": [_warning(w) for w in results.warnings],
        "hits": [hit_to_dict(h) for h in results.hits],
    }
    return _json(_with_facets(doc, facets), indent=2)


def _with_facets(doc: dict[str, Any], facets: Mapping[str, Sequence[tuple[Any, int]]] | None) -> dict[str, Any]:
    if facets is not None:
        doc["facets"] = {k: [{"value": v, "count": n} for v, n in items] for k, items in facets.items()}
    return doc


def render_count_json(query: str, total: int, warnings: Sequence[Any],
                      facets: Mapping[str, Sequence[tuple[Any, int]]] | None = None) -> str:
    """``search --count --json``: the query, its total and warnings (and facets if given), no hits."""
    doc: dict[str, Any] = {"query": query, "total": total, "warnings": [_warning(w) for w in warnings]}
    return _json(_with_facets(doc, facets), indent=2)


def iter_jsonl(hits: Iterable[Hit]) -> Iterator[str]:
    """One JSON object a line per hit (each string ends with a newline)."""
    for hit in hits:
        yield _json(hit_to_dict(hit)) + "\n"


CSV_COLUMNS = ("rank", "ref", "date", "classification", "origin", "tags", "subject", "score", "snippet", "source")


def iter_csv(hits: Iterable[Hit]) -> Iterator[str]:
    """A header row, then one CSV row per hit (RFC 4180 quoting; tags joined with ``;``; the body
    snippets joined with `` … ``). Text cells are sanitized: a CSV may well be read in a terminal."""
    buf = io.StringIO()
    writer = csv.writer(buf)

    def row(values: Sequence[Any]) -> str:
        buf.seek(0)
        buf.truncate()
        writer.writerow(values)
        return buf.getvalue()

    yield row(CSV_COLUMNS)
    for h in hits:
        yield row([
            h.rank, sanitize(h.ref), h.date.isoformat() if h.date else "", sanitize(h.classification),
            sanitize(h.origin or ""), sanitize(";".join(h.tags)), sanitize(h.subject or ""),
            "" if h.score is None else f"{h.score:.4f}",
            sanitize(" … ".join(s.text for s in h.snippets if s.field != "subject")), escape_name(h.source or ""),
        ])


# --------------------------------------------------------------------------- index figures


def render_stats(figures: Mapping[str, Any]) -> str:
    """``CableIndex.stats()`` as aligned text: scalars first, then each table (pairs or mappings)."""
    scalars, tables = [], []
    for key, value in figures.items():
        name = key.replace("_", " ")
        if isinstance(value, Mapping):
            rows = list(value.items())
        elif isinstance(value, list | tuple) and value and all(isinstance(x, list | tuple) and len(x) == 2
                                                              for x in value):
            rows = [tuple(x) for x in value]
        elif value is None or value == "" or value == []:
            continue
        else:
            shown = f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)
            if key == "size_bytes" and isinstance(value, int):
                shown = f"{value / 1e6:,.1f} MB"
            scalars.append((name, sanitize(shown)))
            continue
        if rows:
            tables.append((name, rows))
    w = max((len(k) for k, _ in scalars), default=0)
    out = [f"{k.ljust(w)}  {v}" for k, v in scalars]
    for name, rows in tables:
        shown = [(sanitize(str(k)), f"{v:,}" if isinstance(v, int) else sanitize(str(v))) for k, v in rows]
        wk = max(len(k) for k, _ in shown)
        wv = max(len(v) for _, v in shown)
        out += ["", name, *(f"  {k.ljust(wk)}  {v.rjust(wv)}" for k, v in shown)]
    return "\n".join(out)


__all__ = [
    "CSV_COLUMNS",
    "escape_name",
    "hit_to_dict",
    "iter_csv",
    "iter_jsonl",
    "render_cable_text",
    "render_facets",
    "render_hits_text",
    "render_json",
    "render_stats",
    "sanitize",
    "summary_line",
]
