"""The markup layer of a cable text: entity marks, site links, HTML, and tokenization spaces.

``strip_markup`` takes the inner text of a cable page (annotated or not) and returns the plain
text with what the marks carried: the entity mentions in order, the tags linked on the TAGS
line, and a :data:`PARA` character where the site put a paragraph anchor. ``detokenize``
then undoes the spaces a tokenizer put around punctuation (``Russia 's`` -> ``Russia's``).

All patterns are linear: no pattern can backtrack over more than one mark or one line.
"""

from __future__ import annotations

import functools
import html
import re

from .model import Entity, EntityType

#: Put where the site had a numbered paragraph anchor (``<a id='par2' ...>¶</a>``).
PARA = "\u2029"

_ENTITY = re.compile(r"\[(ORG|PER|LOC|MISC) ([^\[\]\n]*?)  \]")
_MARK_PARTS = ("[ORG ", "[PER ", "[LOC ", "[MISC ", "  ]")
_TAG_LINK = re.compile(r"<a\s+href=['\"]/tag/[^'\"<>]*['\"]\s*>([^<]*)</a>")
# A numbered paragraph anchor: <a id='par2' href='#par2'>¶</a>
_PAR_ANCHOR = re.compile(r"<a\s+id=['\"]par\d+['\"][^<>]*>[^<]{0,12}</a>")
_OTHER_ANCHOR = re.compile(r"<a\s+id=['\"]par[^'\"<>]*['\"][^<>]*>[^<]{0,12}</a>")
_BREAK_TAG = re.compile(r"<(?:br|p|/p|div|/div|/tr)\b[^<>]*>", re.IGNORECASE)
_ANY_TAG = re.compile(r"</?[A-Za-z][^<>\n]{0,300}>")
# What entities_before walks: every piece the markup pass removes or keeps.
_WALK = re.compile(
    r"""
    <a\s+href=['"]/tag/[^'"<>]*['"]\s*>(?P<tag>[^<]*)</a>
  | (?P<par><a\s+id=['"]par\d+['"][^<>]*>[^<]{0,12}</a>)
  | \[(?:ORG|PER|LOC|MISC)\ (?P<etext>[^\[\]\n]*?)\ \ \]
  | \[(?:ORG|PER|LOC|MISC)\  | \ \ \]
  | </?[A-Za-z][^<>\n]{0,300}>
    """,
    re.VERBOSE,
)

_ENTITY_TYPES = {"ORG": EntityType.ORG, "PER": EntityType.PER, "LOC": EntityType.LOC, "MISC": EntityType.MISC}

# Words of the cable format, not names: a mark around nothing but these is tagger noise.
_NOISE_WORDS = frozenset(
    """
    DECL E.O. EO SIPDIS NOFORN TAGS SUBJECT SUBJ REF REFS REFTEL CLASSIFIED BY REASON REASONS SECTION OF
    UNCLAS UNCLASSIFIED CONFIDENTIAL SECRET SENSITIVE SBU PAGE PARA NOTAL SEPTEL END SUMMARY COMMENT N/A
    OADR U C S S/NF C/NF NF
    """.split()
)
_WORD = re.compile(r"[A-Za-z][A-Za-z./]*")
# A mark that swallowed header keywords (``[ORG JO SUBJECT: MUASHER ...  ]``), a serial or a page's
# running header (``[ORG TRIPOLI 00000829  ]``) is a tagger error.
_NOISE_INSIDE = re.compile(
    r"\b(?:SUBJECT|SUBJ|TAGS|DECL|REFS?|E\.O)\s*:|\bClassified By\b|\bCLASSIFIED BY\b|"
    r"\bUNCLAS\b|\bSECTION \d+ OF \d+\b|\bSIPDIS\b|\bE\.O\.\s*12958\b|\b\d{6,}\b",
)
_REDACTION = re.compile(r"X{4,}")
_LETTER = re.compile(r"[^\W\d_]")
_EDGE_PUNCT = " \t,;:()[]{}\"'`-–—|*#"


@functools.lru_cache(maxsize=131072)
def _entity(mark: tuple[str, str]) -> Entity | None:
    """One ``(type, words)`` mark -> an Entity (shared: mentions repeat), or None for noise."""
    etype, etext = mark
    cleaned = clean_entity_text(_unescape(etext) if "&" in etext else etext)
    return Entity(_ENTITY_TYPES[etype], cleaned) if cleaned else None


