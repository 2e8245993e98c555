"""FIELDS: the one field table.

The whoosh schema (``cablesearch.engine``), the query language's field names and aliases,
the shell's completion and the help text all derive from this table. Add a field here and
nowhere else.

Kinds (what the engine and the query compiler do with a field):

``id``       one exact value, case-insensitive (``ref``, ``origin``)
``text``     English prose, stemmed, positions kept for phrases (``body``, ``subject``)
``entity``   named-entity mentions: lowercased, not stemmed, positions kept inside one
             mention and a wide gap between mentions, so a phrase never spans two entities
``keyword``  a set of exact values, case-insensitive (``tag``, ``class``, ``para``, ``refs``)
``date``     a datetime; queried with dates and ranges
``number``   an integer; queried with numbers and ranges
``stored``   kept for display, not searchable
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .cable_meta import normalize_origin
from .model import Cable, EntityType, unsurrogate

KINDS = ("id", "text", "entity", "keyword", "date", "number", "stored")


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: str
    help: str
    aliases: tuple[str, ...] = ()
    stored: bool = False
    sortable: bool = False
    #: Shown in completion with the values the index holds.
    complete_values: bool = False
    #: Example of use, for help and completion.
    example: str = ""
    #: A value with this separator asks for every part: ``class:SECRET//NOFORN`` is
    #: ``class:secret AND class:noforn`` (how labels are written, and shown in results).
    all_of: str = ""
    #: Another spelling of a value the index may hold it under, searched too: ``origin:"Embassy
    #: Moscow"`` (how the cablegate site names posts) also searches ``MOSCOW``.
    spelling: Callable[[str], str | None] | None = None
    #: Searched as any of these fields (``entity:X`` is ``org:X OR per:X OR loc:X OR misc:X``); the
    #: index keeps no postings of its own for it.
    union_of: tuple[str, ...] = ()
    #: Stored in a column of its own instead of the record of stored fields every hit reads: the
    #: body, most of a cable, which a page of hits without snippets never needs. (Indexes built
    #: before this keep it in the record; readers look in both, see ``engine.stored_fields``.)
    stored_apart: bool = False
    #: A text or entity field whose common pairs of neighbouring words the index also keeps as
    #: terms (a second, hidden field: ``engine.WordPairs``), for fast phrases of them. (Indexes
    #: built before this have none; their phrases are matched from positions, as before.)
    pairs: bool = False
    #: Sortable (a column) since this layout of the field table (see :func:`readable_fingerprints`;
    #: 0: always): ranges over a field with a column read it (``bulk.column_range``); indexes built
    #: before have none and take the field's terms instead.
    column_since: int = 0

    @property
    def searchable(self) -> bool:
        return self.kind != "stored"


FIELDS: tuple[Field, ...] = (
    Field("ref", "id", "the cable's reference id (or its derived key when it has none)",
          ("id", "refid"), stored=True, sortable=True, example="ref:09MOSCOW2723"),
    Field("body", "text", "the text of the cable, stemmed", ("text",), stored=True, example="body:waiver",
          stored_apart=True, pairs=True),
    Field("subject", "text", "the SUBJECT line, stemmed", ("subj",), stored=True, example='subject:"crypto"'),
    Field("org", "entity", "organizations named in the cable", ("organization", "organisation"),
          sortable=True, complete_values=True, example="org:FSB", pairs=True),
    Field("per", "entity", "people named in the cable", ("person", "people"),
          complete_values=True, example='per:"John Beyrle"', pairs=True),
    Field("loc", "entity", "places named in the cable", ("location", "place"),
          complete_values=True, example="loc:Russia", pairs=True),
    Field("misc", "entity", "other named things: nationalities, events, laws", (),
          complete_values=True, example="misc:Russian", pairs=True),
    Field("entity", "entity", "a named entity of any type (searches org, per, loc and misc)", ("entities", "ent"),
          complete_values=True, example="entity:Intel", union_of=("org", "per", "loc", "misc")),
    Field("tag", "keyword", "TAGS, exact (case-insensitive)", ("tags",), stored=True, sortable=True,
          complete_values=True, example="tag:WTO"),
    Field("class", "keyword", "classification level and caveats: unclassified, limited official use, "
          "confidential, secret, noforn, sensitive, for official use only; a label such as "
          "SECRET//NOFORN asks for all its parts", ("classification",),
          sortable=True, complete_values=True, example="class:secret", all_of="//"),
    Field("label", "stored", "the full classification label, e.g. SECRET//NOFORN", (), stored=True),
    Field("origin", "id", "the sending post, e.g. MOSCOW, SECSTATE, USUN NEW YORK (the site's "
          "spelling works too: Embassy Moscow, Secretary of State)", ("from", "post"),
          stored=True, sortable=True, complete_values=True, example="origin:moscow", spelling=normalize_origin),
    Field("date", "date", "when the cable was sent", ("created", "sent"), stored=True, sortable=True,
          example="date:2009-11"),
    Field("released", "date", "when the cable was released", (), stored=True, sortable=True,
          example="released:2011", column_since=3),
    Field("decl", "date", "the declassification date from the DECL: line", ("declassify",), sortable=True,
          example="decl:>=2019", column_since=3),
    Field("year", "number", "the year the cable was sent", (), sortable=True, example="year:2005..2007"),
    Field("para", "keyword", "paragraph markings present: u, sbu, c, s, nf, s/nf ...", ("paragraph",),
          complete_values=True, example="para:s"),
    Field("refs", "keyword", "cables cited on REF: lines", ("cites",), example="refs:09MOSCOW1234"),
    Field("redacted", "keyword", "yes when the cable has redactions (XXXXXXXXXXXX), else no", (),
          example="redacted:yes"),
    Field("redactions", "number", "how many redactions the cable has", (), stored=True, sortable=True,
          example="redactions:>3", column_since=3),
    Field("path", "id", "the source file (or CSV row) the cable came from", ("source", "file"),
          stored=True),
    Field("serial", "stored", "the cable's serial number", (), stored=True),
    Field("entities", "stored", "entity mentions by type, for display", (), stored=True),
    Field("hash", "stored", "content hash of the source, for incremental updates", (), stored=True),
)

FIELD_BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}

#: Every name a user may type before ``:`` (lowercase) -> canonical field name.
ALIASES: dict[str, str] = {}
for _f in FIELDS:
    if _f.searchable:
        ALIASES[_f.name] = _f.name
        for _a in _f.aliases:
            ALIASES[_a] = _f.name

#: The fields a bare term searches.
DEFAULT_FIELDS: tuple[str, ...] = ("body", "subject")

ENTITY_FIELDS: dict[str, EntityType] = {
    "org": EntityType.ORG, "per": EntityType.PER, "loc": EntityType.LOC, "misc": EntityType.MISC,
}


def resolve_field(name: str) -> str | None:
    """The canonical name for what a user typed (case-insensitive), or None."""
    return ALIASES.get(name.lower())


def fields_fingerprint() -> str:
    """Changes when the field table changes in a way an existing index cannot follow, or an index
    written now cannot be read by earlier versions (builds write it into ``build.json``; opening
    an index whose fingerprint is not one of :func:`readable_fingerprints` is refused, so an
    earlier version refuses an index it would misread)."""
    return _layout_fingerprint(LAYOUT)


#: The layout of the field table indexes are built with now: 3, columns for ``decl``,
#: ``released`` and ``redactions``, and the positions of word pairs; 2, word pairs (their cables
#: only); 1, the body stored apart (and posting blocks with uncompressed ids and weights); 0, the
#: first.
LAYOUT = 3


def readable_fingerprints() -> tuple[str, ...]:
    """The fingerprints of the indexes this version reads, newest first: its own, then those of the
    indexes built with each earlier layout of the field table (:data:`LAYOUT`): before the columns
    of ``decl``, ``released`` and ``redactions`` and the pairs' positions, before word pairs,
    before the body was stored apart. Readers follow each index's own schema and blocks."""
    return tuple(_layout_fingerprint(n) for n in range(LAYOUT, -1, -1))


