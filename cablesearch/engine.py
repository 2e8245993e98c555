"""The whoosh side of the field table: analyzers and the schema derived from ``FIELDS``.

Only this module, ``index.py`` and ``query/compile.py`` know about whoosh.
"""

from __future__ import annotations

import functools
import os
import re
import struct
from collections.abc import Callable
from datetime import datetime
from typing import Any

from whoosh import columns, fields
from whoosh import index as windex
from whoosh.analysis import (
    Analyzer,
    CharsetFilter,
    IDTokenizer,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
    Token,
    Tokenizer,
)
from whoosh.filedb.filestore import FileStorage
from whoosh.searching import Searcher
from whoosh.support.charset import accent_map
from whoosh.util import random_name

from .codec import CompactPositions
from .errors import IndexStateError
from .schema import FIELDS, Field

#: Positions left between two entity mentions: a phrase or a proximity query with a slop
#: below this never spans two mentions.
ENTITY_GAP = 100
#: What separates mentions in the string an entity field is given.
MENTION_SEP = "\n"

_WORD = re.compile(r"\w+(?:[.'’&\-/]\w+)*", re.UNICODE)
#: How a name's word splits into the words it is indexed as: at hyphens and slashes
#: (``Bosnia-Herzegovina``, ``EU-3``); apostrophes are dropped (``Qa'ida`` -> ``qaida``).
_PART = re.compile(r"[^\-/]+")
_APOSTROPHES = str.maketrans("", "", "'’")
#: Before the split (indexes built until then): ``al-qa'ida`` was one word.
_LEGACY_WORD = re.compile(r"\w+(?:[.'&\-/]\w+)*", re.UNICODE)


def legacy_entity_words(text: str) -> list[str]:
    """The words an index built before hyphens split names has for ``text``: ``al-qa'ida``."""
    return [fold(m.group(0)) for m in _LEGACY_WORD.finditer(text)]


def fold(word: str) -> str:
    """``word`` lowercased with its accents removed (``Chávez`` -> ``chavez``), as every text and
    entity field indexes and queries words: the cables are nearly all ASCII, their readers' names
    for people and places often are not."""
    word = word.lower()
    return word if word.isascii() else word.translate(accent_map)


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


#: Up to this many non-ASCII characters, :func:`fold_text` translates them one by one.
_FEW_NON_ASCII = 256


def fold_text(text: str) -> str:
    """:func:`fold` for a long text (a cable's body): the same string, translating only its
    non-ASCII characters (lowercase ASCII maps to itself), not every character through the map.
    A body's few (curly quotes, dashes) are found as code points above 127 by numpy: a regular
    expression for them tries every character (250 us for 7.5 kB here, against 20)."""
    low = text.lower()
    if low.isascii():
        return low
    import numpy as np  # with the first search anyway

    found = np.flatnonzero(np.frombuffer(low.encode("utf-32-le", "surrogatepass"), dtype="<u4") > 0x7F)
    if len(found) > _FEW_NON_ASCII:  # a text mostly not ASCII: a translation a run
        return _NON_ASCII.sub(lambda m: m.group(0).translate(accent_map), low)
    out, last = [], 0
    for i in found.tolist():
        out.append(low[last:i])
        out.append(low[i].translate(accent_map))
        last = i + 1
    out.append(low[last:])
    return "".join(out)


class EntityTokenizer(Tokenizer):
    """Tokenizes entity mentions, one a line, lowercasing, with a gap of positions between mentions.

    (whoosh takes a list value as already tokenized, so the mentions travel as one string.)
    """

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))

    def __call__(
        self, value: Any, positions: bool = False, chars: bool = False, keeporiginal: bool = False,
        removestops: bool = True, start_pos: int = 0, start_char: int = 0, tokenize: bool = True,
        mode: str = "", **kwargs: Any,
    ):
        mentions = value.split(MENTION_SEP) if isinstance(value, str) else list(value)
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pos = start_pos
        char_base = start_char
        for m in mentions:
            if not tokenize:
                t.original = t.text = fold(m)
                t.boost = 1.0
                if positions:
                    t.pos = pos
                if chars:
                    t.startchar, t.endchar = char_base, char_base + len(m)
                pos += 1
                yield t
            else:
                for match in _WORD.finditer(m):
                    for part in _PART.finditer(match.group(0)):
                        text = fold(part.group(0).translate(_APOSTROPHES))
                        if not text:
                            continue
                        t.text = text
                        if keeporiginal:
                            t.original = part.group(0)
                        t.boost = 1.0
                        t.stopped = False
                        if positions:
                            t.pos = pos
                        if chars:
                            t.startchar = char_base + match.start() + part.start()
                            t.endchar = char_base + match.start() + part.end()
                        pos += 1
                        yield t
            pos += ENTITY_GAP
            char_base += len(m) + 1


