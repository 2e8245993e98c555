"""Word lists: each segment's indexed words in one file, so that a wildcard (``*stan``, ``?ran``,
``loc:*stan``, ``te?t``) is a regular-expression scan of a string.

whoosh answers such a pattern by walking the field's word list in Python, about 2.5 µs a word:
8 s for the 2.6 million body words of a 250,000-cable index when the pattern has no literal start.
The same words as one string, scanned by ``re``, take about 10 ms a segment. A pattern with a
literal start (``te?t``, ``gov*nment``) scans only the words that begin with it, found by a binary
search of the list (whoosh walks each of them: ``te?t`` walks 12,600 words at 250,000); one with a
literal end and no start (``*stan``) scans the list backwards, as a pattern with a literal start
(re finds a literal start fast). A plain prefix (``nucl*``) stays with whoosh's walk, which reads
each word's term info on the way.

``MAIN_<segment id>.words`` sits next to its segment, so whoosh removes it with the segment: its
clean-up after a commit deletes every ``MAIN_<id>.*`` of a segment no longer listed. The build
writes the files before it publishes the index; an update writes them, after its commit, for the
segments that lack one (its new segment and any merged ones). A segment without a readable file
(an index built before the files existed, a write that failed) is searched as before: the answer
is the same, only slower.

The format: a first line of JSON, ``{"size": total bytes, "fields": {name: [offset, length]}}``
with offsets counted from the end of that line; each field's words in index order, joined and
framed by ``"\\n"`` (``"\\nafghanistan\\nkazakhstan\\n"``), UTF-8. A field with a word holding a
newline has no list (whoosh's walk then answers).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from .facets import _cached
from .schema import FIELDS

SUFFIX = ".words"

#: The field kinds whose index words are text (not dates or numbers).
_TEXT_KINDS = ("text", "entity", "keyword", "id")

class _NoList(Exception):
    """No usable list (never cached: an update may write it while a shell runs)."""


def _leaves(reader: Any) -> list[Any]:
    return [r for r, _ in reader.leaf_readers()] if hasattr(reader, "leaf_readers") else [reader]


def _folder(storage: Any) -> str | None:
    """The index folder behind a segment reader's storage: a compound segment is read through an
    overlay of its own file (``a``) on the folder's storage (``b``)."""
    for _ in range(4):
        folder = getattr(storage, "folder", None)
        if folder or not hasattr(storage, "b"):
            return folder
        storage = storage.b
    return None


def _path(reader: Any) -> Path | None:
    folder = _folder(getattr(reader, "_storage", None))
    try:
        segment_id = reader.segment().segment_id()
    except (AttributeError, NotImplementedError):
        return None
    return Path(folder) / f"{segment_id}{SUFFIX}" if folder else None


def _encode(reader: Any) -> bytes:
    blobs: dict[str, bytes] = {}
    indexed = set(reader.indexed_field_names())
    for f in FIELDS:
        if f.kind not in _TEXT_KINDS or f.name not in indexed:
            continue
        words = [b.decode("utf-8") for b in reader.lexicon(f.name)]
        if any("\n" in w for w in words):
            continue
        blobs[f.name] = ("\n" + "\n".join(words) + "\n").encode("utf-8") if words else b"\n"
    offsets, at = {}, 0
    for name, blob in blobs.items():
        offsets[name] = [at, len(blob)]
        at += len(blob)
    header = json.dumps({"size": at, "fields": offsets}).encode("utf-8") + b"\n"
    return header + b"".join(blobs.values())


def write_missing(ix: Any) -> int:
    """Write the word list of every segment of the whoosh index ``ix`` that has none (and remove
    the temp files of an interrupted write). Returns how many were written."""
    from . import indexdir

    written = 0
    with ix.reader() as reader:
        for leaf in _leaves(reader):
            path = _path(leaf)
            if path is None:
                continue
            for stale in path.parent.glob(f"{path.name}.tmp-*"):
                stale.unlink(missing_ok=True)
            if path.exists():
                continue
            indexdir.write_atomic(path, _encode(leaf))
            written += 1
    return written


def _load(reader: Any, fieldname: str) -> str:
    path = _path(reader)
    if path is None:
        raise _NoList
    try:
        with open(path, "rb") as fh:
            header = json.loads(fh.readline())
            start = fh.tell()
            if start + header["size"] != os.fstat(fh.fileno()).st_size:
                raise _NoList  # not the file that was written: never answer from part of a list
            span = header["fields"].get(fieldname)
            if span is None:
                raise _NoList
            fh.seek(start + span[0])
            blob = fh.read(span[1])
    except (OSError, ValueError, KeyError, TypeError, IndexError) as e:
        raise _NoList from e
    if len(blob) != span[1]:
        raise _NoList
    try:
        return blob.decode("utf-8")
    except UnicodeDecodeError as e:
        raise _NoList from e