@functools.lru_cache(maxsize=65536)
def clean_entity_text(raw: str) -> str | None:
    """The text of one mark, readable, or None when it is tagger noise (see ``Known limits``)."""
    text = " ".join(raw.split())
    if " " in text:
        text = detokenize(text)
    # A parenthesis the mark cut through: ``( [ORG U ) Econoff  ]`` -> ``Econoff`` (the part before
    # an unmatched ")" is a paragraph marking); ``[ORG Ministry ( MED  ]`` -> ``Ministry``.
    if text.count("(") != text.count(")"):
        close = text.find(")")
        if close >= 0 and "(" not in text[:close]:
            text = text[close + 1 :]
        open_ = text.rfind("(")
        if open_ >= 0 and ")" not in text[open_:]:
            text = text[:open_]
    text = text.strip(_EDGE_PUNCT)
    if not text or not _LETTER.search(text):
        return None
    if _NOISE_INSIDE.search(text):
        return None
    words = _WORD.findall(text.upper())
    if words and all(w.rstrip(".:") in _NOISE_WORDS or w in _NOISE_WORDS for w in words):
        return None
    if not _LETTER.search(_REDACTION.sub("", text)):
        return None  # only redactions: XXXXXXXXXXXX
    return text


def strip_markup(text: str, *, html_tags: bool = True) -> tuple[str, list[Entity], list[str]]:
    """Remove marks, links and tags; return ``(text, entities, linked_tags)``.

    Numbered paragraph anchors become :data:`PARA`; other anchors (``parB`` in a REF list)
    vanish. HTML character references are decoded when ``html_tags`` is true. Entity mentions
    come in order, noise left out (:func:`clean_entity_text`).
    """
    entities: list[Entity] = []
    tags: list[str] = []
    if "[" in text:
        entities = [e for e in map(_entity, _ENTITY.findall(text)) if e is not None]
        # The marks have one shape, "[ORG " ... "  ]": removing the parts removes well-formed and
        # stray marks alike, far faster than a regex substitution.
        for part in _MARK_PARTS:
            if part in text:
                text = text.replace(part, "")
    elif "  ]" in text:
        text = text.replace("  ]", "")
    if html_tags and "<" in text:
        if "/tag/" in text:
            tags = [_unescape(t).strip() if "&" in t else t.strip() for t in _TAG_LINK.findall(text)]
            tags = [t for t in tags if t]
            text = _TAG_LINK.sub(r"\1", text)
        if "<a" in text:
            text = _PAR_ANCHOR.sub(PARA, text)
            text = _OTHER_ANCHOR.sub("", text)
        if "<br" in text or "<p" in text or "<div" in text or "<BR" in text or "<P" in text:
            text = _BREAK_TAG.sub("\n", text)
        text = _ANY_TAG.sub("", text)
    if html_tags and "&" in text:
        text = _unescape(text.replace("&#x000A;", "\n").replace("&#x000a;", "\n"))
    return text, entities, tags


def entities_before(text: str, stripped_offset: int) -> int:
    """How many kept entity mentions of ``text`` lie before ``stripped_offset`` of its stripped form.

    Used to drop the mentions in a part that is cut off (a page's teaser). Walks the markup only
    up to that point.
    """
    count = 0
    size = 0
    pos = 0
    for m in _WALK.finditer(text):
        size += m.start() - pos
        if size >= stripped_offset:
            return count
        pos = m.end()
        kept = m.group("etext")
        if kept is not None:
            if clean_entity_text(kept):
                count += 1
            size += len(kept)
        elif m.group("tag") is not None:
            size += len(m.group("tag"))
        elif m.group("par") is not None:
            size += 1
    return count


def _unescape(s: str) -> str:
    return html.unescape(s)


# --- detokenization ------------------------------------------------------------------------
# Each pattern starts with a literal (a space) or is guarded by a substring test, so the regex
# engine skips quickly over text that has nothing to undo. Spaces the source itself had
# (``U.S.- Russia`` from a wrapped line) are kept: only the tokenizer's are undone.

_SPACE_BEFORE = re.compile(r" ([,;:?!%]|\.(?!\.)|n't\b|['’](?:s|re|ve|ll|d|m|t)\b)(?=[ \n\"'’”)\]]|$)")
_DOLLAR = re.compile(r"([$£€]) (?=\d)")
# Double quotes anywhere (to follow which are open); single quotes only standing alone, found with
# str.find (a regex with a lookbehind would try every position).
_DOUBLE_QUOTE = re.compile(r'""|"')


