"""Searching while the index changes: commits by a writer, a generation swapped in and the old
one deleted, files vanishing under a reader (retried once on a fresh index, then an error)."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from test_search import CABLES, build
from whoosh import index as windex
from whoosh.filedb.filestore import FileStorage

from cablesearch import search as S
from cablesearch.engine import to_whoosh
from cablesearch.errors import IndexStateError
from cablesearch.schema import to_document


def test_searches_in_threads_see_commits_as_they_land(tmp_path):
    ix = build(CABLES[:10], storage=FileStorage(str(tmp_path)))
    errors: list[BaseException] = []
    seen: dict[int, list[int]] = {}
    writer_done = threading.Event()

    def writer():
        try:
            for start in range(10, len(CABLES), 5):
                with ix.writer(timeout=5.0) as w:
                    for c in CABLES[start:start + 5]:
                        w.add_document(**to_whoosh(to_document(c)))
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            writer_done.set()

    def reader(k: int):
        counts = seen.setdefault(k, [])
        try:
            while True:
                done = writer_done.is_set()
                counts.append(S.count(ix, "*"))
                res = S.search(ix, "waiver OR tag:PREL", limit=5)
                assert res.total >= 1 and len(res) <= 5
                S.facets(ix, "*", by=("tag", "year"))
                if done:
                    return
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    for counts in seen.values():
        assert counts == sorted(counts), "a later search saw fewer cables than an earlier one"
        assert counts[-1] == len(CABLES)


def _generations(root: Path):
    """A pointer file naming the live generation, as index.py keeps it; the source re-reads it."""

    def current():
        return windex.open_dir(str(root / (root / "CURRENT").read_text().strip()))

    return current


def _publish(root: Path, name: str, cables) -> None:
    (root / name).mkdir()
    build(cables, storage=FileStorage(str(root / name))).close()
    (root / "CURRENT.tmp").write_text(name)
    (root / "CURRENT.tmp").replace(root / "CURRENT")


def test_a_swapped_generation_is_followed_and_a_stream_keeps_its_snapshot(tmp_path):
    _publish(tmp_path, "gen-1", CABLES[:8])
    source = _generations(tmp_path)
    assert S.count(source, "*") == 8
    stream = S.iter_search(source, "*", sort="date", batch=2)
    first = [next(stream) for _ in range(3)]
    _publish(tmp_path, "gen-2", CABLES)
    shutil.rmtree(tmp_path / "gen-1")
    rest = list(stream)  # the open snapshot still reads the deleted generation's files
    assert len(first) + len(rest) == 8
    assert S.count(source, "*") == len(CABLES)
    assert S.search(source, "*", limit=3).total == len(CABLES)


class _Flaky:
    """A source whose first ``fails`` opens find the files gone, as during a swap."""

    def __init__(self, ix, fails: int):
        self.ix, self.fails, self.calls = ix, fails, 0

    def __call__(self):
        self.calls += 1
        if self.fails:
            self.fails -= 1
            raise FileNotFoundError("MAIN_1.toc vanished")
        return self.ix


def test_a_read_that_fails_is_retried_once_on_a_fresh_index():
    ix = build(CABLES)
    flaky = _Flaky(ix, fails=1)
    assert S.count(flaky, "*") == len(CABLES)
    assert flaky.calls == 2
    flaky = _Flaky(ix, fails=1)
    assert len(list(S.iter_search(flaky, "*"))) == len(CABLES)


def test_a_second_failure_is_an_index_state_error():
    flaky = _Flaky(build(CABLES), fails=2)
    with pytest.raises(IndexStateError):
        S.search(flaky, "*")
    with pytest.raises(IndexStateError):
        list(S.iter_search(_Flaky(build(CABLES), fails=2), "*"))