def words(reader: Any, fieldname: str) -> str | None:
    """One segment reader's words of ``fieldname``, ``"\\n"``-framed (see the module), read once
    and cached with the segment; None when the segment has no list for the field (not cached:
    one failed open per search, and a list an update writes later is used at once)."""
    try:
        return _cached(reader, "\0words:" + fieldname, lambda: _load(reader, fieldname))
    except _NoList:
        return None


def _literal_start(pattern: str) -> str:
    """The characters of a wildcard before its first ``*`` or ``?``."""
    return pattern[: min((i for i in (pattern.find("*"), pattern.find("?")) if i >= 0), default=len(pattern))]


def _regex(pattern: str) -> re.Pattern[str] | None:
    """A wildcard (``*`` any run, ``?`` one character, as whoosh's) as a scan of a word list; None
    when it has characters fnmatch would read as a set."""
    if "[" in pattern or "]" in pattern:
        return None
    pieces = re.sub(r"\*+", "*", pattern).split("*")
    fixed = ["".join("[^\n]" if c == "?" else re.escape(c) for c in piece) for piece in pieces]
    # As fnmatch.translate (whoosh's): a piece between two stars is matched at its first place,
    # atomically, so that a pattern with many stars cannot backtrack through a line's choices.
    body = fixed[0] + "".join(f"(?>[^\n]*?{f})" for f in fixed[1:-1])
    if len(fixed) > 1:
        body += f"[^\n]*{fixed[-1]}"
    return re.compile(f"\n({body})(?=\n)")


def _first_line(text: str, before: Any) -> int:
    """In a ``"\n"``-framed, sorted word list, the place of the ``"\n"`` that opens the first word
    for which ``before(word)`` is false (the closing ``"\n"`` when there is none): a binary search
    of the lines, ``before`` being true for a run of words at the start of the list."""
    lo, hi = 0, len(text) - 1  # both a "\n"; the answer lies between them
    while lo < hi:
        opening = text.rfind("\n", lo, (lo + hi) // 2 + 1)  # at lo at the earliest
        closing = text.find("\n", opening + 1)
        if before(text[opening + 1:closing]):
            lo = closing
        else:
            hi = opening
    return lo


def _span(text: str, start: str) -> str:
    """The part of a word list holding the words that begin with ``start`` (still framed by
    ``"\n"``), found by two binary searches: the lists are in index order, which is code point
    order (whoosh sorts a field's words by their UTF-8 bytes, in the same order)."""
    n = len(start)
    first = _first_line(text, lambda word: word < start)
    last = _first_line(text, lambda word: word[:n] <= start)
    return text[first:last + 1]


def match(reader: Any, fieldname: str, pattern: str) -> list[bytes] | None:
    """The words of one segment reader's ``fieldname`` that the wildcard ``pattern`` matches, in
    index order, as whoosh's ``Wildcard`` finds them; None when the word list cannot answer (no
    file, or a pattern with a character set). A pattern with a literal start scans only the words
    that begin with it (``te?t``: whoosh walks each of them in Python, about 2.5 µs a word)."""
    regex = _regex(pattern)
    if regex is None:
        return None
    text = words(reader, fieldname)
    if text is None:
        return None
    start = _literal_start(pattern)
    if start:
        text = _span(text, start)
    elif pattern[-1] not in "*?":
        # No literal start but a literal end (*stan, ?ran): the reversed pattern on the reversed
        # list, which begins with a literal that re finds fast (*stan: 28 -> 10 ms a segment of
        # 600,000 words); the words back in index order, which is code point order.
        backwards = _regex(pattern[::-1])
        if backwards is not None:
            found = backwards.findall(_reversed_words(reader, fieldname, text))
            return [w.encode("utf-8") for w in sorted(w[::-1] for w in found)]
    return [w.encode("utf-8") for w in regex.findall(text)]


def _reversed_words(reader: Any, fieldname: str, text: str) -> str:
    """``words(reader, fieldname)`` (``text``) backwards, made once and cached with the segment."""
    return _cached(reader, "\0reversed words:" + fieldname, lambda: text[::-1])


__all__ = ["SUFFIX", "match", "words", "write_missing"]
