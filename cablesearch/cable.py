"""parse_cable: the text of one cable, in any of its published forms -> :class:`Cable`. Pure, no I/O.

Forms read (detected from the text):

1. the annotated form: ``<code><pre>`` + the tokenized body with entity marks ``[ORG Intel  ]``;
2. a full cablegate HTML page: metadata table, routing header block, body block;
3. one row of the 2011 ``cables.csv`` dump (8 quoted fields, backslash escapes);
4. plain cable text: an optional routing header (``FM AMEMBASSY ...``), then the body.

The stages: unwrap the form (page metadata, header and body) -> :func:`strip_markup` (marks,
links, HTML; entity mentions and linked tags collected) -> cut the page preludes (date lines,
metadata blocks, the site's truncated teaser) -> :func:`detokenize` -> read the header lines
(:mod:`cablesearch.cable_header`) -> split the numbered paragraphs. Metadata given with the
text (page table, CSV columns, a manifest entry passed as ``meta``) wins over what the text says.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from .cable_forms import read_csv_row, read_html_page, read_prelude, split_routing, strip_partial_extract
from .cable_header import (
    find_banner,
    read_classification,
    read_classified_by,
    read_decl,
    read_plain_tags,
    read_post_serial,
    read_refs,
    read_subject,
    split_tags,
)
from .cable_markup import PARA, detokenize, entities_before, looks_tokenized, strip_markup
from .cable_meta import normalize_origin, parse_datetime, read_routing
from .model import LEVELS, Cable, Classification, Paragraph, unsurrogate

__all__ = ["merge_meta", "normalize_origin", "parse_cable", "parse_datetime", "ref_from_name"]

#: How far into the body the header lines are looked for.
HEADER_ZONE = 4000

#: C0 controls but tab and newline, DEL, line and paragraph separators: a cable never means them,
#: and a terminal may act on them. (C1 controls stay: they are what a latin-1 file's 0x80-0x9f
#: bytes decode to; the renderers drop them.)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]")
_LINE_BREAKS = "\u2028\u2029\x0b\x0c"
_REDACTED = re.compile(r"X{6,}")
_REF_NAME = re.compile(r"^(?P<ref>\d\d[A-Z][A-Z-]*[A-Z]\d{1,6})(?:\.[A-Za-z0-9]+)*$")
_CSV_ROW = re.compile(r'^\s*"\d+","')


def ref_from_name(source: str | None) -> str | None:
    """``.../09MOSCOW2723.txt`` -> ``09MOSCOW2723``; a name not shaped like a cable id -> None."""
    if not source:
        return None
    name = source.replace("\\", "/").rsplit("/", 1)[-1]
    name = name.split(":", 1)[0]
    m = _REF_NAME.match(name)
    return m.group("ref") if m else None


# --- paragraphs --------------------------------------------------------------------------------

_PARA_HEAD = re.compile(r"\s*(?P<n>\d{1,3})\s?\.?\s*(?:\(\s*(?P<mark>[A-Za-z/ -]{1,12}?)\s*\))?\s*")
# Paragraph 1 where the page lost its anchor: ``1.(C ) Summary`` / ``1. (SBU)``
_FIRST_PARA = re.compile(r"1\s?\.\s?\(\s?(?:U|C|S|SBU|S/NF|C/NF|LOU|FOUO)\s?\)")
_LINE_PARA = re.compile(r"(?m)^[ \t]*(?P<n>\d{1,3})\s?\.(?:[ \t]*(?=\()|[ \t]+(?=[A-Z]))")
_MARKING = re.compile(r"^(?:U|C|S|SBU|LOU|NF|FOUO|TS|S/NF|C/NF|SBU/NF|U/FOUO|C/REL|S/REL|TS/NF|U/SBU|S-NF|C-NF)"
                      r"(?:/[A-Z]{2,8})*$")


def _marking(raw: str | None) -> str | None:
    if not raw:
        return None
    m = "".join(raw.split()).upper().replace("-", "/")
    return m if _MARKING.match(m) else None


def _drop_trailing_heading(text: str) -> str:
    """A section heading that belongs to the next paragraph: ``... ---------- Background ----------``.
    (String operations: a regex here backtracks badly over long dash runs.)"""
    t = text.rstrip()
    if not t.endswith("---"):
        return text
    body = t.rstrip("-").rstrip()
    cut = body.rfind("---", max(0, len(body) - 100))
    if cut < 0 or "\n" in body[cut:]:
        return text
    return body[:cut].rstrip("- \t\n")


def _split_paragraphs(body: str) -> tuple[Paragraph, ...]:
    """Numbered paragraphs: at the site's anchors when there are any, else at lines ``N. (C) ...``
    numbered 1, 2, 3... in order."""
    starts: list[tuple[int, int]] = []  # (offset of the text, number)
    if PARA in body:
        pos = body.find(PARA)
        while pos >= 0:
            m = _PARA_HEAD.match(body, pos + 1)
            if m and m.group("n"):
                starts.append((pos + 1, int(m.group("n"))))
            pos = body.find(PARA, pos + 1)
    else:
        expected = 1
        for m in _LINE_PARA.finditer(body):
            n = int(m.group("n"))
            if n == expected:
                starts.append((m.start(), n))
                expected += 1
    out: list[Paragraph] = []
    for i, (start, number) in enumerate(starts):
        end = starts[i + 1][0] - 1 if i + 1 < len(starts) else len(body)
        chunk = body[start:end]
        m = _PARA_HEAD.match(chunk)
        marking = _marking(m.group("mark")) if m else None
        text = chunk[m.end() :] if m and (marking or not m.group("mark")) else chunk[m.end("n") + 1 :] if m else chunk
        text = _drop_trailing_heading(text.replace(PARA, "")).strip()
        out.append(Paragraph(number, marking, text))
    return tuple(out)


_MARKING_LEVEL = {"S": "SECRET", "TS": "SECRET", "C": "CONFIDENTIAL", "U": "UNCLASSIFIED", "SBU": "UNCLASSIFIED",
                  "LOU": "LIMITED OFFICIAL USE", "FOUO": "UNCLASSIFIED"}


def _level_from_paragraphs(paragraphs: tuple[Paragraph, ...], header: str) -> Classification:
    """No banner: a cable is classified at the level of its highest paragraph marking."""
    best = -1
    caveats: list[str] = []
    for p in paragraphs:
        if not p.marking:
            continue
        parts = p.marking.split("/")
        level = _MARKING_LEVEL.get(parts[0])
        if level is not None:
            best = max(best, LEVELS.index(level))
        if "NF" in parts[1:] and "NOFORN" not in caveats:
            caveats.append("NOFORN")
    if best < 0:
        return Classification()
    return Classification(LEVELS[best], tuple(caveats))


# --- the parser --------------------------------------------------------------------------------


def parse_cable(text: str, *, source: str | None = None, meta: Mapping[str, Any] | None = None) -> Cable:
    """Read one cable. Never raises on odd input: absent fields stay None / empty.

    ``meta`` (a manifest entry or CSV columns) is put over what the text says, before the refs
    without a year take the cable's year.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _no_controls(text)
    given: dict[str, Any] = {}
    routing = ""
    form_meta: dict[str, Any] = {}
    head = text[:3000]
    if _CSV_ROW.match(head) and (row := read_csv_row(text)) is not None:
        form_meta, routing, body_src = row
    elif _is_html_page(head) or "<table class='cable'>" in text[:200000]:
        form_meta, routing, body_src = read_html_page(text)
    else:
        body_src = _unwrap_pre(text) if "<pre>" in head.lower() else text
        # plain text may open with a routing header (VZCZC..., R 031356Z NOV 09, FM ..., TO ...)
        routing, body_src = split_routing(body_src)

    stripped, entities, linked_tags = strip_markup(body_src)
    if "¶" in stripped:  # a pilcrow left from a page's paragraph link: ¶1.
        stripped = _PILCROW.sub(lambda m: PARA if m.group(1) else "", stripped)
    prelude, cut = read_prelude(stripped)
    # Drop the prelude, and the site's teaser before a metadata block (it repeats the cable).
    if cut:
        after = stripped[cut:]
        banner_after = find_banner(after, limit=1500)
        skip = banner_after[1] if banner_after and prelude.get("refid") else 0
        stripped_body = after[skip:]
        cut += skip
        dropped = entities_before(body_src, cut)
        entities = entities[dropped:]
    else:
        stripped_body = stripped
    stripped_body = strip_partial_extract(stripped_body)
    tokenized = bool(entities) or "[ORG " in body_src or looks_tokenized(stripped_body)
    body = detokenize(stripped_body) if tokenized else _tidy(stripped_body)
    if tokenized and ".\n(" in body:
        # the sentence splitter cut "1 . ( C ) Summary" after the number: put the number back at a line start
        body = _SPLIT_NUMBER.sub(_number_to_line_start, body)
        if " \n" in body:
            body = body.replace(" \n", "\n")
    body = body.strip()

    for source_meta in (prelude, form_meta, meta or {}):
        # "date" (a CSV row's column) and "created" (a manifest, a page) are one thing: the later
        # source wins whichever name it uses (a row's date over a metadata block in its body).
        given.update({_SAME_KEY.get(k, k): v for k, v in source_meta.items() if v not in (None, "", [], ())})

    banner = find_banner(body)
    head_start = banner[1] if banner else 0
    header = body[head_start : head_start + HEADER_ZONE]
    first_para = header.find(PARA)
    inline = _first_paragraph(header)
    ends = [i for i in (first_para, inline) if i > 0]
    if ends:
        header = header[: min(ends)]

    origin = serial = None
    if banner:
        origin, serial = read_post_serial(body, banner[2])
    routing_origin, routing_date = read_routing(routing) if routing else (None, None)
    if origin is None:
        origin = routing_origin
    paragraphs = _split_paragraphs(body)
    classification = read_classification(header, banner)
    if classification.level is None:
        classification = _level_from_paragraphs(paragraphs, header)
    subject, _ = read_subject(header, origin)
    # "Classified By" may open paragraph 1: 1. (U) CLASSIFIED BY: ...
    classified_by, reasons = read_classified_by(body[head_start : head_start + len(header) + 600])
    tags = tuple(dict.fromkeys(t.upper() for t in linked_tags)) if linked_tags else read_plain_tags(header)

    cable = Cable(
        ref=ref_from_name(source),
        origin=origin,
        serial=serial,
        date=routing_date,
        decl=read_decl(header),
        classification=classification,
        tags=tags,
        subject=subject,
        classified_by=classified_by,
        reasons=reasons,
        paragraphs=paragraphs,
        entities=tuple(entities),
        body=_readable(body),
        redactions=len(_REDACTED.findall(body)) if "XXXXXX" in body else 0,
        source=source,
    )
    if given:
        cable = merge_meta(cable, given)
    year = cable.date.year if cable.date else None
    refs = read_refs(header, year)
    extra = given.get("references")
    if isinstance(extra, str) and extra.strip():
        refs = tuple(dict.fromkeys(refs + tuple(r.strip().upper() for r in re.split(r"[|,; ]+", extra) if r.strip())))
    return replace(cable, refs=refs) if refs else cable