def text_analyzer():
    """Body and subject: words, lowercased, accents folded, stop words out, English stems.

    whoosh's ``StemmingAnalyzer`` with a ``CharsetFilter`` after the lowercasing (the build's fast
    path in ``segwriter._FastText`` recognises exactly this chain).
    """
    chain = RegexTokenizer() | LowercaseFilter() | CharsetFilter(accent_map) | StopFilter()
    return chain | StemFilter(cachesize=200_000)


def common_pairs(field: str) -> frozenset[str]:
    """The pairs of neighbouring words a new index keeps as terms for ``field``
    (``data/common_pairs.txt``: a line ``field first second`` a pair)."""
    return _common_pairs().get(field, frozenset())


@functools.cache
def _common_pairs() -> dict[str, frozenset[str]]:
    from importlib.resources import files

    text = files("cablesearch").joinpath("data/common_pairs.txt").read_text(encoding="utf-8")
    found: dict[str, set[str]] = {}
    for line in text.split("\n"):
        if line and not line.startswith("#"):
            field, _, pair = line.partition(" ")
            found.setdefault(field, set()).add(pair)
    return {field: frozenset(pairs) for field, pairs in found.items()}


class WordPairs(Analyzer):
    """Each two neighbouring words of ``base``'s tokens (positions ``p`` and ``p + 1``) that make a
    pair listed in ``pairs``, as one token ``"first second"``: ``"human rights"`` -> ``human right``.

    A field with ``Field.pairs`` (the body, the four name fields) has a second field of these
    (:func:`pairs_name`), so that a phrase of a common pair, in tens of thousands of cables at full
    scale, is one posting list (``phrases.py``) instead of every position of both words. Only
    listed pairs are kept (the commonest in the real cables: ``data/make_common_pairs.py``): the
    others' phrases are matched from positions, and every pair kept costs index space. In a name
    field, the gap between two mentions keeps their words from making a pair. A listed pair is
    kept wherever it stands, so its list is complete in every segment, merged ones too. ``pairs``
    is pickled with the schema: an index keeps the list it was built with.
    """

    def __init__(self, base: Any, pairs: frozenset[str]) -> None:
        self.base = base
        self.pairs = pairs

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.base == self.base and other.pairs == self.pairs

    def __hash__(self) -> int:
        return hash((type(self), len(self.pairs)))

    def __call__(self, value: Any, positions: bool = False, chars: bool = False, keeporiginal: bool = False,
                 removestops: bool = True, start_pos: int = 0, start_char: int = 0, mode: str = "",
                 **kwargs: Any) -> Any:
        pairs = self.pairs
        last, last_pos = None, -2
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for token in self.base(value, positions=True, mode=mode, start_pos=start_pos):
            word, pos = token.text, token.pos
            if pos == last_pos + 1 and (pair := f"{last} {word}") in pairs:
                t.text = pair
                t.boost = 1.0
                t.stopped = False
                if positions:
                    t.pos = last_pos
                yield t
            last, last_pos = word, pos


def pairs_name(name: str) -> str:
    """The whoosh field of the word pairs (:class:`WordPairs`) of field ``name``."""
    return f"{name}_pairs"


def pairs_field(f: Field, pairs: frozenset[str] | None = None) -> fields.FieldType:
    """The whoosh field of the word pairs of field ``f`` (text or entity): which cables hold each
    pair, and where (the position of its first word, ``codec.CompactPositions``: a phrase of three
    words or more follows its pairs instead of its words, whose positions are many times more);
    no lengths, no stored value. (Indexes of schema layout 2 keep the cables only:
    ``formats.Existence``.)"""
    base = text_analyzer() if f.kind == "text" else entity_analyzer()
    return fields.FieldType(CompactPositions(), WordPairs(base, common_pairs(f.name) if pairs is None else pairs))


