"""Help text, derived from the single sources: the field table and the query syntax reference."""

from __future__ import annotations

from importlib import resources

from .schema import FIELDS


def query_help() -> str:
    """The query syntax reference (the same text as the README's section)."""
    return resources.files("cablesearch.query").joinpath("syntax.md").read_text(encoding="utf-8")


def field_rows() -> list[tuple[str, str, str, str]]:
    """(name, aliases, kind, help) for every searchable field, in table order."""
    return [(f.name, ", ".join(f.aliases), f.kind, f.help) for f in FIELDS if f.searchable]


def field_help() -> str:
    """The searchable fields as a table: name, aliases, kind, what it holds, an example."""
    lines = ["Fields (type the name or an alias before ':'; names are case-insensitive):", ""]
    width = max(len(f.name) for f in FIELDS)
    for f in FIELDS:
        if not f.searchable:
            continue
        aka = f"  (also: {', '.join(f.aliases)})" if f.aliases else ""
        lines.append(f"  {f.name:<{width}}  {f.help}{aka}")
        if f.example:
            lines.append(f"  {'':<{width}}  e.g. {f.example}")
    lines.append("")
    lines.append("A bare word searches body and subject.")
    return "\n".join(lines)


def field_markdown() -> str:
    """The field table as the README shows it (tests/test_docs.py keeps the README in step)."""
    rows = ["| field | also | kind | what it holds | example |", "|---|---|---|---|---|"]
    for f in FIELDS:
        if f.searchable:
            aka = ", ".join(f"`{a}`" for a in f.aliases)
            ex = f"`{f.example}`" if f.example else ""
            rows.append(f"| `{f.name}` | {aka} | {f.kind} | {f.help} | {ex} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(field_markdown())
