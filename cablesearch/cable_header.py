"""Reading the header lines of a cable: classification, post and serial, DECL, TAGS, SUBJECT, REF,
Classified By; plus the normalizations shared with the loader (origin names, dates, cable ids).

Every function takes plain text (marks and HTML already removed, tokenization undone) and
returns what it finds, or None / empty: nothing is guessed.
"""

from __future__ import annotations

import re
from datetime import date

from .cable_meta import normalize_post, two_digit_year
from .model import Classification

# --- classification --------------------------------------------------------------------------


def _spaced(word: str, *, drop_first: bool = False) -> str:
    """``SECRET`` -> ``S\\s*E\\s*C...`` with at least one space somewhere (``S E C R E T``, ``SS E C R E T``)."""
    first, rest = word[0], word[1:]
    head = f"(?:{first}\\s*)+" if not drop_first else f"(?:{first}\\s*)*"
    return head + r"\s*".join(rest)


# The banner: spaced letters (also with a doubled or lost first letter: ``SS E C R E T``,
# ``O N F I D E N T I A L``), or the word. Case-insensitive: ``S e c r e t``.
_BANNER = re.compile(
    r"(?P<spaced_c>" + _spaced("CONFIDENTIAL", drop_first=True) + r")"
    r"|(?P<spaced_s>" + _spaced("SECRET", drop_first=True) + r")"
    r"|\b(?P<unclas>U?UNCLAS(?:SIFIED)?|UNCLASS|NCLAS)\b"
    r"|\b(?P<lou>LIMITED\s+OFFICIAL\s+USE)\b"
    r"|\b(?P<conf>CONFIDENTIAL)\b"
    r"|\b(?P<secret>SECRET)\b",
    re.IGNORECASE,
)
_LEVEL_OF = {
    "spaced_c": "CONFIDENTIAL",
    "spaced_s": "SECRET",
    "unclas": "UNCLASSIFIED",
    "lou": "LIMITED OFFICIAL USE",
    "conf": "CONFIDENTIAL",
    "secret": "SECRET",
}
_NOFORN = re.compile(r"\bNOFORN\b|\bNOT RELEASABLE TO FOREIGN NATIONALS\b|\bNO FOREIGN DISSEM")
_SENSITIVE = re.compile(r"\bSENSITIVE\b|\bSBU\b")
_FOUO = re.compile(r"\bFOR OFFICIAL USE ONLY\b|\bFOUO\b")
#: The caveats stand on the banner's lines, before the subject.
CAVEAT_ZONE = 1500


def find_banner(text: str, limit: int = 600) -> tuple[str, int, int] | None:
    """The classification banner near the start of ``text``: ``(level, start, end)``.

    The spaced forms are the banner's own spelling and are taken anywhere in the zone; the
    plain words only when nothing but a few characters precedes them (a word like SECRET in a
    subject is not a banner).
    """
    zone = text[:limit]
    for m in _BANNER.finditer(zone):
        kind = m.lastgroup or ""
        word = m.group(0)
        if kind.startswith("spaced"):
            if " " not in word and "\n" not in word:
                # the plain word: only as a whole word (not SECRETARY)
                before = zone[m.start() - 1] if m.start() else " "
                after = zone[m.end()] if m.end() < len(zone) else " "
                if before.isalnum() or after.isalnum():
                    continue
                kind = "conf" if kind == "spaced_c" else "secret"
            else:
                return _LEVEL_OF[kind], m.start(), m.end()
        if kind in ("conf", "secret") and word != word.upper():
            continue  # "Secret" in prose
        if m.start() > _PLAIN_BANNER_AT and not _BANNER_FOLLOWS.match(zone, m.end()):
            continue  # a word in a sentence, not a banner: SUBJECT: SECRET TALKS
        return _LEVEL_OF[kind], m.start(), m.end()
    return None


#: A banner in plain words stands at the start, or is followed by a section or the post and serial.
_PLAIN_BANNER_AT = 80
_BANNER_FOLLOWS = re.compile(r"\s*(?://\w+\s*)?(?:SECTION\s+\d|(?:[A-Z][A-Z.'-]*\s){1,4}\d{3,7}\b)")


