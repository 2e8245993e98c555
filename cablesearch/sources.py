"""Where cables come from: find them on disk (or in the package), read them, parse them.

The only module of the parsing side that does I/O. ``discover`` walks paths lazily and yields
:class:`RawCable` handles (cheap, picklable); ``load_cable`` reads one, decodes it, parses it
with :func:`cablesearch.cable.parse_cable` and merges the metadata that came with it (a
folder's ``manifest.jsonl`` entry, the columns of a ``cables.csv`` row), which wins over
what the text says.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import gzip
import hashlib
import io
import itertools
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from .cable import parse_cable
from .errors import CableParseError
from .model import Cable

#: File names a folder walk reads as cables.
CABLE_SUFFIXES = (".txt", ".html", ".htm")
#: File names read as a ``cables.csv`` dump, one cable per row.
CSV_SUFFIXES = (".csv",)
MANIFEST = "manifest.jsonl"
#: The columns of the 2011 ``cables.csv`` dump, in order (no header row).
CSV_COLUMNS = ("id", "date", "refid", "origin", "classification", "references", "header", "body")
#: Larger files are refused rather than parsed: the longest cables are a few hundred kB, so a bigger
#: file is not one cable (and would cost seconds of parsing for nothing).
MAX_BYTES = 16 * 1024 * 1024
SAMPLE_RESOURCE = "sample.jsonl.gz"


@dataclass(frozen=True)
class RawCable:
    """A handle on one cable before it is read: where it is, and the metadata that came with it."""

    #: What a user sees: the file path, or ``path/cables.csv:17`` (1-based row number).
    source: str
    #: File to read, or None when ``text`` is given.
    path: str | None = None
    #: The text when already in memory (CSV rows, the shipped sample).
    text: str | None = None
    #: ``"csv-row"`` for a CSV row (``text`` holds the body, ``meta`` the columns); None = detect.
    kind: str | None = None
    #: Manifest entry or CSV columns; wins over the text.
    meta: Mapping[str, Any] = field(default_factory=dict, hash=False)
    #: Cheap change stamp: ``size:mtime_ns`` for files, a hash of the text for in-memory items.
    stamp: str = ""


# ---------------------------------------------------------------------------------------------
# discover


def discover(paths: Iterable[str | os.PathLike[str]]) -> Iterator[RawCable]:
    """Yield a :class:`RawCable` for every cable under ``paths``, lazily.

    A folder is walked recursively in name order (hidden entries, ``manifest.jsonl`` and files of
    other kinds skipped; a ``manifest.jsonl`` is merged into the files of its own folder); a
    ``.csv`` file yields one item per row, streamed; any other file is taken as one cable.
    Memory: the names of one folder at a time and the manifest's offsets, never the files.
    A path that does not exist raises :class:`CableParseError`; a folder that cannot be listed
    further down becomes an item that ``load_cable`` reports, so one bad folder stops nothing.
    """
    seen: set[str] = set()
    for p in paths:
        path = os.fspath(p)
        if os.path.isdir(path):
            yield from _walk(path, seen)
        elif os.path.isfile(path):
            if path.lower().endswith(CSV_SUFFIXES):
                yield from iter_csv(path)
            else:
                yield _file_item(path, {})
        else:
            raise CableParseError("no such file or folder", source=path)


def _walk(folder: str, seen: set[str]) -> Iterator[RawCable]:
    real = os.path.realpath(folder)
    if real in seen:  # a symlink loop, or the same folder given twice
        return
    seen.add(real)
    try:
        with os.scandir(folder) as it:
            entries = sorted(((e, e.is_dir()) for e in it if not e.name.startswith(".")), key=_by_name)
    except OSError as e:
        yield RawCable(source=folder, meta={"_error": f"cannot list folder: {e.strerror or e}"}, stamp="error")
        return
    has_manifest = any(e.name == MANIFEST and not is_dir for e, is_dir in entries)
    manifest = _ManifestIndex(os.path.join(folder, MANIFEST)) if has_manifest else None
    try:
        for e, is_dir in entries:
            if is_dir:
                yield from _walk(e.path, seen)
                continue
            name = e.name
            low = name.lower()
            if low.endswith(CSV_SUFFIXES):
                yield from iter_csv(e.path)
            elif low.endswith(CABLE_SUFFIXES) and name != MANIFEST:
                yield _file_item(e.path, manifest.line(name) if manifest else None, e)
    finally:
        if manifest:
            manifest.close()


def _by_name(item: tuple[os.DirEntry[str], bool]) -> str:
    return item[0].name


def _file_item(path: str, entry: bytes | None, dirent: os.DirEntry[str] | None = None) -> RawCable:
    """A cable file, with its manifest line (``entry``) if any: stamped with the line's hash, and
    parsed only when the file is read (an update's walk skips most files on their stamp alone).
    ``dirent``: the file's entry in its folder's listing, when the walk found it there (its
    ``stat`` is ``os.stat`` of its path, without building the path again)."""
    try:
        st = dirent.stat() if dirent is not None else os.stat(path)
        stamp = f"{st.st_size}:{st.st_mtime_ns}"
        if entry:  # a changed manifest entry is a changed cable, though its file is untouched
            stamp += ":" + hashlib.sha1(entry.strip()).hexdigest()[:16]
    except OSError:
        stamp = ""
    return _file_cable(path, _ManifestEntry(entry) if entry else {}, stamp)


_new = object.__new__


def _file_cable(path: str, meta: Mapping[str, Any], stamp: str) -> RawCable:
    """``RawCable(source=path, path=path, meta=meta, stamp=stamp)``, made a third as slowly: a
    frozen dataclass sets each field through ``object.__setattr__``, and a walk makes one a file
    (250,000 in an update that reads none of them)."""
    raw = _new(RawCable)
    raw.__dict__.update(source=path, path=path, text=None, kind=None, meta=meta, stamp=stamp)
    return raw


class _ManifestEntry(Mapping[str, Any]):
    """One manifest line, parsed on first use (an unreadable line reads as no entry)."""

    __slots__ = ("_data", "_line")

    def __init__(self, line: bytes) -> None:
        self._line = line
        self._data: dict[str, Any] | None = None

    def _parsed(self) -> dict[str, Any]:
        if self._data is None:
            try:
                entry = json.loads(self._line)
            except ValueError:
                entry = None
            self._data = entry if isinstance(entry, dict) else {}
        return self._data

    def __getitem__(self, key: str) -> Any:
        return self._parsed()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._parsed())

    def __len__(self) -> int:
        return len(self._parsed())

    def __reduce__(self) -> tuple[Any, ...]:  # to a worker process: the line, not the parse
        return (_ManifestEntry, (self._line,))

    def __repr__(self) -> str:
        return f"_ManifestEntry({self._parsed()!r})"


def _meta_digest(meta: Mapping[str, Any]) -> str:
    """A short hash of a manifest entry or CSV columns (any order of keys)."""
    text = json.dumps(dict(meta), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


class _ManifestIndex:
    """``file`` -> byte offset of its line in a ``manifest.jsonl``; entries are read on demand.

    A folder of 250,000 cables has a 60 MB manifest: keeping offsets, not parsed entries,
    holds a few bytes per file instead of a dict each.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.offsets: dict[str, int] = {}
        self._fh: io.BufferedReader | None = None
        try:
            self._fh = open(path, "rb")
        except OSError:
            return
        offset = 0
        for line in self._fh:
            name = _manifest_file_name(line)
            if name and name not in self.offsets:
                self.offsets[name] = offset
            offset += len(line)

    def line(self, name: str) -> bytes | None:
        """The raw manifest line of file ``name``; None when it has none."""
        off = self.offsets.get(name)
        if off is None or self._fh is None:
            return None
        self._fh.seek(off)
        return self._fh.readline()

    def close(self) -> None:
        if self._fh:
            self._fh.close()
            self._fh = None


def _manifest_file_name(line: bytes) -> str | None:
    # Cheap path for the usual `{"file": "NAME", ...}`; json for anything else.
    if line.startswith(b'{"file": "'):
        end = line.find(b'"', 10)
        if end > 10 and b"\\" not in line[10:end]:
            return line[10:end].decode("utf-8", "replace")
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    name = entry.get("file") if isinstance(entry, dict) else None
    return name if isinstance(name, str) else None


# ---------------------------------------------------------------------------------------------
# cables.csv


def _decoded_lines(fh: io.BufferedReader, taken: list[str]) -> Iterator[str]:
    """The file's lines, decoded; each is also appended to ``taken`` (the raw text of a row)."""
    for line in fh:
        text = _decode(line)
        taken.append(text)
        yield text


#: How a row of the dump begins: ``"123","12/22/1997 01:01","`` at the start of a line.
_ROW_START = re.compile(r'^"\d+","\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d\d","', re.MULTILINE)


def _csv_rows(text: str) -> list[list[str]] | None:
    """The rows of ``text`` as the dump's dialect reads them; None when it cannot."""
    try:
        return [r for r in csv.reader(io.StringIO(text, newline=""), escapechar="\\", doublequote=False,
                                      strict=False) if r]
    except csv.Error:
        return None


def _resync(raw: str) -> list[str] | None:
    """A broken row (an unterminated quote, a stray one) that swallowed the rows after it, cut
    where the next rows begin: ``[broken, row, row...]``; None when no row begins inside it."""
    starts = [m.start() for m in _ROW_START.finditer(raw) if m.start() > 0]
    if not starts:
        return None
    bounds = [0, *starts, len(raw)]
    return [raw[a:b] for a, b in itertools.pairwise(bounds)]


def iter_csv(path: str) -> Iterator[RawCable]:
    """One :class:`RawCable` per row of a ``cables.csv`` dump, streamed.

    The dump has no header row, eight quoted fields, backslash escapes (``\\"`` ``\\'`` ``\\\\``) and
    real newlines inside fields: ``csv.reader`` with ``escapechar='\\\\'`` and ``doublequote=False``
    reads exactly that. A row that cannot be read becomes an item that ``load_cable`` reports.
    """
    # Cable bodies exceed csv's default 128 kB field limit; the limit is process-wide.
    if csv.field_size_limit() < MAX_BYTES:
        csv.field_size_limit(MAX_BYTES)
    try:
        fh = open(path, "rb")
    except OSError as e:
        raise CableParseError(f"cannot read: {e.strerror or e}", source=path) from e
    with fh:
        taken: list[str] = []
        reader = csv.reader(_decoded_lines(fh, taken), escapechar="\\", doublequote=False, strict=False)
        row_no = 0
        while True:
            taken.clear()
            try:
                row: list[str] | None = next(reader)
                error = None
            except StopIteration:
                return
            except csv.Error as e:  # the reader goes on with the next line
                row, error = None, f"bad CSV row: {e}"
            if row is not None and (not row or (len(row) == 1 and not row[0].strip())):
                continue
            if row is not None and len(row) == len(CSV_COLUMNS):
                row_no += 1
                # the last row of a file may lack its closing quote: read to the end, and said so
                yield _csv_item(f"{path}:{row_no}", row, closed=_closed("".join(taken[-1:])))
                continue
            # A broken row: when rows begin inside it (its quote was never closed), it swallowed
            # them. Each part is read as the row it is: a part whose quote is missing is indexed
            # with a note (nothing of it is lost); a part that is not a row is reported.
            pieces = _resync("".join(taken))
            if pieces is None:
                row_no += 1
                if error is None:
                    error = f"bad CSV row: {len(row or ())} fields, expected {len(CSV_COLUMNS)}"
                yield RawCable(source=f"{path}:{row_no}", text="", kind="csv-row", meta={"_error": error},
                               stamp=_text_stamp("\x1f".join(row)) if row else "error")
                continue
            for i, piece in enumerate(pieces):
                row_no += 1
                rows = _csv_rows(piece)
                if rows is not None and len(rows) == 1 and len(rows[0]) == len(CSV_COLUMNS):
                    yield _csv_item(f"{path}:{row_no}", rows[0], closed=i > 0 and _closed(piece))
                else:
                    why = "a quote that is never closed" if i == 0 else "cannot be read after the broken row before it"
                    yield RawCable(source=f"{path}:{row_no}", text="", kind="csv-row",
                                   meta={"_error": f"bad CSV row: {why}"}, stamp=_text_stamp(piece))


#: The note a row whose closing quote is missing is indexed with.
UNCLOSED_NOTE = "its closing quote is missing (its last field is read up to where the next row begins)"


def _closed(raw: str) -> bool:
    """Whether a row's raw text ends with the quote that closes its last field."""
    return raw.rstrip().endswith('"')


def _csv_item(source: str, row: list[str], closed: bool = True) -> RawCable:
    meta: dict[str, Any] = dict(zip(CSV_COLUMNS[:-1], row[:-1], strict=True))
    if not closed:
        meta["_note"] = UNCLOSED_NOTE
    return RawCable(source=source, path=None, text=row[-1], kind="csv-row", meta=meta,
                    stamp=_text_stamp("\x1f".join(row)))


# ---------------------------------------------------------------------------------------------
# load


#: Each byte as cp1252 reads it; latin-1 for the five bytes cp1252 leaves undefined.
_CP1252 = [bytes([b]).decode("cp1252", "ignore") or chr(b) for b in range(256)]


def _cp1252_bytes(err: UnicodeError) -> tuple[str, int]:
    if not isinstance(err, UnicodeDecodeError):
        raise err
    return "".join(_CP1252[b] for b in err.object[err.start:err.end]), err.end


codecs.register_error("cablesearch-cp1252", _cp1252_bytes)


def _decode(data: bytes) -> str:
    """UTF-8, with each byte that is not part of valid UTF-8 read as cp1252 (latin-1 where cp1252
    has no character): a cp1252 or latin-1 file reads as before, and a UTF-8 file with one stray
    byte keeps its other accents (decoding the whole file as cp1252 turned every ``á`` into ``Ã¡``)."""
    return data.decode("utf-8", "cablesearch-cp1252")


def _text_stamp(text: str) -> str:
    return "sha1:" + hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _looks_binary(data: bytes) -> bool:
    head = data[:8192]
    nuls = head.count(b"\x00")
    if nuls > 1 and nuls > len(head) // 100:  # UTF-16, images...; a stray NUL is only noise
        return True
    # Control characters other than tab/newline/CR/form feed are rare in text.
    ctrl = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    return ctrl > len(head) // 20


def load_cable(raw: RawCable) -> tuple[Cable, str]:
    """Read, decode, parse and merge one cable: ``(cable, content_hash)``.

    ``content_hash`` is the sha1 hex of the raw bytes (files) or of the UTF-8 text (in-memory
    items); with metadata (a manifest entry, CSV columns), of that hex and the metadata's.
    Bytes are decoded as UTF-8, each stray byte as cp1252 (see :func:`_decode`). Raises only
    :class:`CableParseError` (with ``source=raw.source``).
    """
    source = raw.source
    try:
        error = raw.meta.get("_error") if raw.meta else None
        if error:
            raise CableParseError(str(error), source=source)
        if raw.text is not None:
            text = raw.text
            content_hash = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()
            if raw.kind == "csv-row":
                text = _csv_text(raw.meta, text)
        elif raw.path is not None:
            data = _read_bytes(raw.path, source)
            content_hash = hashlib.sha1(data).hexdigest()
            if not data.strip():
                raise CableParseError("empty file", source=source)
            if _looks_binary(data):
                raise CableParseError("not a text file (binary data)", source=source)
            text = _decode(data)
        else:
            raise CableParseError("nothing to read (no path and no text)", source=source)
        if not text.strip():
            raise CableParseError("empty cable", source=source)
        if raw.meta:  # what the index holds comes from the metadata too: a change to it is a change
            content_hash = hashlib.sha1(f"{content_hash}:{_meta_digest(raw.meta)}".encode()).hexdigest()
        meta = {k: v for k, v in raw.meta.items() if k not in ("header", "_note")} if raw.meta else None
        cable = parse_cable(text, source=source, meta=meta)
        if raw.meta and raw.meta.get("_note"):  # what reading the source found (a CSV row's quote)
            cable = dataclasses.replace(cable, notes=(*cable.notes, str(raw.meta["_note"])))
        if not _looks_like_a_cable(cable):
            # A notes.txt or a site's index.html in a cable folder: indexing it would add a
            # bogus "cable" that matches its words.
            raise CableParseError("does not look like a cable: no reference id, date, classification, "
                                  "origin, TAGS, SUBJECT, numbered paragraphs or entity marks", source=source)
        return cable, content_hash
    except CableParseError:
        raise
    except (RecursionError, MemoryError) as e:  # pragma: no cover - defensive
        raise CableParseError(f"cannot parse: {type(e).__name__}", source=source) from e
    except Exception as e:  # a bug in the parser must not stop a build of 250,000 cables
        raise CableParseError(f"parser failure: {type(e).__name__}: {e}", source=source) from e


def _looks_like_a_cable(cable: Cable) -> bool:
    """Whether anything in ``cable`` (text and merged metadata) is what a cable has; every cable of
    the shared corpus (5,000 annotated, 150 pages, the csv sample) has several of these."""
    return bool(cable.ref or cable.date or cable.classification.level or cable.tags or cable.subject
                or cable.origin or cable.paragraphs or cable.entities)


def _read_bytes(path: str, source: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except IsADirectoryError as e:
        raise CableParseError("is a folder, not a file", source=source) from e
    except OSError as e:
        raise CableParseError(f"cannot read: {e.strerror or e}", source=source) from e
    if len(data) > MAX_BYTES:
        raise CableParseError(f"file too large (over {MAX_BYTES // (1024 * 1024)} MB)", source=source)
    return data


def _csv_text(meta: Mapping[str, Any], body: str) -> str:
    header = str(meta.get("header") or "").strip("\n")
    return f"{header}\n\n{body}" if header else body


# ---------------------------------------------------------------------------------------------
# the shipped sample


def sample_sources() -> Iterator[RawCable]:
    """The ~300 real cables shipped in the package, each with its manifest entry."""
    ref = resources.files("cablesearch") / "data" / SAMPLE_RESOURCE
    with ref.open("rb") as raw_fh, gzip.open(raw_fh, "rt", encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            item = json.loads(line)
            text = item["text"]
            meta = item.get("meta") or {}
            name = meta.get("file") or item.get("name") or "cable"
            yield RawCable(source=f"sample:{name}", path=None, text=text, kind=None, meta=meta,
                           stamp=_text_stamp(text))