def entity_analyzer():
    return EntityTokenizer()


def id_analyzer():
    return IDTokenizer() | LowercaseFilter()


def _compact(field: fields.TEXT) -> fields.TEXT:
    """``field`` with its positions kept as packed arrays (``codec.CompactPositions``)."""
    field.format = CompactPositions(field_boost=field.format.field_boost)
    return field


def whoosh_field(f: Field) -> fields.FieldType:
    """The whoosh field type for one row of the field table."""
    if f.kind == "id":
        return fields.ID(stored=f.stored, unique=f.name == "ref", sortable=f.sortable, analyzer=id_analyzer())
    if f.kind == "text":
        apart = f.stored and f.stored_apart
        return _compact(fields.TEXT(stored=f.stored and not apart, analyzer=text_analyzer(), phrase=True,
                                    sortable=columns.CompressedBytesColumn() if apart else False))
    if f.kind == "entity":
        return _compact(fields.TEXT(stored=f.stored, analyzer=entity_analyzer(), phrase=True, sortable=f.sortable))
    if f.kind == "keyword":
        return fields.KEYWORD(stored=f.stored, lowercase=True, commas=True, scorable=True, sortable=f.sortable)
    if f.kind == "date":
        return fields.DATETIME(stored=f.stored, sortable=f.sortable)
    if f.kind == "number":
        return fields.NUMERIC(int, bits=32, stored=f.stored, sortable=f.sortable)
    if f.kind == "stored":
        return fields.STORED()
    raise ValueError(f"unknown field kind {f.kind!r} for {f.name!r}")


#: The name of the whoosh index in each generation folder.
INDEX_NAME = "MAIN"


class _Storage(FileStorage):
    """whoosh's ``FileStorage`` without the reference cycle of its ``temp_storage``.

    whoosh's writer asks twice for the same temporary folder (``MAIN.tmp``), and the second
    time ``FileStorage.create`` catches the ``os.makedirs`` error and keeps it in a local: the
    frame, its exception and the exception's traceback hold one another, and the traceback holds
    every caller's frame, so whatever those frames hold waits for the cyclic collector. An
    update's ledger (750,000 objects at 250,000 sources) did: the collector's walk of it took
    0.7 s. Here the folder is made if missing, as ``create`` does, raising nothing."""

    def temp_storage(self, name: str | None = None) -> FileStorage:
        path = os.path.join(self.folder, name or f"{random_name()}.tmp")
        os.makedirs(path, exist_ok=True)  # FileExistsError if it is there but not a folder, as create()
        return FileStorage(path)


def whoosh_storage(folder: str | os.PathLike[str]) -> FileStorage:
    """The storage every cablesearch index is opened with: files read with ``read()``, not ``mmap``.

    whoosh 2.7 wraps each part of an mmapped compound segment in ``BytesIO(memoryview)``, which
    copies it: opening a reader would then cost about the size of the index in memory (5 GB for
    250,000 cables). Without mmap a reader costs a few MB and searches as fast; the compound file
    is still opened when the reader opens, so an open reader survives the file's deletion.
    Like any whoosh reader, one reader is for one thread at a time.
    """
    return _Storage(str(folder), supports_mmap=False)


def open_whoosh(folder: str | os.PathLike[str]) -> Any:
    """The whoosh index in ``folder`` (raises whoosh's EmptyIndexError when there is none)."""
    return whoosh_storage(folder).open_index(INDEX_NAME)


def whoosh_schema() -> fields.Schema:
    """The whoosh schema derived from ``FIELDS``."""
    found = {f.name: whoosh_field(f) for f in FIELDS if not f.union_of}
    found.update((pairs_name(f.name), pairs_field(f)) for f in FIELDS if f.pairs)
    return fields.Schema(**found)


#: Failures that mean the index changed under a reader (files merged away, generation deleted).
_TRANSIENT = (OSError, EOFError, struct.error, windex.IndexError)