def read_classification(header: str, banner: tuple[str, int, int] | None) -> Classification:
    """Level from the banner; caveats from the header lines."""
    if banner is None:
        return Classification()
    level = banner[0]
    zone = " ".join(header[:CAVEAT_ZONE].upper().split())
    caveats: list[str] = []
    if "NO" in zone and _NOFORN.search(zone):
        caveats.append("NOFORN")
    if level == "UNCLASSIFIED" and ("SENSITIVE" in zone or "SBU" in zone) and _SENSITIVE.search(zone):
        caveats.append("SENSITIVE")
    if ("OFFICIAL USE" in zone or "FOUO" in zone) and _FOUO.search(zone):
        caveats.append("FOR OFFICIAL USE ONLY")
    return Classification(level, tuple(caveats))


# --- post and serial -------------------------------------------------------------------------

# After the banner: ``SECTION 01 OF 02 MOSCOW 002723`` / ``USUN NEW YORK 000123`` / ``STATE 135366``.
_POST_SERIAL = re.compile(
    r"[\s,.\"]*(?:(?:SECTION|SECTIO|PAGE)\s*\d+\s*OF\s*\d+\s*)?"
    r"(?P<post>[A-Z][A-Za-z.'-]*(?:\s[A-Z][A-Za-z.'-]*){0,3}?)\s?(?P<serial>\d{3,7})(?!\d)",
    re.IGNORECASE,
)
_NOT_POSTS = frozenset({"SECTION", "SIPDIS", "PAGE", "OF", "E.O.", "EO", "DECL", "TAGS", "SUBJECT", "NOFORN"})


def read_post_serial(text: str, banner_end: int) -> tuple[str | None, str | None]:
    """The sending post and the serial from the line after the banner: ``("MOSCOW", "2723")``."""
    m = _POST_SERIAL.match(text, banner_end)
    if not m:
        return None, None
    post = " ".join(m.group("post").split()).upper().strip(".")
    words = post.split()
    if not words or any(w in _NOT_POSTS for w in words):
        return None, None
    return normalize_post(post), str(int(m.group("serial")))


_DECL = re.compile(
    r"\bDECL(?:ASSIFY)?\b\s*(?:ON\s*)?:?\s*(?P<a>\d{1,4})\s*[/.-]\s*(?P<b>\d{1,2})\s*[/.-]\s*(?P<c>\d{2,4})\b",
    re.IGNORECASE,
)


def read_decl(header: str) -> date | None:
    """``DECL: 11/04/2019``, ``09/21/10``, ``01-05-14``, ``2019-11-04`` -> a date; ``OADR`` etc. -> None."""
    m = _DECL.search(header)
    if not m:
        return None
    a, b, c = m.group("a"), m.group("b"), m.group("c")
    if len(a) == 4:  # ISO order
        y, mo, d = int(a), int(b), int(c)
    else:
        mo, d = int(a), int(b)
        y = int(c) if len(c) == 4 else two_digit_year(int(c))
        if mo > 12 and d <= 12:
            mo, d = d, mo
    try:
        return date(y, mo, d)
    except ValueError:
        return None


# --- TAGS --------------------------------------------------------------------------------------

_TAGS_LINE = re.compile(r"\bTAGS\b\s*:?[ \t]*(?P<v>[^\n]*)", re.IGNORECASE)
_TAGS_END = re.compile(r"\b(?:SUBJ(?:ECT)?|SUBJEC|REF|REFS|E\.\s?O\.|Classified\s+By|CLASSIFIED\s+BY)\b|\s{3,}",
                       re.IGNORECASE)
_TAG_SPLIT = re.compile(r"[^A-Za-z0-9]+")


def split_tags(value: str) -> tuple[str, ...]:
    """The cablegate site's spelling of a TAGS value: alphanumeric runs, uppercase, in order, once each.
    (``PGOV, PINS, ZANU-PF`` -> ``PGOV PINS ZANU PF``.)"""
    out = [t.upper() for t in _TAG_SPLIT.split(value) if t]
    return tuple(dict.fromkeys(out))


def read_plain_tags(header: str) -> tuple[str, ...]:
    """The tags of a plain ``TAGS:`` / ``TAGS`` line (no site links)."""
    m = _TAGS_LINE.search(header)
    if not m:
        return ()
    value = m.group("v")
    end = _TAGS_END.search(value)
    if end:
        value = value[: end.start()]
    return split_tags(value)


