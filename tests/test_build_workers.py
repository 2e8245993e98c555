"""The worker pool of a build: an update's pool takes one more worker only when the queue backs up."""

from __future__ import annotations

from pathlib import Path

import pytest

from cablesearch.buildworkers import WRITTEN, ProcessRunner, Task
from cablesearch.sources import discover


@pytest.fixture
def raws(fixture_cables: Path) -> list:
    out = list(discover([fixture_cables / "annotated"]))
    assert len(out) >= 20
    return out


def _run(runner: ProcessRunner, tasks: list[Task]) -> tuple[list, list]:
    try:
        results = list(runner.run(iter(tasks)))
        return results, runner.finish()
    except BaseException:
        runner.abort()
        raise


def test_a_ramped_pool_that_keeps_up_writes_one_segment(raws, tmp_path):
    """Three tasks never fill the queue (it holds four): the first worker takes them all, and the
    second, told to stop without a task, leaves nothing behind."""
    runner = ProcessRunner(2, tmp_path / "work", ramp=True)
    assert runner.active == 1
    tasks = [Task(i, ((i + 1, raw, None),)) for i, raw in enumerate(raws[:3])]
    results, outputs = _run(runner, tasks)
    assert sorted(r.task for r in results) == [0, 1, 2]
    assert {r.worker for r in results} == {0}
    assert [(o.worker, o.written) for o in outputs] == [(0, 3)]
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == ["w0"]


def test_a_ramped_pool_takes_the_next_worker_when_the_queue_stays_full(raws, tmp_path):
    runner = ProcessRunner(2, tmp_path / "work", ramp=True)
    runner.put_wait = 0.001  # a full queue for a millisecond: the first worker is behind
    tasks = [Task(i, tuple((10 * i + j + 1, raw, None) for j, raw in enumerate(raws[i:i + 3]))) for i in range(12)]
    results, outputs = _run(runner, tasks)
    assert runner.active == 2
    assert sorted(r.task for r in results) == list(range(12))
    assert {r.worker for r in results} == {0, 1}
    items = [item for r in results for item in r.items]
    assert len(items) == 36 and {item.status for item in items} == {WRITTEN}
    # every cable written is in the segment of the worker that wrote it
    assert sorted((o.worker, o.written) for o in outputs) == sorted(
        (w, sum(len(r.items) for r in results if r.worker == w)) for w in (0, 1))


def test_a_pool_without_ramp_starts_every_worker(tmp_path):
    runner = ProcessRunner(2, tmp_path / "work")
    try:
        assert runner.active == 2
    finally:
        runner.finish()
