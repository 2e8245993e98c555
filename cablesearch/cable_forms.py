"""The published forms of a cable, unwrapped: a cablegate HTML page (metadata table, routing header,
body), a ``cables.csv`` row, plain text with a routing header; and the preludes some pages put
before the cable (date lines, metadata blocks, a teaser cut short with "..."). Pure functions.
"""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import datetime
from typing import Any

from .cable_header import find_banner
from .cable_meta import parse_datetime

_ANY_TAG = re.compile(r"<[^<>]*>")
_LINK_TEXT = re.compile(r"<a\b[^>]*>([^<]*)</a>", re.IGNORECASE)
#: How far into the text page preludes (date lines, metadata blocks, teasers) are looked for.
PRELUDE_ZONE = 6000

def _between(text: str, open_tag: str, close_tag: str, start: int = 0) -> list[str]:
    """The contents of every ``<tag ...>...</tag>`` from ``start``, found with ``str.find`` (linear,
    even when a closing tag is missing: a regex ``(.*?)</pre>`` would rescan to the end each time)."""
    out: list[str] = []
    low = text  # the site writes its tags in lowercase; lower() could shift offsets of non-ASCII text
    pos = start
    while True:
        i = low.find(open_tag, pos)
        if i < 0:
            return out
        j = low.find(">", i)
        if j < 0:
            return out
        k = low.find(close_tag, j + 1)
        if k < 0:
            out.append(text[j + 1 :])
            return out
        out.append(text[j + 1 : k])
        pos = k + len(close_tag)


def read_html_page(text: str) -> tuple[dict[str, Any], str, str]:
    """A cablegate page -> (metadata from its table, routing header text, body text)."""
    meta: dict[str, Any] = {}
    low = text
    t_start = low.find("<table class='cable'")
    if t_start < 0:
        t_start = low.find('<table class="cable"')
    after_table = 0
    if t_start >= 0:
        t_end = low.find("</table>", t_start)
        t_end = len(text) if t_end < 0 else t_end
        table = text[t_start:t_end]
        after_table = t_end
        heads = [_ANY_TAG.sub("", h).strip().lower() for h in _between(table, "<th", "</th>")]
        cells = []
        for cell in _between(table, "<td", "</td>"):
            link = _LINK_TEXT.search(cell)  # the link text, not its title attribute
            cells.append(_ANY_TAG.sub("", link.group(1) if link else cell).strip())
        keys = {"reference id": "refid", "created": "created", "released": "released",
                "classification": "classification", "origin": "origin"}
        for head, cell in zip(heads, cells, strict=False):
            if head in keys and cell:
                meta[keys[head]] = _unescape(cell)
    blocks = _between(text, "<pre", "</pre>", after_table) or _between(text, "<pre", "</pre>")
    if len(blocks) >= 2:
        header, body = blocks[0], "\n".join(blocks[1:])
    elif blocks:
        header, body = "", blocks[0]
    else:
        body_at = low.find("<body")
        header, body = "", _ANY_TAG.sub(" ", text[body_at if body_at >= 0 else 0 :])
    header = _unescape(_ANY_TAG.sub("", header))
    return meta, header, body


def _unescape(s: str) -> str:
    if "&" not in s:
        return s
    return html.unescape(s.replace("&#x000A;", "\n"))


_CSV_KEYS = ("id", "date", "refid", "origin", "classification", "references", "header", "body")


def read_csv_row(text: str) -> tuple[dict[str, Any], str, str] | None:
    """One ``cables.csv`` row -> (columns, routing header, body); None when it is not one row."""
    try:
        rows = list(csv.reader(io.StringIO(text), escapechar="\\", doublequote=False, strict=False))
    except csv.Error:
        return None
    if len(rows) != 1 or len(rows[0]) != len(_CSV_KEYS):
        return None
    row = dict(zip(_CSV_KEYS, rows[0], strict=True))
    meta = {k: row[k] for k in ("id", "date", "refid", "origin", "classification", "references") if row[k]}
    return meta, row["header"], row["body"]


# --- page preludes -----------------------------------------------------------------------------

# The annotated form's tokenizer sometimes re-spaces the caveat: ``FOR OFFICIA LUSEONLY``.
_FOUO_SPELLED = r"FOR ?OFFICIA ?L ?USE ?ONLY"
_CLS = (r"(?P<cls>(?:UNCLASSIFIED|CONFIDENTIAL|SECRET|LIMITED OFFICIAL USE)(?://(?:" + _FOUO_SPELLED
        + r"|[A-Z]+))*)")