def _layout_fingerprint(layout: int) -> str:
    return _fingerprint([[f.name, f.kind, f.stored, f.sortable and f.column_since <= layout,
                          *(["apart"] if f.stored_apart and layout >= 1 else []),
                          *(["pairs"] if f.pairs and layout >= 2 else []),
                          *(["positions"] if f.pairs and layout >= 3 else [])] for f in FIELDS])


def _fingerprint(table: list[list[Any]]) -> str:
    return hashlib.sha1(json.dumps(table).encode()).hexdigest()[:16]


def suggest_fields(name: str, n: int = 3) -> tuple[str, ...]:
    """Close matches among the canonical names and aliases, canonical names first."""
    close = difflib.get_close_matches(name.lower(), list(ALIASES), n=n * 2, cutoff=0.6)
    out: list[str] = []
    for c in close:
        canon = ALIASES[c]
        if canon not in out:
            out.append(canon)
    return tuple(out[:n])


def _lower_all(values: Any) -> list[str]:
    return [v.lower() for v in values if v]


def paragraph_markings(marking: str) -> list[str]:
    """``S/NF`` -> ``['s/nf', 's', 'nf']``; ``SBU`` -> ``['sbu']``."""
    m = marking.strip().lower().replace(" ", "")
    parts = [p for p in m.split("/") if p]
    return [m] + [p for p in parts if p != m]


def to_document(cable: Cable, *, content_hash: str = "") -> dict[str, Any]:
    """The engine-neutral document for one cable: field name -> value.

    Values: ``str`` for id/text/stored, ``list[str]`` for keyword and entity fields (one item a
    mention), ``datetime``/``date`` for dates, ``int`` for numbers. Absent values are left out.
    """
    c = cable
    doc: dict[str, Any] = {"ref": c.key, "body": c.body}
    if c.subject:
        doc["subject"] = c.subject
    for name, kind in ENTITY_FIELDS.items():
        texts = [t for t in c.entities_of(kind) if t.strip()]
        if texts:
            doc[name] = texts
    if c.tags:
        doc["tag"] = list(c.tags)
    cls = c.classification
    doc["class"] = _lower_all([cls.level, *cls.caveats])
    if "sensitive" in doc["class"]:
        doc["class"].append("sbu")
    doc["label"] = cls.label
    if c.origin:
        doc["origin"] = c.origin
    if c.date:
        doc["date"] = c.date
        doc["year"] = c.date.year
    if c.released:
        doc["released"] = c.released
    if c.decl:
        doc["decl"] = c.decl
    paras: list[str] = []
    for p in c.paragraphs:
        if p.marking:
            paras.extend(x for x in paragraph_markings(p.marking) if x not in paras)
    if paras:
        doc["para"] = paras
    if c.refs:
        doc["refs"] = list(c.refs)
    doc["redacted"] = ["yes" if c.redactions else "no"]
    doc["redactions"] = c.redactions
    if c.source:
        doc["path"] = unsurrogate(c.source)  # a file name that is not UTF-8
    if c.serial:
        doc["serial"] = c.serial
    by_type: dict[str, list[str]] = {}
    for e in c.entities:
        by_type.setdefault(e.type.value, [])
        if e.text not in by_type[e.type.value]:
            by_type[e.type.value].append(e.text)
    doc["entities"] = json.dumps(by_type, ensure_ascii=False, separators=(",", ":"))
    if content_hash:
        doc["hash"] = content_hash
    return doc
