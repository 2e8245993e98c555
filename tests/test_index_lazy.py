"""Opening and searching an index does not import the build path (start-up time of the shell)."""

from __future__ import annotations

import subprocess
import sys


def test_searching_does_not_import_the_build_path(fixture_index_path):
    code = (
        "import sys\n"
        "from cablesearch.index import open_index\n"
        f"with open_index({str(fixture_index_path)!r}) as ix:\n"
        "    assert ix.search('tag:PREL', limit=2).total\n"
        "    ix.facets('*'); ix.prefix_counts('org', 'f')\n"
        "print(sorted(m for m in sys.modules if m.startswith('cablesearch.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    loaded = out.stdout
    for build_module in ("cablesearch.build'", "cablesearch.buildworkers", "cablesearch.sources", "cablesearch.cable'"):
        assert build_module not in loaded, loaded


def test_build_index_is_still_importable_from_index():
    from cablesearch.index import BuildReport, build_index

    assert callable(build_index) and BuildReport.__name__ == "BuildReport"


def test_the_shell_starts_without_numpy():
    """numpy (about 60 ms to import) comes with the first search, not with the shell's start:
    the shell, its session and the index module load without it."""
    code = (
        "import sys\n"
        "import cablesearch.index, cablesearch.search, cablesearch.shell.app, cablesearch.shell.session\n"
        "print('numpy' in sys.modules, 'cablesearch.bulk' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_opening_an_index_does_not_import_the_search_engine(fixture_index_path):
    """The shell opens its index before its prompt; ``cablesearch.search`` (snippets, facets,
    ordering) comes with the first search, or with the shell's warm-up once the prompt is up,
    not with the first completion either."""
    code = (
        "import sys\n"
        "from cablesearch.index import open_index\n"
        f"ix = open_index({str(fixture_index_path)!r})\n"
        "ix.prefix_counts('org', 'f')\n"  # the shell's first completion, before the values load
        "print(len(ix), 'cablesearch.search' in sys.modules, 'cablesearch.highlight' in sys.modules)\n"
        "from cablesearch.shell.app import _warm_up\n"
        "_warm_up()\n"
        "print('cablesearch.search' in sys.modules)\n"
        "print(ix.search('tag:PREL', limit=2).total > 0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    opened, warmed, searched = out.stdout.splitlines()
    assert opened.split()[1:] == ["False", "False"] and int(opened.split()[0]) > 0
    assert warmed == "True" and searched == "True"