def _quotes(text: str) -> list[tuple[int, int, str]]:
    found = [(m.start(), m.end(), m.group(0)) for m in _DOUBLE_QUOTE.finditer(text)] if '"' in text else []
    singles = []
    for needle in (" ' ", " ’ "):
        i = text.find(needle)
        while i >= 0:
            singles.append((i + 1, i + 2, needle[1]))
            i = text.find(needle, i + 2)
    if singles:
        found.extend(singles)
        found.sort()
    return found
_QUOTE_RESETS = ("SUBJECT:", "TAGS:", "REF:", "Classified By", "CLASSIFIED BY", "E.O. 1")
_COMMON = ((" , ", ", "), (" . \n", ".\n"), (" 's ", "'s "), (" ; ", "; "), ("( ", "("), (" )", ")"))


def _pair_quotes(text: str) -> str:
    """Glue standalone quotes back to their words, in pairs, line by line: ``say " knowledge-based "
    economy`` -> ``say "knowledge-based" economy``. A quote glued on one side already opens or closes;
    a lone ``'`` after a word ending in s or z is a possessive (``member states ' stance``)."""
    out: list[str] = []
    pos = 0
    n = len(text)
    open_double = open_single = False
    line_start = 0
    for start, end, q in _quotes(text):
        if start < pos:
            continue
        if open_double or open_single:
            nl = text.rfind("\n", pos, start)
            if nl >= 0:
                line_start = nl + 1
                open_double = open_single = False  # quotes pair within a line (a sentence)
            elif any(k in text[pos:start] for k in _QUOTE_RESETS):
                open_double = open_single = False  # nor run into the next header line
        left = start == 0 or text[start - 1].isspace()
        right = end == n or text[end].isspace()
        if q[0] in "'’":
            prev = text[start - 2] if start >= 2 + line_start else ""
            if open_single:
                closing, open_single = True, False
            elif prev and prev in "sSzZ":
                closing = True  # a possessive, not a quote
            else:
                closing, open_single = False, True
        elif left and right:
            closing = open_double
            open_double = not open_double
        else:
            if left:
                open_double = True  # glued to the next word: opens
            elif right or not text[end].isalnum():
                open_double = False  # glued to the previous word: closes
            continue
        if closing:
            out.append(text[pos:start].rstrip(" "))
            out.append(q)
            pos = end
        else:
            out.append(text[pos:start])
            out.append(q)
            while end < n and text[end] == " ":
                end += 1
            pos = end
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


def _move_split_closing_quotes(text: str) -> str:
    """A closing quote the sentence splitter put at the start of the next line: ``DIE .\\n" REF``."""
    lines = text.split("\n")
    for i in range(1, len(lines)):
        line = lines[i]
        if line.startswith('" ') and lines[i - 1].count('"') % 2 == 1:
            lines[i - 1] += ' "'
            lines[i] = line[2:]
    return "\n".join(lines)


def detokenize(text: str) -> str:
    """Undo tokenizer spaces (`` , `` ``( C )`` ``Russia 's`` ``" quoted "``); newlines are kept."""
    while "  " in text:
        text = text.replace("  ", " ")
    if '"' in text or " ' " in text or " ’ " in text:
        if '" "' in text:
            text = text.replace(' " " ', ' "" ')  # a doubled quote the tokenizer split
        if '\n" ' in text:
            text = _move_split_closing_quotes(text)
        text = _pair_quotes(text)
    for old, new in _COMMON:
        if old in text:
            text = text.replace(old, new)
    if "[ " in text:
        text = text.replace("[ ", "[")
    if " ]" in text:
        text = text.replace(" ]", "]")
    text = _SPACE_BEFORE.sub(r"\1", text)
    if "$ " in text or "£ " in text or "€ " in text:
        text = _DOLLAR.sub(r"\1", text)
    return text


def detokenize_line(s: str) -> str:
    """:func:`detokenize` for a short piece of text (an entity, a subject)."""
    if " " not in s:
        return s
    return detokenize(s)


def looks_tokenized(text: str) -> bool:
    """True when spaces were put around punctuation (`` , `` far more often than ``x,``)."""
    sample = text[:20000]
    spaced = sample.count(" , ") + sample.count(" . \n") + sample.count(" 's ")
    if spaced < 3:
        return False
    attached = sample.count(", ") - sample.count(" , ")
    return spaced > attached
