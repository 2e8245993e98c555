"""The build's ledger: every source seen, what became of it, and which source holds each key; and
the :class:`BuildReport` that sums it up.

Pure bookkeeping (no whoosh, no processes), so the rules are testable on their own:

* A source is read again only when its stamp (``size:mtime_ns``) changed; it is re-indexed only
  when its content hash changed too.
* Every key (``Cable.key``, compared case-insensitively, as the ``ref`` field is) is held by one
  source: among the sources that carry it, **the one discovered last wins** (a later folder or file
  on the command line overrides an earlier one). The others are reported as duplicates. A full build
  and an update over the same sources pick the same winners.
* ``sources.marshal`` in a generation folder records, per source: stamp, content hash, key and
  state (``indexed`` or ``duplicate``). It names the whoosh TOC generation it describes; a file
  that does not match the index (a crash between the commit and its rewrite) is ignored and the
  ledger is rebuilt from the stored fields.
"""

from __future__ import annotations

import contextlib
import functools
import json
import marshal
import operator
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from . import indexdir
from .indexdir import SKIPPED_TSV
from .sources import RawCable

SOURCES_FILE = "sources.marshal"
_FORMAT = 2
#: The ledger as indexes before format 2 wrote it: a JSON head line, then a JSON list a source.
SOURCES_JSONL = "sources.jsonl"
INDEXED = "indexed"
DUPLICATE = "duplicate"
#: ``Candidate.doc`` for a document already in the index (kept as it is).
OLD = "old"


@dataclass(frozen=True, slots=True)
class BuildProgress:
    """A progress event: ``phase`` is ``"indexing"``, ``"merging"`` or ``"done"``; ``total`` is None
    while sources are still being discovered."""

    phase: str
    done: int
    total: int | None
    skipped: int


@dataclass
class BuildReport:
    """What a build or update did. Every source seen is in exactly one of: indexed by this run
    (``added``/``replaced``), ``unchanged``, ``duplicates`` or ``skipped``."""

    path: str
    update: bool = False
    jobs: int = 1
    #: Distinct sources discovered.
    seen: int = 0
    #: Cables parsed and written by this run (a full build: all of them).
    accepted: int = 0
    #: Documents in the index afterwards (checked against the whoosh index).
    indexed: int = 0
    added: int = 0
    replaced: int = 0
    removed: int = 0
    unchanged: int = 0
    #: ``(source, reason)`` for each source that could not be read, parsed or indexed.
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: ``(source, key, kept_source)``: same key as a later source, which won.
    duplicates: list[tuple[str, str, str]] = field(default_factory=list)
    #: ``(source, note)`` for each cable indexed without something its source had that could not be
    #: used (a metadata date that is not a date); also in ``skipped.tsv``, as ``indexed, but ...``.
    noted: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    generation: str = ""
    #: Messages for the user besides the counts (e.g. a killed build's lock and leftovers cleared);
    #: each was also sent to the ``progress`` callback as a ``BuildNotice``.
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        rate = self.accepted / self.seconds if self.seconds > 0 else 0.0
        if self.update:
            head = (f"updated {self.path}: {self.added:,} added, {self.replaced:,} replaced, "
                    f"{self.removed:,} removed, {self.unchanged:,} unchanged; {self.indexed:,} cables indexed")
        else:
            head = f"built {self.path}: {self.indexed:,} cables indexed"
        parts = [f"{head} in {self.seconds:.1f} s ({rate:,.0f} cables/s, {self.jobs} jobs)"]
        if self.duplicates:
            parts.append(f"{len(self.duplicates):,} duplicate keys (the later source kept)")
        if self.skipped:
            parts.append(f"{len(self.skipped):,} skipped (listed in {SKIPPED_TSV})")
        if self.noted:
            parts.append(f"{len(self.noted):,} indexed with a note (listed in {SKIPPED_TSV})")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path, "update": self.update, "jobs": self.jobs, "seen": self.seen,
            "accepted": self.accepted, "indexed": self.indexed, "added": self.added,
            "replaced": self.replaced, "removed": self.removed, "unchanged": self.unchanged,
            "skipped": [list(s) for s in self.skipped], "duplicates": [list(d) for d in self.duplicates],
            "noted": [list(n) for n in self.noted],
            "seconds": round(self.seconds, 3), "generation": self.generation, "notes": list(self.notes),
        }


