"""Concurrency with processes (issue 8): 4 processes search the index in a loop while a full rebuild
and then an update run on it. No search fails, and every one is answered from a complete index:
its count, stored keys and query results equal, all of them, those of the index before the
rebuild, after it, or after the update; each process sees them in that order.

(tests/test_search_concurrency.py does the same with threads inside one process.)
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from test_crash_kill import WORD, Sources, answers

from cablesearch.build import build_index

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file semantics under readers")

SEARCHERS = 4


def search_loop(root: str, expected: list[dict[str, Any]], stop: Any, counter: Any, out: str) -> None:
    """Ask ``answers()`` of a freshly opened index again and again until ``stop``; write to ``out``
    one ``(started, ended, state)`` per search (``state``: the index of the expected answers it
    equals, or -1), the answers that matched none, and the errors."""
    searches: list[tuple[float, float, int]] = []
    odd: list[Any] = []
    errors: list[str] = []
    while not stop.is_set():
        started = time.time()
        try:
            now = answers(Path(root))
        except Exception as e:
            errors.append(f"{type(e).__name__}: {e}")
            now = None
        state = next((i for i, e in enumerate(expected) if now == e), -1)
        if now is not None and state < 0:
            odd.append(now)
        searches.append((started, time.time(), state))
        with counter.get_lock():
            counter.value += 1
    with open(out, "wb") as fh:
        pickle.dump((searches, odd, errors), fh)


def _wait_for(counters: list[Any], at_least: list[int], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while any(c.value < n for c, n in zip(counters, at_least, strict=True)):
        assert time.monotonic() < deadline, "the searchers stopped searching"
        time.sleep(0.02)


def test_four_processes_search_while_a_rebuild_and_an_update_run(fixture_cables, tmp_path):
    sources = Sources(fixture_cables, tmp_path)
    spare = sorted(p.name for p in (fixture_cables / "annotated").glob("*.txt"))[-1]
    assert spare not in sources.files["A"] | sources.files["B"]

    def state_c() -> None:  # B, then an update: one cable changed again, one removed, one added
        src = sources.src
        names = sorted(sources.files["B"])
        with open(src / names[0], "a", encoding="utf-8") as fh:
            fh.write(f"\n{WORD} .\n")
        (src / names[1]).unlink()
        shutil.copy2(fixture_cables / "annotated" / spare, src / spare)

    expected = []
    for i, make in enumerate((lambda: sources.switch("A"), lambda: sources.switch("B"), state_c)):
        make()
        expected.append(answers(Path(build_index([sources.src], tmp_path / f"ref-{i}", jobs=1).path)))
    assert len({repr(e) for e in expected}) == 3
    root = tmp_path / "index"
    (sources.src / spare).unlink()
    sources.switch("A")
    build_index([sources.src], root, jobs=1)

    ctx = multiprocessing.get_context("spawn")  # no fork: other tests' threads may hold locks
    stop = ctx.Event()
    counters = [ctx.Value("i", 0) for _ in range(SEARCHERS)]
    outs = [tmp_path / f"searcher-{k}.pickle" for k in range(SEARCHERS)]
    procs = [ctx.Process(target=search_loop, args=(str(root), expected, stop, counters[k], str(outs[k])))
             for k in range(SEARCHERS)]
    for p in procs:
        p.start()
    windows = []
    try:
        _wait_for(counters, [1] * SEARCHERS)
        sources.switch("B")
        windows.append((time.time(), "rebuild"))
        report = build_index([sources.src], root, jobs=2)
        windows[-1] = (windows[-1][0], time.time(), "rebuild")
        assert not report.update
        _wait_for(counters, [c.value + 2 for c in counters])  # every searcher sees the rebuilt index
        state_c()
        started = time.time()
        report = build_index([sources.src], root, jobs=2, update=True)
        windows.append((started, time.time(), "update"))
        assert report.update and (report.added, report.replaced, report.removed) == (1, 1, 1)
        _wait_for(counters, [c.value + 2 for c in counters])
    finally:
        stop.set()
        for p in procs:
            p.join(60)
            if p.is_alive():  # pragma: no cover - only when the test already failed
                p.kill()
    assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]

    during = {name: 0 for _s, _e, name in windows}
    for k, out in enumerate(outs):
        searches, odd, errors = pickle.loads(out.read_bytes())
        assert not errors, f"searcher {k}: {errors[:5]}"
        assert not odd, f"searcher {k}: {len(odd)} answers from no complete index, e.g. {odd[0]}"
        seen = [state for _s, _e, state in searches]
        assert seen == sorted(seen), f"searcher {k} went back to an older index: {seen}"
        assert seen[0] == 0 and seen[-1] == 2 and 1 in seen, seen
        for s, e, _state in searches:
            for start, end, name in windows:
                during[name] += s < end and e > start
    # The searches really ran while the index was being rebuilt and updated.
    assert all(n > 0 for n in during.values()), during
    print(f"\n{sum(c.value for c in counters)} searches by {SEARCHERS} processes; during: {during}; "
          f"rebuild {windows[0][1] - windows[0][0]:.2f} s, update {windows[1][1] - windows[1][0]:.2f} s")
    assert os.listdir(root)  # (the index is still there for a post-mortem when this fails)
