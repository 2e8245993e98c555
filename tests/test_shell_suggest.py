"""suggest() on strings: what the shell offers to complete at the end of a line (no terminal)."""

from __future__ import annotations

import pytest

from cablesearch.schema import FIELDS
from cablesearch.shell.commands import REGISTRY
from cablesearch.shell.suggest import (
    Choice,
    CommandName,
    FieldName,
    FieldValue,
    Operator,
    Path,
    suggest,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", (FieldName(""),)),
        ("mosc", (FieldName("mosc"),)),
        ("intel or", (FieldName("or"),)),
        ("intel O", (FieldName("O"), Operator("O"))),
        ("intel AN", (FieldName("AN"), Operator("AN"))),
        ("(intel ", (FieldName(""),)),
        ("tag:", (FieldValue("tag", ""),)),
        ("tag:wt", (FieldValue("tag", "wt"),)),
        ("TAGS:wt", (FieldValue("tag", "wt"),)),
        ("-tag:pr", (FieldValue("tag", "pr"),)),
        ("intel AND (class:se", (FieldValue("class", "se"),)),
        ("organization:fs", (FieldValue("org", "fs"),)),
        ('per:"John B', (FieldValue("per", "John B", quoted=True),)),
        ("from:mos", (FieldValue("origin", "mos"),)),
        ("tag:(PREL OR PG", (FieldValue("tag", "PG"),)),
        ("tag:(PREL OR ", (FieldValue("tag", ""),)),
        ("tag:(PREL) PG", (FieldName("PG"),)),
        ('tag:("a b', (FieldValue("tag", "a b", quoted=True),)),
    ],
)
def test_query_suggestions(text, expected):
    assert suggest(text) == expected


@pytest.mark.parametrize("text", ['intel "a b', "date:2009", "year:>=2005", "body:wai", "orgz:x", "intel~"])
def test_nothing_to_offer(text):
    assert suggest(text) == ()


def test_every_value_field_of_the_table_gets_values():
    for f in FIELDS:
        if not f.searchable:
            continue
        got = suggest(f"{f.name}:x")
        if f.complete_values:
            assert got == (FieldValue(f.name, "x"),), f.name
        else:
            assert got == (), f.name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (":", (CommandName(""),)),
        (":sh", (CommandName("sh"),)),
        ("  :he", (CommandName("he"),)),
        (":facets ", (FieldName("", facets_only=True),)),
        (":facets tag,cl", (FieldName("cl", facets_only=True),)),
        (":facets tag or", (FieldName("or", facets_only=True),)),
        (":explain org:F", (FieldValue("org", "F"),)),
        (":export out/r", (Path("out/r"),)),
        (":show ", ()),
        (":quit ", ()),
        (":nosuch x", ()),
    ],
)
def test_command_suggestions(text, expected):
    assert suggest(text) == expected


def test_sort_and_help_offer_their_choices_from_the_registry():
    (s,) = suggest(":sort -")
    assert isinstance(s, Choice) and s.prefix == "-"
    assert [v for v, _ in s.choices] == ["relevance", "date", "-date"]
    (h,) = suggest(":help s")
    names = [v for v, _ in h.choices]
    assert {"syntax", "fields", "keys"} <= set(names)
    assert {c.name for c in REGISTRY} <= set(names)
