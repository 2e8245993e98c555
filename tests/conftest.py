"""Shared fixtures: paths to the real cables in tests/fixtures, the optional ../shared corpus,
and one index built from the fixture cables per test session (read-only: copy it to change it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
FIXTURES = TESTS / "fixtures"
FIXTURE_CABLES = FIXTURES / "cables"
#: The shared corpus next to the repo; optional: tests that need it skip cleanly without it.
SHARED_CORPUS = ROOT.parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def fixture_cables() -> Path:
    """The folder of real cables copied into the repo (annotated, html, csv, plain, with a manifest)."""
    assert FIXTURE_CABLES.is_dir(), "tests/fixtures/cables is missing"
    return FIXTURE_CABLES


@pytest.fixture(scope="session")
def shared_corpus() -> Path:
    if not (SHARED_CORPUS / "annotated").is_dir():
        pytest.skip("../shared/corpus is not here (optional)")
    return SHARED_CORPUS


@pytest.fixture(scope="session")
def fixture_index_path(tmp_path_factory: pytest.TempPathFactory, fixture_cables: Path) -> Path:
    """An index built once from tests/fixtures/cables with the real build. Do not modify it."""
    from cablesearch.index import build_index

    path = tmp_path_factory.mktemp("fixture-index") / "index"
    report = build_index([str(fixture_cables)], path, jobs=1)
    assert report.indexed == report.accepted > 0
    return path


@pytest.fixture(scope="session")
def updated_index_path(fixture_cables: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The annotated fixture cables built, then updated with two of them changed: an index with
    two segments, the replaced versions kept in the first as deleted documents. Do not modify it."""
    from cablesearch.index import build_index

    tmp = tmp_path_factory.mktemp("updated-index")
    src = tmp / "src"
    shutil.copytree(fixture_cables / "annotated", src)
    root = tmp / "index"
    build_index([str(src)], root, jobs=1)
    for path in sorted(src.glob("*.txt"))[:2]:
        path.write_text(path.read_text(encoding="utf-8") + "\nThe human rights dialogue resumed .\n",
                        encoding="utf-8")
    build_index([str(src)], root, update=True, jobs=1)
    return root


@pytest.fixture()
def fixture_index(fixture_index_path: Path):
    from cablesearch.index import open_index

    with open_index(fixture_index_path) as ix:
        yield ix


@pytest.fixture()
def index_copy(fixture_index_path: Path, tmp_path: Path) -> Path:
    """A private copy of the fixture index, for tests that change it."""
    dst = tmp_path / "index"
    shutil.copytree(fixture_index_path, dst, symlinks=True)
    return dst


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite golden files from current output")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--update-golden", default=False):
        import os

        os.environ["CABLESEARCH_UPDATE_GOLDEN"] = "1"