class Entry(NamedTuple):
    """One source of ``sources.marshal``. A tuple: an update holds one for every source (250,000), and
    tuples are quick to make and, holding only strings, left alone by the cyclic collector."""

    source: str
    stamp: str
    sha1: str
    key: str
    state: str


@dataclass(slots=True)
class Candidate:
    """A source that yielded a key in this run; ``doc``: OLD, ``(unit, docnum)`` of a new
    document, or None (its content has no document: a duplicate that must be read to be revived)."""

    seq: int
    source: str
    stamp: str
    sha1: str
    key: str
    doc: tuple[int, int] | str | None


_SEQ = operator.attrgetter("seq")


def same_path(source: str, base: str | None = None) -> str:
    """A source as one spelling: its path made absolute against ``base`` (the folder the build
    ran in; else the current one), normalized, and its folder's symbolic links resolved, a CSV
    row's ``:N`` kept. ``cables``, ``./cables/``, ``/home/me/cables`` and a link to it are then
    one folder."""
    path, sep, row = source.rpartition(":")
    if not (sep and row.isdigit()):
        path, row = source, ""
    full = os.path.normpath(os.path.join(base or os.getcwd(), path))
    folder, name = os.path.split(full)
    full = os.path.join(_real_folder(folder), name)
    return f"{full}:{row}" if row else full


@functools.lru_cache(maxsize=4096)
def _real_folder(folder: str) -> str:
    return os.path.realpath(folder)  # one call per folder, not per file: 250,000 files sit in few