_PILCROW = re.compile(r"¶[ \t]*(?=(\d))?")
# Patterns start with a literal or a digit, never with a lookbehind or an optional space: the
# regex engine then skips fast over the text (these run over whole bodies).
_SPLIT_NUMBER = re.compile(r"(\d{1,3}\.)\n(?=\(\s?(?:U|C|S|SBU|S/NF|C/NF|LOU|FOUO)\s?\))")


def _number_to_line_start(m: re.Match[str]) -> str:
    """``... (d) 1.\\n(C) Summary`` -> ``... (d)\\n1. (C) Summary`` (only a number standing alone)."""
    s, start = m.string, m.start()
    if start and s[start - 1] not in " \t\n":
        return m.group(0)
    if start and s[start - 1] != "\n":
        return "\n" + m.group(1) + " "  # the space left before it is dropped by the caller
    return m.group(1) + " "


def _unwrap_pre(text: str) -> str:
    """``<code><pre>`` + body + ``</pre></code>`` (the annotated form) -> the body."""
    t = text.strip()
    low_head, low_tail = t[:16].lower(), t[-16:].lower()
    if low_head.startswith("<code><pre>"):
        t = t[11:]
    elif low_head.startswith("<pre>"):
        t = t[5:]
    if low_tail.endswith("</pre></code>"):
        t = t[:-13]
    elif low_tail.endswith("</pre>"):
        t = t[:-6]
    return t


