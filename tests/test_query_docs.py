"""Every example in the query syntax reference (cablesearch/query/syntax.md) works.

The format the test relies on: markdown tables whose first header cell is ``Query``. Each
`code span` in a row's first cell is one example query (``\\|`` is a literal ``|``).
- In a table whose second header cell is ``Error``, each example must fail with a QueryError
  whose message contains the second cell's text.
- In every other such table, each example must parse, print canonically, and compile.
"""

from __future__ import annotations

import re

import pytest

from cablesearch import schema
from cablesearch.errors import QueryError
from cablesearch.query import compile_query, parse_query, syntax_reference, to_query_string

DOC = syntax_reference()


def examples() -> list[tuple[str, str | None]]:
    """(query, expected error or None) for each example in the reference."""
    out: list[tuple[str, str | None]] = []
    header: list[str] | None = None
    for line in DOC.splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if header is None:
            header = cells
            continue
        if header[0] != "Query" or set(cells[0]) <= {"-"}:
            continue
        for code in re.findall(r"`([^`]+)`", cells[0]):
            out.append((code, cells[1] if header[1] == "Error" else None))
    return out


EXAMPLES = examples()


def test_the_reference_has_examples():
    assert len(EXAMPLES) >= 60
    assert sum(1 for _, error in EXAMPLES if error) >= 5


@pytest.mark.parametrize(("text", "error"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_example(text, error):
    if error is not None:
        with pytest.raises(QueryError) as info:
            compile_query(parse_query(text))
        assert error in info.value.message
        return
    query = parse_query(text)
    assert parse_query(to_query_string(query.node)).node == query.node
    compile_query(query)


def test_every_searchable_field_has_an_example():
    used = {text.split(":", 1)[0].lower() for text, _ in EXAMPLES if ":" in text}
    missing = {f.name for f in schema.FIELDS if f.searchable} - {schema.resolve_field(u) for u in used}
    assert not missing


def test_every_searchable_field_is_named():
    for f in schema.FIELDS:
        if f.searchable:
            assert f"`{f.name}`" in DOC, f.name


def test_documented_limits_match_the_code():
    from cablesearch.query import MAX_CLAUSES, MAX_DEPTH, MAX_EXPANSION, MAX_QUERY_LENGTH
    from cablesearch.query.parser import MAX_BOOST, MAX_SLOP

    limits = DOC[DOC.index("## Limits"):DOC.index("## Errors")]
    for value in (f"{MAX_QUERY_LENGTH:,}", f"{MAX_DEPTH} deep", f"{MAX_CLAUSES:,} terms",
                  f"{MAX_EXPANSION:,} different", f"`~{MAX_SLOP}`", f"at most {MAX_BOOST:g}"):
        assert value in limits
