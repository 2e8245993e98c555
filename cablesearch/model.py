"""Plain data that flows through cablesearch: cables in, hits out.

Everything here is a frozen dataclass with no behaviour beyond derived properties, so it
can be pickled to worker processes, compared in tests and kept after an index is closed.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


class EntityType(StrEnum):
    ORG = "ORG"
    PER = "PER"
    LOC = "LOC"
    MISC = "MISC"


@dataclass(frozen=True, slots=True)
class Entity:
    """One mention of a named entity, as the tagger marked it (marks removed)."""

    type: EntityType
    text: str


#: Classification levels, lowest first.
LEVELS: tuple[str, ...] = ("UNCLASSIFIED", "LIMITED OFFICIAL USE", "CONFIDENTIAL", "SECRET")
#: Caveats a cable may carry beside its level, in canonical spelling.
CAVEATS: tuple[str, ...] = ("NOFORN", "SENSITIVE", "FOR OFFICIAL USE ONLY")


_SURROGATE = re.compile("[\ud800-\udfff]")


def unsurrogate(text: str) -> str:
    """``text`` with lone surrogates written as escapes: ``\\xff`` for a byte of a file name that
    was not UTF-8 (``os.fsdecode`` keeps it as U+DCFF), ``\\ud800`` for any other. They cannot be
    encoded, so the index cannot hold them (whoosh stores UTF-8)."""
    if not _SURROGATE.search(text):
        return text

    def one(m: re.Match[str]) -> str:
        o = ord(m.group(0))
        return f"\\x{o - 0xDC00:02x}" if 0xDC80 <= o <= 0xDCFF else f"\\u{o:04x}"

    return _SURROGATE.sub(one, text)


@dataclass(frozen=True, slots=True)
class Classification:
    """A level (one of :data:`LEVELS`, or None when unknown) and caveats (from :data:`CAVEATS`)."""

    level: str | None = None
    caveats: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The cablegate spelling: ``SECRET//NOFORN``; empty when nothing is known."""
        return "//".join(([self.level] if self.level else []) + list(self.caveats))

    @classmethod
    def from_label(cls, label: str) -> Classification:
        """Read ``SECRET//NOFORN`` or ``UNCLASSIFIED//FOR OFFICIAL USE ONLY``."""
        parts = [p.strip().upper() for p in label.split("//") if p.strip()]
        level = next((p for p in parts if p in LEVELS), None)
        caveats = tuple(p for p in parts if p != level)
        return cls(level, caveats)


@dataclass(frozen=True, slots=True)
class Paragraph:
    """A numbered paragraph: its number, its own marking (``C``, ``S/NF``, ``SBU``, ``U``) and its text."""

    number: int
    marking: str | None
    text: str


@dataclass(frozen=True, slots=True)
class Cable:
    """One cable, with what its source carries; absent fields are None or empty, never guessed."""

    ref: str | None = None
    origin: str | None = None
    serial: str | None = None
    date: datetime | None = None
    released: datetime | None = None
    decl: date | None = None
    classification: Classification = field(default_factory=Classification)
    tags: tuple[str, ...] = ()
    subject: str | None = None
    classified_by: str | None = None
    reasons: str | None = None
    refs: tuple[str, ...] = ()
    paragraphs: tuple[Paragraph, ...] = ()
    entities: tuple[Entity, ...] = ()
    body: str = ""
    redactions: int = 0
    source: str | None = None
    #: What reading the source found it could not use (a metadata date that is not a date), for
    #: the build to report; not stored in the index.
    notes: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """The unique key in an index: the ref when known, else a stable id from the cable.

        Without a ref, the post and serial (``MOSCOW-2723``) would not be unique: serials start
        again every year, and most cables without a ref carry no date either, so two cables of
        different years would share the key and one would be dropped as the other's duplicate
        (156 of the 5,000 annotated cables). The first 8 hex digits of the body's SHA-1 follow:
        ``MOSCOW-2723-1f0c9a2b``; two copies of the same cable still share it."""
        if self.ref:
            return self.ref
        if self.origin and self.serial:
            digest = hashlib.sha1(self.body.encode("utf-8", "surrogatepass")).hexdigest()[:8]
            return f"{re.sub(r'[^A-Z0-9]+', '', self.origin.upper())}-{self.serial}-{digest}"
        if self.source:
            stem = re.sub(r"\.[A-Za-z0-9]+$", "", self.source.replace("\\", "/").rsplit("/", 1)[-1])
            return "file:" + unsurrogate(stem)
        return "sha1:" + hashlib.sha1(self.body.encode("utf-8", "surrogatepass")).hexdigest()[:16]

    def entities_of(self, kind: EntityType | str) -> tuple[str, ...]:
        """The texts of the entities of one type, in order, with repeats."""
        kind = EntityType(kind)
        return tuple(e.text for e in self.entities if e.type is kind)


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open character range ``[start, end)`` in a snippet's text."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Snippet:
    """A passage of readable text and the spans in it that matched the query."""

    text: str
    spans: tuple[Span, ...] = ()
    field: str = "body"


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result; plain data, usable after the index is closed."""

    ref: str
    score: float | None = None
    date: datetime | None = None
    classification: str = ""
    origin: str | None = None
    tags: tuple[str, ...] = ()
    subject: str | None = None
    entities: dict[str, list[str]] = field(default_factory=dict)
    snippets: tuple[Snippet, ...] = ()
    source: str | None = None
    rank: int = 0