def _first_paragraph(header: str) -> int:
    """Where ``1. (C)`` starts paragraph 1 in a header whose page lost the anchor; -1 if nowhere."""
    for m in _FIRST_PARA.finditer(header):
        if m.start() == 0 or header[m.start() - 1].isspace():
            return m.start()
    return -1


def _is_html_page(head: str) -> bool:
    low = head.lower()
    return "<table class='cable'" in low or '<table class="cable"' in low or "<!doctype html" in low or "<html" in low
# Only from the start of a run of blanks: tried at every blank, ``[ \t]+\n`` scans the rest of the
# run each time, quadratic on a long run without a newline (100,000 tabs took 23 s).
_TRAILING_SPACE = re.compile(r"(?<![ \t])[ \t]+\n")
_PARA_BREAK = re.compile(r"\u2029[ \t]*(?:(\d{1,3}\.)[ \t]*\n?[ \t]*)?")


def _readable(body: str) -> str:
    """Paragraph anchors -> a line break before the number; ``1.\\n(C) Summary`` -> ``1. (C) Summary``."""
    if PARA not in body:
        return body

    while " \u2029" in body:
        body = body.replace(" \u2029", "\u2029")

    def repl(m: re.Match[str]) -> str:
        start = m.start()
        lead = "" if start == 0 or body[start - 1] == "\n" else "\n"
        number = m.group(1)
        return lead + (number + " " if number else "")

    return _PARA_BREAK.sub(repl, body)


