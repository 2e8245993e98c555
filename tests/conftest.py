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


def whoosh_layout_build(*args: object, **kwargs: object) -> object:
    """``build_index`` as versions before ``cablesearch/codec.py`` built: postings in whoosh's own
    codec, positions in whoosh's own format (``jobs=1``: the build runs in this process)."""
    from whoosh.codec import default_codec

    from cablesearch import build, buildworkers, engine
    from cablesearch.index import build_index

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(build, "new_codec", default_codec)
        mp.setattr(buildworkers, "new_codec", default_codec)
        mp.setattr(engine, "_compact", lambda field: field)
        return build_index(*args, **kwargs)


@pytest.fixture(scope="session")
def updated_index_path(fixture_cables: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The annotated fixture cables built, then updated with two of them changed: an index with
    two segments, the replaced versions kept in the first as deleted documents. Do not modify it."""
    return _built_and_updated(fixture_cables, tmp_path_factory.mktemp("updated-index"))


@pytest.fixture(scope="session")
def legacy_index_path(fixture_cables: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """As ``updated_index_path``, but built as versions before ``codec.py`` built (whoosh's own
    posting layout) and then updated by this one: its second segment has this version's blocks
    holding whoosh's position values. Do not modify it."""
    return _built_and_updated(fixture_cables, tmp_path_factory.mktemp("legacy-index"), whoosh_layout_build)


@pytest.fixture(scope="session")
def small_blocks_index_path(fixture_cables: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """As ``updated_index_path``, with posting blocks of 4 postings instead of 128: the fixture
    cables' common words then span many blocks, as every common word does in a large index. Do
    not modify it."""
    from cablesearch import build, buildworkers
    from cablesearch.codec import CompactCodec
    from cablesearch.index import build_index

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(build, "new_codec", lambda: CompactCodec(blocklimit=4))
        mp.setattr(buildworkers, "new_codec", lambda: CompactCodec(blocklimit=4))
        return _built_and_updated(fixture_cables, tmp_path_factory.mktemp("small-blocks-index"), build_index,
                                  build_index)


def _built_and_updated(fixture_cables: Path, tmp: Path, first_build: object = None, update: object = None) -> Path:
    from cablesearch.index import build_index

    src = tmp / "src"
    shutil.copytree(fixture_cables / "annotated", src)
    root = tmp / "index"
    (first_build or build_index)([str(src)], root, jobs=1)  # type: ignore[operator]
    for path in sorted(src.glob("*.txt"))[:2]:
        path.write_text(path.read_text(encoding="utf-8") + "\nThe human rights dialogue resumed .\n",
                        encoding="utf-8")
    (update or build_index)([str(src)], root, update=True, jobs=1)  # type: ignore[operator]
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