class Ledger:
    def __init__(self, old: dict[str, Entry], base: str | None = None) -> None:
        self.old = old
        # Each old source under one spelling: a folder given as ./cables/ or by its full path on
        # this update is the same folder as the build's `cables` (not all new, and all removed).
        # Made at the first source the old ledger does not hold as spelled (0.5 s for 250,000).
        self._base = base
        self._spelled: dict[str, str] | None = None
        self.skipped: list[tuple[str, str]] = []
        self.unchanged_by_stamp = 0
        self._seq: dict[str, int] = {}
        self._names: list[str] = []  # seq - 1 -> source: one string object per source, shared
        self._stamped: list[tuple[int, Entry, str]] = []
        self._by_source: dict[str, Candidate] = {}
        # key (lowercased) -> its candidate, or a list of them when several sources carry it
        self._groups: dict[str, Candidate | list[Candidate]] = {}
        self._winners: dict[str, Candidate] | None = None
        self._outcome: tuple[dict[str, Candidate], Any] | None = None  # (the winners it was for, outcome())
        self._lock = threading.Lock()  # discovery runs in the feeder thread

    # -- discovery -----------------------------------------------------------------------------

    @property
    def seen(self) -> int:
        return len(self._seq)

    def seq_of(self, source: str) -> int:
        return self._seq[source]

    def discovered(self, raw: RawCable) -> str | bool | None:
        """Register a source. False: nothing to read (seen already, or stamp unchanged); else the
        indexed content hash (None when new) for the worker to compare against."""
        with self._lock:
            if raw.source in self._seq:
                return False
            seq = self._seq[raw.source] = len(self._seq) + 1
            self._names.append(raw.source)
            old = self.old.get(raw.source)
            if old is None and self.old:
                if self._spelled is None:
                    self._spelled = {same_path(s, self._base): s for s in self.old}
                was = self._spelled.pop(same_path(raw.source), None)
                if was is not None and was in self.old:  # the same source spelled otherwise: take it over
                    old = self.old[raw.source] = self.old.pop(was)._replace(source=raw.source)
            if old is not None and raw.stamp and raw.stamp == old.stamp:
                self._stamped.append((seq, old, raw.stamp))
                self.unchanged_by_stamp += 1
                return False
            return old.sha1 if old is not None and old.sha1 else None

    def add_unchanged(self) -> None:
        """Turn the sources left unread (same stamp) into candidates."""
        with self._lock:
            stamped, self._stamped = self._stamped, []
        for seq, old, stamp in stamped:
            self._put(Candidate(seq, old.source, stamp, old.sha1, old.key, OLD if old.state == INDEXED else None))

    # -- results -------------------------------------------------------------------------------

    def skip(self, source: str, reason: str) -> None:
        self._remove(source)
        self.skipped.append((source, reason))

    def add(self, cand: Candidate) -> None:
        """A source parsed and written as a new document."""
        self._put(cand)

    def add_same(self, cand: Candidate) -> None:
        """A source re-read whose content hash is the indexed one's: its old document stands."""
        old = self.old.get(cand.source)
        if old is not None and old.state == INDEXED and old.key.lower() == cand.key.lower():
            cand.doc = OLD
        self._put(cand)

    def drop_unrevived(self, wanted: set[str]) -> None:
        for source in wanted:
            cand = self._by_source.get(source)
            if cand is not None and cand.doc is None:
                self._remove(source)
                self.skipped.append((source, "vanished while it was being re-read"))

    def _put(self, cand: Candidate) -> None:
        self._remove(cand.source)
        if 0 < cand.seq <= len(self._names) and self._names[cand.seq - 1] == cand.source:
            cand.source = self._names[cand.seq - 1]  # drop the copy that came back from a worker
        self._by_source[cand.source] = cand
        lk = cand.key.lower()
        group = self._groups.get(lk)
        if group is None:
            self._groups[lk] = cand
        elif isinstance(group, list):
            group.append(cand)
        else:
            self._groups[lk] = [group, cand]
        self._winners = None

    def _remove(self, source: str) -> None:
        cand = self._by_source.pop(source, None)
        if cand is not None:
            lk = cand.key.lower()
            group = self._groups[lk]
            if isinstance(group, list):
                group.remove(cand)
                if len(group) == 1:
                    self._groups[lk] = group[0]
            else:
                del self._groups[lk]
            self._winners = None

    # -- resolution ----------------------------------------------------------------------------

    def resolve(self) -> list[Candidate]:
        """Pick each key's winner (latest discovered); return the winners that have no document."""
        self._winners = {k: max(g, key=_SEQ) if isinstance(g, list) else g for k, g in self._groups.items()}
        return [w for w in self._winners.values() if w.doc is None]

    @property
    def winners(self) -> dict[str, Candidate]:
        if self._winners is None:
            self.resolve()
        assert self._winners is not None
        return self._winners

    def expected_count(self) -> int:
        return len(self.winners)

    def old_docs_to_delete(self) -> list[str]:
        """Keys whose document in the index must go: replaced, removed, skipped or now a duplicate."""
        winners = self.winners
        out = []
        for e in self.old.values():
            if e.state == INDEXED:
                w = winners.get(e.key.lower())
                if w is None or w.doc != OLD:
                    out.append(e.key)
        return out

    def deleted_docs(self, unit: int) -> list[int]:
        """New documents of segment ``unit`` that lost to another source with the same key."""
        winners = self.winners
        return sorted(
            c.doc[1] for c in self._by_source.values()
            if isinstance(c.doc, tuple) and c.doc[0] == unit and winners[c.key.lower()] is not c
        )

    def duplicates(self) -> list[tuple[str, str, str]]:
        winners = self.winners
        losers = [c for c in self._by_source.values() if winners[c.key.lower()] is not c]
        return [(c.source, c.key, winners[c.key.lower()].source) for c in sorted(losers, key=_SEQ)]

    def changes(self) -> tuple[int, int, int, int]:
        """``(added, replaced, removed, unchanged)`` counted per source."""
        return self.outcome()[1]

    def entries(self) -> list[Entry]:
        """The new ledger's entries, in the order their sources were discovered."""
        return self.outcome()[0]

    def outcome(self) -> tuple[list[Entry], tuple[int, int, int, int]]:
        """:meth:`entries` and :meth:`changes`, worked out in one pass over the sources (an update
        of a few cables makes both for all 250,000), kept until the ledger changes."""
        winners = self.winners
        if self._outcome is not None and self._outcome[0] is winners:
            return self._outcome[1]
        added = replaced = removed = unchanged = 0
        old_of = self.old.get
        entries = []
        for c in sorted(self._by_source.values(), key=_SEQ):
            old = old_of(c.source)
            if winners[c.key.lower()] is c:
                entries.append(Entry(c.source, c.stamp, c.sha1, c.key, INDEXED))
                if old is None or old.state != INDEXED:
                    added += 1
                elif c.doc == OLD:
                    unchanged += 1
                else:
                    replaced += 1
            else:  # a duplicate: not in the index now
                entries.append(Entry(c.source, c.stamp, c.sha1, c.key, DUPLICATE))
                removed += old is not None and old.state == INDEXED
        by_source = self._by_source
        removed += sum(1 for source, old in self.old.items() if old.state == INDEXED and source not in by_source)
        result = (entries, (added, replaced, removed, unchanged))
        self._outcome = (winners, result)
        return result