def _borrowed(source: Any) -> Searcher | None:
    """The searcher to use as is: a whoosh Searcher, or the one an object such as CableIndex owns."""
    if isinstance(source, Searcher):
        return source
    if isinstance(source, windex.Index) or callable(source):
        return None
    return source.searcher()


def _open(source: Any) -> Searcher:
    ix = source if isinstance(source, windex.Index) else source()
    return ix.searcher()


def with_searcher(source: Any, fn: Callable[[Searcher], Any]) -> Any:
    """``fn(searcher)`` on a fresh searcher of ``source``, retried once if the index changed under it;
    a borrowed searcher (a whoosh Searcher, or an object's such as CableIndex) is used as is."""
    borrowed = _borrowed(source)
    if borrowed is not None:
        return fn(borrowed)
    try:
        with _open(source) as s:
            return fn(s)
    except _TRANSIENT:
        pass
    try:
        with _open(source) as s:
            return fn(s)
    except _TRANSIENT as e:
        raise IndexStateError(f"the index could not be read (it changed or vanished during the search): {e}") from e


#: The stored fields kept in a column of their own (``Field.stored_apart``).
STORED_APART: tuple[str, ...] = tuple(f.name for f in FIELDS if f.stored and f.stored_apart)


def stored_fields(source: Any, docnum: int, *, apart: bool = True) -> dict[str, Any]:
    """The stored fields of document ``docnum`` of ``source`` (a whoosh searcher or reader).

    With ``apart``, the fields stored apart (the body) are read from their column and added; an
    index built before they were stored apart has them in the record already. Without it, only
    the record: what a hit shows, at a fraction of the cost when the body is apart."""
    reader = source.reader() if hasattr(source, "reader") else source
    got = reader.stored_fields(docnum)
    if apart:
        for name in STORED_APART:
            if name not in got:
                text = _column_text(reader, name, docnum)
                if text is not None:
                    got = {**got, name: text}
    return got


def _column_text(reader: Any, name: str, docnum: int) -> str | None:
    """Document ``docnum``'s value in the column of ``name`` (whose values are UTF-8 text), or
    None when the index has no such column (an index that keeps ``name`` in its records)."""
    column = reader.schema[name].column_type if name in reader.schema else None
    if column is None:
        return None
    if hasattr(reader, "_segment_and_docnum"):  # a MultiReader: the segment's own reader
        segment, docnum = reader._segment_and_docnum(docnum)
        reader = reader.readers[segment]
    perdoc = getattr(reader, "_perdoc", None)
    cached = getattr(perdoc, "_cached_reader", None)
    # whoosh 3's per-document reader keeps each column's reader once opened (as it does for the
    # stored records and the lengths); any other reader opens the column for the call.
    values = cached(name, column) if cached is not None else reader.column_reader(name, translate=False)
    if values is None:  # the segment has no file for the column: no document had a value
        return ""
    value = values[docnum]
    return value.decode("utf-8") if isinstance(value, bytes) else value


#: The fields with word pairs (``Field.pairs``).
_PAIRED = frozenset(f.name for f in FIELDS if f.pairs)


def to_whoosh(doc: dict[str, Any], schema: Any = None) -> dict[str, Any]:
    """Turn an engine-neutral document (``schema.to_document``) into whoosh ``add_document`` kwargs
    (a field with word pairs gives its text to its pairs field too, unless ``schema``, the whoosh
    schema of the index it goes into, has none: an index built before them)."""
    kinds = {f.name: f.kind for f in FIELDS}
    out: dict[str, Any] = {}
    for name, value in doc.items():
        kind = kinds[name]
        if kind == "keyword":
            out[name] = ",".join(v.replace(",", " ") for v in value)
        elif kind == "date":
            out[name] = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
        elif kind == "entity":
            out[name] = MENTION_SEP.join(v.replace(MENTION_SEP, " ") for v in value)
        else:
            out[name] = value
        if name in _PAIRED and (schema is None or pairs_name(name) in schema):
            out[pairs_name(name)] = out[name]
    return out


__all__ = [
    "ENTITY_GAP", "INDEX_NAME", "STORED_APART", "EntityTokenizer", "WordPairs", "common_pairs", "fold", "open_whoosh",
    "pairs_name", "stored_fields", "to_whoosh", "whoosh_field", "whoosh_schema", "whoosh_storage", "with_searcher",
]