def _tidy(text: str) -> str:
    return _TRAILING_SPACE.sub("\n", text)


# --- metadata ----------------------------------------------------------------------------------


def _no_controls(text: str) -> str:
    """Control characters out: line breaks (VT, FF, U+2028/9) to newlines, the others to spaces."""
    if not _CONTROL.search(text):
        return text
    return _CONTROL.sub(lambda m: "\n" if m.group(0) in _LINE_BREAKS else " ", text)


def _clean_value(value: Any) -> Any:
    if isinstance(value, str):
        return unsurrogate(_no_controls(value))
    if isinstance(value, list | tuple):
        return type(value)(_clean_value(v) for v in value)
    return value


_SAME_KEY = {"date": "created"}


def merge_meta(cable: Cable, meta: Mapping[str, Any]) -> Cable:
    """Put a manifest entry, CSV columns or page metadata over what the text said.

    Keys: ``refid``, ``created`` (or ``date``), ``released``, ``classification`` (a label such as
    ``SECRET//NOFORN``), ``origin`` (``Embassy Moscow``), ``tags``, ``subject``. Control
    characters in the values are dropped, as in the text.
    """
    meta = {k: _clean_value(v) for k, v in meta.items()}
    changes: dict[str, Any] = {}
    ref = meta.get("refid")
    if isinstance(ref, str) and ref.strip():
        changes["ref"] = ref.strip().upper()
    notes = list(cable.notes)
    unreadable = None
    for key in ("created", "date"):
        when = _as_datetime(meta.get(key))
        if when:
            changes["date"] = when
            unreadable = None  # another key of the two gave the date
            break
        if unreadable is None and _unreadable(meta.get(key)):
            unreadable = meta[key]
    if unreadable is not None:
        notes.append(f"its date {unreadable.strip()[:40]!r} is not a date; "
                     + ("the text's date is used" if cable.date else "it has no date"))
    when = _as_datetime(meta.get("released"))
    if when:
        changes["released"] = when
    elif _unreadable(meta.get("released")):
        notes.append(f"its released {meta['released'].strip()[:40]!r} is not a date; it has no release date")
    if notes != list(cable.notes):
        changes["notes"] = tuple(notes)
    label = meta.get("classification")
    if isinstance(label, Classification):
        changes["classification"] = label
    elif isinstance(label, str) and label.strip():
        cls = Classification.from_label(label)
        if cls.level or cls.caveats:
            changes["classification"] = cls
    origin = meta.get("origin")
    if isinstance(origin, str) and (post := normalize_origin(origin)):
        changes["origin"] = post
    tags = meta.get("tags")
    if isinstance(tags, list | tuple) and tags:
        changes["tags"] = split_tags(" ".join(str(t) for t in tags))
    elif isinstance(tags, str) and tags.strip():
        changes["tags"] = split_tags(tags)
    subject = meta.get("subject")
    if isinstance(subject, str) and subject.strip():
        changes["subject"] = " ".join(subject.split())
    return replace(cable, **changes) if changes else cable


def _unreadable(value: Any) -> bool:
    """A metadata date given as text that is not a date (so it is left out: worth a report)."""
    return isinstance(value, str) and bool(value.strip()) and parse_datetime(value) is None


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value.strip():
        return parse_datetime(value)
    return None