# ---------------------------------------------------------------------------------------------
# sources.marshal


def write_sources(gen: Path, entries: Iterable[Entry], toc_generation: int) -> None:
    """Write the ledger of ``gen``: ``marshal`` of ``(format, TOC generation, count, sources,
    stamps, sha1s, keys, states)``, a list per field. An update reads and writes the whole ledger
    (250,000 entries): as JSON lines that took 1.07 s to read and 0.80 s to write, as columns
    0.64 s and 0.43 s, most of the read left being the entries and their dict. marshal keeps any str exactly (a
    source name with a lone surrogate, from an undecodable file name, too). The ``sources.jsonl``
    of an index written before is read once and replaced."""
    entries = list(entries)
    columns = [list(c) for c in zip(*entries, strict=True)] if entries else [[] for _ in Entry._fields]
    indexdir.write_atomic(gen / SOURCES_FILE, marshal.dumps((_FORMAT, toc_generation, len(entries), *columns)))
    with contextlib.suppress(OSError):
        (gen / SOURCES_JSONL).unlink(missing_ok=True)


def read_sources(gen: Path, toc_generation: int) -> dict[str, Entry] | None:
    """The ledger of ``gen``, or None when it is missing, damaged or describes another TOC generation."""
    try:
        data = (gen / SOURCES_FILE).read_bytes()
    except FileNotFoundError:
        return _read_jsonl(gen, toc_generation)
    except OSError:
        return None
    try:
        head = marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        return None
    if (type(head) is not tuple or len(head) != 3 + len(Entry._fields) or head[0] != _FORMAT
            or head[1] != toc_generation or type(head[2]) is not int):
        return None
    count, columns = head[2], head[3:]
    if any(type(c) is not list or len(c) != count or not set(map(type, c)) <= {str} for c in columns):
        return None
    out = dict(zip(columns[0], map(Entry._make, zip(*columns, strict=True)), strict=True))
    return out if len(out) == count else None


def _read_jsonl(gen: Path, toc_generation: int) -> dict[str, Entry] | None:
    try:
        with open(gen / SOURCES_JSONL, encoding="utf-8") as fh:
            head = json.loads(fh.readline())
            if head.get("format") != 1 or head.get("toc_generation") != toc_generation:
                return None
            lines = fh.read().split("\n")
        if lines[-1] == "":
            lines.pop()  # the file's last newline
        # one parse for every line: a damaged line (or a blank one) fails it as a whole
        out = {e.source: e for e in map(Entry._make, json.loads("[" + ",".join(lines) + "]"))}
    except (OSError, ValueError, TypeError, AttributeError):
        return None
    return out if len(out) == head.get("count") else None