# --- SUBJECT -----------------------------------------------------------------------------------

_SUBJECT = re.compile(r"\b(?:SUBJ(?:ECT)?|Subj(?:ect)?|subj(?:ect)?)\s*:\s*")
_SUBJECT_BARE = re.compile(r"\bSUBJECT\s+(?=[A-Z\"(])")
_EO = r"E\.\s?O\.\s*(?:12958|12356|12065|13292|13526)"
# Where a subject stops: a REF line, Classified By, paragraph 1, a blank line, another header
# line, a page's running header, a handling notice.
_SUBJECT_END = re.compile(
    r"\n[ \t]*\n"
    r"|\u2029"
    r"|(?<![A-Za-z])(?:REF|Ref)(?:S|s|TEL|tel|ERENCES?|erences?)?\.?\s*(?:[A-Z]\s*)?:"
    r"|(?<![A-Za-z])REF(?:S)?\s+(?=(?:\(?[A-Z]\)|[A-Z]\.\s|[A-Z]\s\d|\d\d\s?[A-Z]|[A-Z]{3,}\s\d))"
    r"|\b(?:REFTEL|Reftel)\b|(?<![A-Za-z])RE:\s"
    r"|\bClassified\s*By|\bCLASSIFIED\s*BY\b|\bClassified\s*by\b|\bDERIVED\s+FROM\b|\bDerived\s+from\b"
    r"|(?:^|\s)\(?1\s?[.)]\s?\(\s?[A-Za-z/]{1,8}\s?\)"
    r"|(?:^|\s)1\s?\.\s*(?=SUMMARY|Summary|\(|[A-Z][a-z])"
    r"|(?:^|\s)(?:\(1\)|1\))\s"
    r"|(?<=\S)\s\((?:U|C|S|SBU|S/NF|C/NF|LOU)\)(?=\s+\S)"
    r"|\b" + _EO +
    r"|\b(?:TAGS|SUBJECT|SUBJ)\s*:"
    r"|(?<=\s)(?:SUMMARY|Summary)\s*(?:-{2,}\s|:)"
    r"|-{4,}|/{4,}|\*{4,}|={4,}|\bZFR\b"
    r"|\bC O R R E C T E D\b"
    r"|\b(?:SENSITIVE|Sensitive|SENSTIVE)\s+(?:BUT|but|But)\s+(?:UNCLASSIFIED|unclassified|Unclassified)\b"
    r"|\bSIPDIS\b"
    r"|\b(?:THIS|This)\s+(?:CABLE|cable|MESSAGE|message|REPORT|report|TELEGRAM|telegram)\s+(?:IS|is|CONTAINS|contains|HAS|has)\b"
    r"|\s\d{6}\s+(?:NOFORN|SIPDIS|SENSITIVE)\b"  # the serial line again: TRIPOLI 000492 NOFORN
    r"|(?:\s|^)(?:id|ID):\s*\d+"
    r"|\s\d{8}\s+\d{3}(?:\.\d+)?\s+OF\s+\d{3}\b"  # running header: MOSCOW 00002723 002 OF 002
    r"|\.\.\.(?=\s|\d|[A-Z]\s[A-Z]\s[A-Z]|$)"  # a page's teaser ends with "..." (not HEALTH...")
)
# A mixed-case sentence after an uppercase subject is the body: ``... FOR PRESIDENT BUSH On August 3, post``
_CASE_BREAK = re.compile(r"\s(?=[A-Z][a-z'’]+\s+(?:[a-z]+|[A-Z][a-z]+)\b)")
_TRAILING_MARKING = re.compile(r"\s*\((?:U|C|S|SBU|S/NF|C/NF|LOU|U/FOUO|S/REL)\)\s*$")
_SUBJECT_CAP = 400


