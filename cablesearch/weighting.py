"""Relevance: whoosh's BM25F, with each field length read from a list instead of from the file.

whoosh's BM25F scorer reads a document's field length (``doc_field_length``) with a seek and a
read of one byte of the segment's length column per scored posting: about a third of the time
of a relevance search (``tag:PREL`` at 250,000 cables scores 160,000 postings; 0.84 of its 3.3
profiled seconds were that read). :func:`field_lengths` reads the column once per segment and
field, in one read, and keeps it with the segment; :class:`BM25F` gives its scorers that list.
The scores are the same numbers: the same bytes decoded by the same ``byte_to_length``, fed to
the same scorer.
"""

from __future__ import annotations

from typing import Any

from whoosh import columns, scoring
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.util.numeric import byte_to_length

from .facets import _cached

#: byte -> field length, as whoosh's ``doc_field_length`` decodes it (0: no length, None).
_LENGTH_OF_BYTE = [None] + [byte_to_length(b) for b in range(1, 256)]


def column_bytes(column: Any) -> bytes | None:
    """A length column's bytes as whoosh stores them (a byte a document, ``byte_to_length`` decodes
    it), in one read; None when ``column`` is not a column reader of bytes (or is None)."""
    if type(column) is not columns.NumericColumn.Reader or column._typecode != "B":
        return None
    return column._dbfile.get(column._basepos, column._count)


def _length_bytes(reader: Any, fieldname: str) -> bytes | None:
    """One segment reader's length column of ``fieldname`` as whoosh stores it, a byte a document
    (``byte_to_length`` decodes it; it may stop before the last documents), read once and cached
    with the segment; None when the column is not a column of bytes."""

    def make() -> bytes | tuple[()]:
        got = column_bytes(reader._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN))
        return () if got is None else got  # () kept, as "not usable"

    got = _cached(reader, "\0lengthbytes:" + fieldname, make)
    return None if got == () else got


def field_length_codes(reader: Any, fieldname: str) -> bytes | None:
    """Per document of one segment reader: the byte whoosh stores for the length of ``fieldname``;
    0 (no length) past the column's end, where whoosh's column stops after the last document
    with a length in the field (then whoosh reads 0 too); None when the column is not one byte a
    document (then only :func:`field_lengths` answers)."""
    if not hasattr(reader, "_perdoc"):
        return None
    try:
        raw = _length_bytes(reader, fieldname)
    except AttributeError:
        return None
    if raw is None:
        return None
    n = reader.doc_count_all()
    if len(raw) == n:
        return raw
    if len(raw) > n:
        return None
    return _cached(reader, "\0lengthcodes:" + fieldname, lambda: raw + bytes(n - len(raw)))


def field_lengths(reader: Any, fieldname: str) -> list[Any] | None:
    """Per document of one segment reader: the length of ``fieldname`` that whoosh's scorers use
    (``doc_field_length(docnum, fieldname, 1)``), read once and cached with the segment; None
    when the reader is not a whoosh segment reader."""

    def make() -> list[Any]:
        n = reader.doc_count_all()
        raw = _length_bytes(reader, fieldname)
        if raw is not None:
            return [_LENGTH_OF_BYTE[b] for b in raw] + [None] * (n - len(raw))  # past its end: 0
        column = reader._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
        if column is None:
            return [1] * n
        return [_LENGTH_OF_BYTE[b] for b in column]

    if not hasattr(reader, "_perdoc"):
        return None
    try:
        return _cached(reader, "\0lengths:" + fieldname, make)
    except AttributeError:
        return None


class BM25F(scoring.BM25F):
    """whoosh's BM25F (same parameters, same scores) whose scorers look field lengths up in
    :func:`field_lengths`."""

    def scorer(self, searcher: Any, fieldname: str, text: bytes, qf: float = 1) -> Any:
        scorer = super().scorer(searcher, fieldname, text, qf=qf)
        if type(scorer) is scoring.BM25FScorer and searcher.is_atomic():
            lengths = field_lengths(searcher.reader(), fieldname)
            if lengths is not None:
                scorer.dfl = lengths.__getitem__
        return scorer


#: The weighting every relevance search uses.
WEIGHTING = BM25F()

__all__ = ["BM25F", "WEIGHTING", "field_length_codes", "field_lengths"]
