"""The README tells the truth: its opening commands are what CI runs, and its help matches the code."""

from __future__ import annotations

import re

from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _opening_commands() -> list[str]:
    head = README.split("\n## ", 1)[0]
    return [line.strip() for line in head.splitlines() if line.startswith("    ") and line.strip()]


def test_readme_opens_with_run_and_test_commands():
    cmds = _opening_commands()
    assert len(cmds) == 2, cmds
    run, test = cmds
    assert "pip install" in run and run.rstrip().endswith("cablesearch shell")
    assert "pip install" in test and "pytest" in test


def test_ci_runs_exactly_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    test_cmd = _opening_commands()[1]
    assert test_cmd in ci.splitlines(), "the README's test command must appear verbatim as a line of .ci/run"


def test_every_field_has_help_and_is_in_the_readme():
    from cablesearch.schema import FIELDS

    for f in FIELDS:
        assert f.help.strip(), f.name
        if f.searchable:
            assert re.search(rf"`{re.escape(f.name)}`", README), f"field {f.name} is not documented in the README"


def test_every_cli_command_has_help_and_is_in_the_readme():
    from cablesearch.cli import cli

    for name, cmd in cli.commands.items():
        assert (cmd.help or "").strip(), name
        assert f"cablesearch {name}" in README, f"`cablesearch {name}` is not in the README"


def test_readme_field_table_is_generated_from_the_field_table():
    from cablesearch.helptext import field_markdown

    assert field_markdown() in README, "regenerate the README's field table: python -m cablesearch.helptext"


def _without_heading_marks(text: str) -> str:
    return "\n".join(line.lstrip("#").strip() for line in text.strip().splitlines())


def test_readme_query_syntax_is_the_reference_the_cli_prints():
    from cablesearch.helptext import query_help

    section = README.split("<!-- query-syntax", 1)[1].split("\n", 1)[1].split("<!-- /query-syntax -->", 1)[0]
    assert _without_heading_marks(section) == _without_heading_marks(query_help())