def read_subject(header: str, post: str | None = None) -> tuple[str | None, int]:
    """The SUBJECT, joined over its lines; and where it ended in ``header`` (-1 if none)."""
    m = _SUBJECT.search(header) or _SUBJECT_BARE.search(header)
    if not m:
        return None, -1
    start = m.end()
    zone = header[start : start + _SUBJECT_CAP + 200]
    e = _SUBJECT_END.search(zone)
    value = zone[: e.start()] if e else zone[:_SUBJECT_CAP]
    end = start + (e.start() if e else len(value))
    if e and e.group(0).startswith("..."):
        # a page's teaser, cut inside a stop word or the running header: ``CORREA RE...``,
        # ``COUNTERPART ADDIS ABAB...``
        value = _CUT_STOPWORD.sub("", _TRAILING_NUMBER.sub("", value))
        if post:
            value = _strip_post_prefix(value, post)
    if e and e.group(0)[:1].isspace() and e.group(0)[1:2].isdigit() and post:
        value = value.rstrip()
        value = _strip_post_prefix(value, post)  # a running header: its post name (maybe cut) too
    value = " ".join(value.split())
    head_words = [w for w in value.split()[:4] if any(c.isalpha() for c in w)]
    if head_words and all(w.upper() == w for w in head_words):
        brk = _CASE_BREAK.search(value, 1)
        if brk:
            value = value[: brk.start()]
    value = _TRAILING_MARKING.sub("", value)
    value = value.strip(" ,;-")
    if value.endswith(".") and not value.endswith(".."):
        value = value[:-1]  # a subject line is not a sentence; the site drops the period
    return (value or None), end


def _strip_post_prefix(value: str, post: str) -> str:
    """Drop a trailing start of the post's running header: ``... ADDIS ABAB`` (post ADDIS ABABA)."""
    spellings = {post, "STATE"} if post == "SECSTATE" else {post}
    words = value.split()
    for n in (3, 2, 1):
        if len(words) > n:
            tail = " ".join(words[-n:]).upper()
            if any(sp.startswith(tail) for sp in spellings) and len(tail) >= 3:
                return " ".join(words[:-n])
    return value


_TRAILING_NUMBER = re.compile(r"\s+\d{3,8}\s*$")
_CUT_STOPWORD = re.compile(
    r"\s+(?:R|RE|REF|CL|CLA|CLAS|CLASS|CLASSI|CLASSIF|CLASSIFI|CLASSIFIE|CLASSIFIED|Classified)\s*$", re.IGNORECASE
)


# --- REF ---------------------------------------------------------------------------------------

_REF_LINE = re.compile(r"(?:REF(?:S|TEL|ERENCES?)?|Refs?|refs?)\b\s*:?\s*")
_REF_END = re.compile(
    r"\n[ \t]*\n|\u2029|\bClassified\s+By\b|\bCLASSIFIED\s+BY\b|\bE\.\s?O\.\s*1[23]\d{3}|\bTAGS\b"
    r"|\bSUBJ(?:ECT)?\s*:|(?:^|\s)1\s?\.\s?\(|\b(?:SUMMARY|Summary)\b|-{4,}",
    re.IGNORECASE,
)
# ``09MOSCOW1234``, ``09 MOSCOW 1234``, ``03 Colombo 2200``, ``STATE 12345``, ``USUN NEW YORK 123``
_CITE = re.compile(
    r"(?<![\w/])(?:(?P<y>\d\d)\s?)?(?P<post>[A-Za-z][A-Za-z]+(?:\s[A-Z][A-Za-z]+){0,2}?)\s?(?P<n>\d{1,6})(?![\w/])"
)
_NOT_CITE_POSTS = frozenset(
    """A B C D E F G H I J K L M N O P PARA PARAS PARAGRAPH PARAGRAPHS REF REFS REFTEL AND OR OF ON IN AT
    SECTION PAGE NOTAL TEL TELCON EMAIL MAIL E-MAIL FAX MEMO LETTER DATED DTD NO NUMBER JAN FEB MAR APR MAY
    JUN JUL AUG SEP SEPT OCT NOV DEC JANUARY FEBRUARY MARCH APRIL JUNE JULY AUGUST SEPTEMBER OCTOBER
    NOVEMBER DECEMBER FOR TO FROM AS BY 12958 EO DECL TAGS SUBJECT CLASSIFIED REASON REASONS ITEM ITEMS
    ANNEX TAB CHAPTER ARTICLE RESOLUTION UNSCR UNSC CFR USC LAW ACT ROOM SEPTEL SEPTELS PHONE CALL""".split()
)
_CITE_ALIASES = {"SECSTATE": "STATE", "SECSTATE WASHDC": "STATE", "USUN": "USUNNEWYORK"}


