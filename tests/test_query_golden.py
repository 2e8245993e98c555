"""Golden queries: text -> canonical text -> compiled whoosh query, from tests/golden/queries/*.txt.

Each file holds records separated by blank lines ('#' lines are comments):

    q: the query as typed
    c: its canonical text, ``to_query_string(parse_query(q).node)``
    w: the compiled query, ``describe(compile_query(...))`` (whoosh's ``str()`` with dates
       readable, and the boosts and phrase slop that ``str()`` leaves out)
    warn: one expected warning (parse, then compile), repeated as needed; none if absent

The lines were written and checked by hand. To rewrite them from the code after a deliberate
change (then read the diff!), run with CABLESEARCH_UPDATE_GOLDEN=1.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cablesearch.query import compile_query, describe, parse_query, to_query_string

GOLDEN = Path(__file__).parent / "golden" / "queries"
UPDATE = os.environ.get("CABLESEARCH_UPDATE_GOLDEN") == "1"


def read_records(path: Path) -> list[dict[str, list[str]]]:
    records: list[dict[str, list[str]]] = []
    current: dict[str, list[str]] = {}
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if line.startswith("#"):
            continue
        if not line.strip():
            if current:
                records.append(current)
            current = {}
            continue
        key, sep, value = line.partition(": ")
        assert sep and key in ("q", "c", "w", "warn"), f"{path.name}: bad line {line!r}"
        current.setdefault(key, []).append(value)
    return records


def actual(query_text: str) -> dict[str, list[str]]:
    query = parse_query(query_text)
    warnings = list(query.warnings)
    compiled = compile_query(query, warnings=warnings)
    out = {"q": [query_text], "c": [to_query_string(query.node)], "w": [describe(compiled)]}
    if warnings:
        out["warn"] = [w.message for w in warnings]
    return out


CASES = [
    pytest.param(path, record, id=f"{path.stem}:{record['q'][0]}")
    for path in sorted(GOLDEN.glob("*.txt"))
    for record in read_records(path)
]


def test_enough_golden_queries():
    assert len(CASES) >= 80


@pytest.mark.parametrize(("path", "record"), CASES)
def test_golden(path: Path, record: dict[str, list[str]]):
    got = actual(record["q"][0])
    if UPDATE and got != record:
        _rewrite(path, record, got)
    assert got == record


@pytest.mark.parametrize(("path", "record"), CASES)
def test_golden_canonical_is_stable(path: Path, record: dict[str, list[str]]):
    """The canonical text reads back to the same AST, prints the same and compiles the same."""
    canonical = record["c"][0]
    query = parse_query(canonical)
    assert query.node == parse_query(record["q"][0]).node
    assert to_query_string(query.node) == canonical
    assert describe(compile_query(query)) == record["w"][0]


def _rewrite(path: Path, old: dict[str, list[str]], new: dict[str, list[str]]) -> None:
    def block(rec: dict[str, list[str]]) -> str:
        return "\n".join(f"{k}: {v}" for k in ("q", "c", "w", "warn") for v in rec.get(k, []))

    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(block(old), block(new), 1), encoding="utf-8")