_REFID = r"(?P<ref>\d\d[A-Z][A-Z]+\d{1,6})"
_META_BLOCKS = (
    # id: 224423 date: 9/10/2009 12:07 refid: 09ASUNCION561 origin: Embassy Asuncion classification: ...
    re.compile(r"id:\s*\d+\s+date:\s*(?P<date>[\d/.: -]{8,20}?)\s+refid:\s*" + _REFID
               + r"\s+origin:\s*(?P<origin>[^\n]{0,60}?)\s+classification:\s*" + _CLS),
    # ID: 190648 ORIGIN: 09KUWAIT110 DATE: 2009-02-05 16:36:00 SOURCE: Embassy Kuwait CLASSIFICATION: ...
    re.compile(r"ID:\s*\d+\s+ORIGIN:\s*" + _REFID + r"\s+DATE:\s*(?P<date>[\d/.: -]{8,20}?)\s+SOURCE:\s*"
               r"(?P<origin>[^\n]{0,60}?)\s+CLASSIFICATION:\s*" + _CLS),
    # Class: SECRET Date: Fri Jun 16 10:23:00 2006 Key: 06LONDON4338
    re.compile(r"Class:\s*" + _CLS + r"\s+Date:\s*(?P<date>\w{3} \w{3} +\d{1,2} \d\d:\d\d:\d\d \d{4})\s+Key:\s*"
               + _REFID),
)
# [<<id>>] date refid origin classification -- spaces or commas between, the origin maybe quoted.
# Looked for around each classification word (a substring scan), not over the whole zone.
_BLOCK = re.compile(r"(?:(?<=[\s\",>])|^)(?P<date>\d{4}-\d\d-\d\d(?:[ T]\d\d:\d\d(?::\d\d)?)?"
                    r"|\d{1,2}[/.]\d{1,2}[/.]\d{4}\s+\d{1,2}:\d\d(?::\d\d)?)"
                    r"[\s,]+" + _REFID + r"[\s,]+\"?(?P<origin>[A-Z][A-Za-z.,' -]{1,60}?)\"?[\s,]+" + _CLS
                    + r"(?![A-Z/])")
_LEVEL_WORDS = ("CONFIDENTIAL", "SECRET", "UNCLASSIFIED", "LIMITED OFFICIAL USE")


def find_block(zone: str) -> re.Match[str] | None:
    best = None
    for word in _LEVEL_WORDS:
        i = zone.find(word)
        while i >= 0 and (best is None or i < best.start()):
            m = _BLOCK.search(zone, max(0, i - 150), i + len(word) + 80)
            if m and m.start("cls") <= i:
                best = m
                break
            i = zone.find(word, i + 1)
    return best


_DATE_LINES = (
    re.compile(r"Cable dated:\s*(?P<date>\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d)?)"),
    re.compile(r"^\s*(?P<date>(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\s*,\s*\d{1,2}\s+[A-Z][a-z]+\s+\d{4}\s*,\s*"
               r"\d\d:\d\d)"),
)
#: A page's teaser (the cable's first lines, cut) is at most this long before its metadata block.
TEASER_MAX = 400
_TEASER_TAIL = re.compile(r"[\s,\"<>\d]*$")
_HEADER_ENDS = re.compile(r"-{5,}\s*header ends\s*-{5,}", re.IGNORECASE)
_PARTIAL_EXTRACT = re.compile(
    r"This record is a partial extract of the original cable\s*\.?\s*The full text of the original cable is not "
    r"available\s*\.?", re.IGNORECASE)


def strip_partial_extract(text: str) -> str:
    """Drop the site's note "This record is a partial extract of the original cable..." at the start."""
    if "partial extract" not in text[:400]:
        return text
    return _PARTIAL_EXTRACT.sub("", text, count=1)


def read_prelude(text: str) -> tuple[dict[str, Any], int]:
    """Metadata the page put before the cable, and where the cable itself starts."""
    zone = text[:PRELUDE_ZONE]
    meta: dict[str, Any] = {}
    cut = 0
    best: tuple[int, int, dict[str, Any]] | None = None
    for pattern in _META_BLOCKS:
        m = pattern.search(zone)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), m.end(), m.groupdict())
    block = find_block(zone)
    if block and (best is None or block.start() < best[0]):
        best = (block.start(), block.end(), block.groupdict())
    if best is not None and best[0] > TEASER_MAX:
        # A block after a full cable belongs to the next one (pages that carry two cables);
        # only a page's teaser, cut short with "...", comes before the block of its own cable.
        pre = _TEASER_TAIL.sub("", zone[: best[0]])
        if not pre.endswith(".."):
            best = None
    if best is not None:
        groups = best[2]
        when = _prelude_date(groups["date"])
        if when:
            meta["created"] = when
        meta["refid"] = groups["ref"]
        if groups.get("origin"):
            meta["origin"] = groups["origin"].strip(" ,\"")
        meta["classification"] = re.sub(_FOUO_SPELLED, "FOR OFFICIAL USE ONLY", groups["cls"])
        cut = best[1]
        ends = _HEADER_ENDS.search(zone, cut)
        if ends:
            cut = ends.end()
        return meta, cut
    for pattern in _DATE_LINES:
        m = pattern.search(zone[:400])
        if m:
            when = _prelude_date(m.group("date"))
            if when:
                meta["created"] = when
            return meta, m.end()
    return meta, 0


def _prelude_date(value: str) -> datetime | None:
    value = " ".join(value.replace(" ,", ",").split())
    when = parse_datetime(value)
    if when is None:
        try:
            when = datetime.strptime(value, "%a %b %d %H:%M:%S %Y")
        except ValueError:
            when = None
    return when


_ROUTING_LINE = re.compile(r"^\s*(?:VZCZC\w*|(?:FM|TO|INFO)\b|[ROPZ]{1,2}\s+\d{6}Z\b)", re.MULTILINE)


def split_routing(text: str) -> tuple[str, str]:
    """Plain text that starts with a routing header (``R 220136Z DEC 97`` / ``FM ...`` / ``TO ...``):
    split it off at the classification banner or the first blank line."""
    head = text[:3000]
    first = _ROUTING_LINE.match(head)
    if not first:
        return "", text
    banner = find_banner(head, limit=3000)
    if banner:
        line_start = head.rfind("\n", 0, banner[1]) + 1
        if line_start > 0:
            return text[:line_start], text[line_start:]
    blank = head.find("\n\n")
    if blank > 0:
        return text[:blank], text[blank + 2 :]
    return "", text