def read_refs(header: str, year: int | None) -> tuple[str, ...]:
    """The cables cited on the REF line(s), as cable ids: ``A. 09MOSCOW1234`` -> ``09MOSCOW1234``.

    A citation without a year (``HARARE 5346``) takes the citing cable's year when it is known
    and is left out otherwise.
    """
    out: list[str] = []
    if "REF" not in header and "Ref" not in header and "ref" not in header:
        return ()
    for m in _REF_LINE.finditer(header):
        if m.start() and header[m.start() - 1].isalpha():
            continue
        zone = header[m.end() : m.end() + 600]
        e = _REF_END.search(zone)
        if e:
            zone = zone[: e.start()]
        for c in _CITE.finditer(zone):
            post = " ".join(c.group("post").split()).upper()
            words = post.split()
            # ``A. STATE 1`` leaves the item letter out; a post needs letters beyond one.
            while words and (len(words[0]) == 1 or words[0] in _NOT_CITE_POSTS):
                words.pop(0)
            if not words or any(w in _NOT_CITE_POSTS for w in words):
                continue
            post = " ".join(words)
            post = _CITE_ALIASES.get(post, post).replace(" ", "")
            y = c.group("y")
            if y is None:
                if year is None:
                    continue
                y = f"{year % 100:02d}"
            out.append(f"{y}{post}{int(c.group('n'))}")
        if len(out) > 50:
            break
    return tuple(dict.fromkeys(out))


# --- Classified By / Reasons -------------------------------------------------------------------

_CLASSIFIED_BY = re.compile(r"\bClassified\s+By\b\s*:?\s*", re.IGNORECASE)
_IN_PARENS = r"\(\s*[a-hA-H](?:\s*(?:[,/&]|and|AND|or|OR)\s*[a-hA-H])*\s*\)"
_LETTER_CODE = r"(?:" + _IN_PARENS + r"|[a-hA-H](?![A-Za-z]))"
_REASON_CODE = (r"\d\s?\.\s?\d(?:\s*" + _LETTER_CODE + r"(?:\s*(?:,|and|AND|And|&|/|or|OR|\+)?\s*"
                + _LETTER_CODE + r")*)?")
_REASONS = re.compile(r"\bREASONS?\b\s*:?\s*(?:(?:E\.\s?O\.\s*)?1[23]\d{3}\s*,?\s*)?(?:SECTIONS?\s*)?"
                      r"(?P<r>" + _REASON_CODE + r"(?:\s*(?:,|and|AND|&|;)\s*" + _REASON_CODE + r")*)",
                      re.IGNORECASE)
# Where the name ends: the reasons, a semicolon, a sentence end (not an initial: CHRISTINA B. ROCCA),
# a blank line, a paragraph.
_BY_END = re.compile(r"[,;]?\s*(?:\bfor\s+)?(?:\bREASONS?\b|\b1\.[4-6]\b)|;|(?<=\w\w)\.(?:\s|$)|\n\s*\n|\u2029",
                     re.IGNORECASE)


def read_classified_by(header: str) -> tuple[str | None, str | None]:
    """``Classified By: Ambassador John Beyrle, Reasons 1.4 b&d.`` -> ``("Ambassador John Beyrle", "1.4 b&d")``."""
    m = _CLASSIFIED_BY.search(header)
    if not m:
        return None, None
    zone = header[m.end() : m.end() + 400]
    # ``CLASSIFIED BY: CLASSIFIED BY POLITICAL MINISTER ...``
    again = _CLASSIFIED_BY.match(zone)
    if again:
        zone = zone[again.end() :]
    e = _BY_END.search(zone)
    who = zone[: e.start()] if e else zone[:120]
    who = " ".join(who.split()).strip(" ,;:.-")
    if len(who) > 120:
        who = who[:120].rsplit(" ", 1)[0]
    reasons = None
    r = _REASONS.search(zone[:300])
    if r:
        reasons = " ".join(r.group("r").split())
    return (who or None), reasons
