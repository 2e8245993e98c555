"""SIGKILL a build or an update at several moments: the previous index keeps answering with its old
count and contents, the orphaned workers stop by themselves, the next run cleans up and succeeds."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_build import annotated_names, corpus
from test_build_update import WORD, hits, manifest_ref

from cablesearch.build import build_index
from cablesearch.index import current_whoosh_index, open_index

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

ROOT = Path(__file__).resolve().parent.parent

# Runs a build in a child process; progress lines say the phase and the worker pids; at the phase
# to stall in, the build sleeps in its progress callback so the test can kill it right there.
SCRIPT = r"""
import multiprocessing, sys, time

def progress(ev):
    kids = " ".join(str(p.pid) for p in multiprocessing.active_children())
    print(ev.phase, ev.done, "pids", kids, flush=True)
    if ev.phase == sys.argv[4]:
        time.sleep(300)

if __name__ == "__main__":  # (spawn and forkserver start methods import this file in the workers)
    sys.path.insert(0, sys.argv[1])
    import cablesearch.build as B
    B.build_index([sys.argv[3]], sys.argv[2], jobs=2, progress=progress, update=sys.argv[5] == "1")
    print("finished", flush=True)
"""


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True
    except OSError:  # pragma: no cover - no /proc: fall back to a signal 0 probe
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False


def run_and_kill(tmp_path: Path, root: Path, src: Path, stall: str, update: bool) -> list[int]:
    script = tmp_path / "build_then_stall.py"
    script.write_text(SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script), str(ROOT), str(root), str(src), stall, str(int(update))],
                            stdout=subprocess.PIPE, text=True)
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        for line in proc.stdout:
            phase, _done, _pids, *kids = line.split()
            workers.update(int(k) for k in kids)
            if phase == stall:
                break
            assert phase != "finished" and time.monotonic() < deadline
        else:
            pytest.fail(f"the build never reached {stall!r}")
    finally:
        proc.kill()  # SIGKILL, at the moment the build reached `stall`
        proc.wait(timeout=30)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    return sorted(workers)


@pytest.mark.parametrize("stall", ["indexing", "merging"])
def test_a_killed_build_leaves_the_old_index_usable(fixture_cables, tmp_path, stall):
    src = corpus(fixture_cables, tmp_path / "src", annotated_names(fixture_cables, 6))
    root = tmp_path / "index"
    old = build_index([src], root, jobs=1)
    bigger = corpus(fixture_cables, tmp_path / "all")
    workers = run_and_kill(tmp_path, root, bigger, stall, update=False)
    assert len(workers) == 2
    assert any(".tmp-" in n for n in os.listdir(root))  # the killed build's leftovers
    with open_index(root) as ix:
        assert ix.doc_count() == old.indexed
        assert ix.generation.name == old.generation
        assert all(ix.get(manifest_ref(src, n)) is not None for n in annotated_names(fixture_cables, 6))
    deadline = time.monotonic() + 15
    while not all(_gone(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(_gone(p) for p in workers), "orphaned build workers did not stop"
    new = build_index([bigger], root, jobs=2)
    assert not any(".tmp" in n for n in os.listdir(root))
    with open_index(root) as ix:
        assert ix.doc_count() == new.indexed > old.indexed


@pytest.mark.parametrize("stall", ["indexing", "merging"])
def test_a_killed_update_leaves_the_old_generation_readable(fixture_cables, tmp_path, stall):
    names = annotated_names(fixture_cables, 12)
    src = corpus(fixture_cables, tmp_path / "src", names[:10])
    root = tmp_path / "index"
    old = build_index([src], root, jobs=2)
    with open(src / names[0], "a", encoding="utf-8") as fh:
        fh.write(f"\n{WORD} .\n")
    (src / names[1]).unlink()
    for n in names[10:]:
        shutil.copy2(fixture_cables / "annotated" / n, src / n)
    run_and_kill(tmp_path, root, src, stall, update=True)
    with open_index(root) as ix:
        assert ix.doc_count() == old.indexed == 10
        assert ix.get(manifest_ref(src, names[1])) is not None  # deleted file: still in the old index
        assert ix.get(manifest_ref(src, names[10])) is None  # new file: not yet
    assert hits(root, WORD) == set()
    report = build_index([src], root, jobs=2, update=True)
    assert (report.added, report.replaced, report.removed, report.unchanged) == (2, 1, 1, 8)
    assert hits(root, WORD) == {manifest_ref(src, names[0])}
    with open_index(root) as ix:
        assert ix.doc_count() == 11
    assert not any(".tmp" in n for n in os.listdir(root))
    # Segment files the killed update had moved in (listed nowhere) were removed by the commit.
    listed = {s.segment_id() for s in current_whoosh_index(root)._segments()}
    on_disk = {n.split(".")[0] for n in os.listdir(root / old.generation) if n.startswith("MAIN_") and "." in n}
    assert on_disk == listed
