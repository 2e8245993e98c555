"""The build lock (issue 8): a build that cannot get it names the process holding it; a record left
by a killed build is reported and cleared, but only when its process is gone; whoosh's own write
lock left by a killed update blocks nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_build import annotated_names, corpus

from cablesearch import build as build_module
from cablesearch import indexdir
from cablesearch.build import BuildNotice, build_index
from cablesearch.errors import BuildError
from cablesearch.index import open_index

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX locks and signals")

ROOT = Path(__file__).resolve().parent.parent
HAS_PROC = Path("/proc/self/stat").exists()

# Takes the build lock of argv[1] as argv[2] ("build" or "update"), says so, then either waits for a
# line on stdin and ends cleanly, or (argv[3] == "die") leaves a temp generation and SIGKILLs itself.
HOLDER = r"""
import os, signal, sys
sys.path.insert(0, sys.argv[4])
from pathlib import Path
from cablesearch import indexdir
root = Path(sys.argv[1])
with indexdir.build_lock(root, sys.argv[2]):
    print("holding", os.getpid(), flush=True)
    if sys.argv[3] == "die":
        (root / f"gen-000099.tmp-{os.getpid()}").mkdir()
        os.kill(os.getpid(), signal.SIGKILL)
    sys.stdin.readline()
print("released", flush=True)
"""


def _holder(tmp_path: Path, root: Path, action: str, how: str) -> tuple[subprocess.Popen[str], int]:
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)
    proc = subprocess.Popen([sys.executable, str(script), str(root), action, how, str(ROOT)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().split()
    assert line[:1] == ["holding"], line
    return proc, int(line[1])


def _cli_build(root: Path, src: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CABLESEARCH_INDEX"}
    cmd = [sys.executable, "-m", "cablesearch", "build", str(src), "--index", str(root), "--jobs", "1", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, env={**env, "PYTHONPATH": str(ROOT)}, timeout=120)


@pytest.fixture()
def small(fixture_cables, tmp_path) -> tuple[Path, Path, int]:
    """A built index of four cables and its source folder."""
    src = corpus(fixture_cables, tmp_path / "src", annotated_names(fixture_cables, 4))
    root = tmp_path / "index"
    report = build_index([src], root, jobs=1)
    return root, src, report.indexed


def test_a_build_ended_cleanly_leaves_no_record(small):
    root, src, _ = small
    assert (root / indexdir.LOCK).read_text() == ""
    with pytest.raises(BuildError):
        build_index([src / "nope"], root, jobs=1)  # a failed build ends cleanly too
    assert (root / indexdir.LOCK).read_text() == ""
    assert indexdir.read_lock_holder(root) is None


@pytest.mark.parametrize("action", ["build", "update"])
def test_a_live_holder_refuses_other_builds_and_is_named(small, tmp_path, action):
    root, src, count = small
    proc, pid = _holder(tmp_path, root, action, "wait")
    try:
        record = indexdir.read_lock_holder(root)
        assert record is not None and record.pid == pid and record.action == action
        assert record.describe() == f"pid {pid}, started {time.strftime('%Y-%m-%d %H:%M', time.localtime())}" \
            or time.localtime().tm_sec < 2  # (the minute may just have turned)
        with pytest.raises(BuildError) as info:
            build_index([src], root, jobs=1, update=True)
        msg = str(info.value)
        assert msg == f"another {action} (pid {pid}, started {record.describe().split('started ')[1]}) of {root} " \
                      "is running"
        done = _cli_build(root, src, "--update")
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert done.stderr.strip() == f"cablesearch: {msg}"
        # The refused builds changed nothing, and the holder's record is still there.
        assert indexdir.read_lock_holder(root) == record
        with open_index(root) as ix:
            assert ix.doc_count() == count
    finally:
        proc.communicate("go\n", timeout=30)
    assert proc.returncode == 0
    assert indexdir.read_lock_holder(root) is None  # emptied by the clean end
    done = _cli_build(root, src)
    assert done.returncode == 0, done.stderr
    assert "killed" not in done.stderr  # a holder that ended cleanly is not reported


@pytest.mark.parametrize("action", ["build", "update"])
def test_a_killed_holders_lock_is_cleared_with_a_message(small, tmp_path, action):
    root, src, count = small
    proc, pid = _holder(tmp_path, root, action, "die")
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    record = indexdir.read_lock_holder(root)
    assert record is not None and record.pid == pid  # left behind by the kill
    with open_index(root) as ix:  # readers never cared
        assert ix.doc_count() == count
    done = _cli_build(root, src, "--update")
    assert done.returncode == 0, done.stderr
    started = record.describe().split("started ", 1)[1]
    assert (f"cablesearch: a previous {action} (pid {pid}, started {started}) of {root} was killed; its lock is "
            f"cleared and its leftovers removed (gen-000099.tmp-{pid})\n") in done.stderr
    assert indexdir.read_lock_holder(root) is None
    assert not any(".tmp" in n for n in os.listdir(root))
    again = _cli_build(root, src, "--update")  # reported once, not again
    assert again.returncode == 0 and "killed" not in again.stderr


def test_the_python_api_gets_the_message_as_a_progress_event(small, tmp_path):
    root, src, _ = small
    proc, pid = _holder(tmp_path, root, "build", "die")
    proc.wait(timeout=30)
    events = []
    report = build_index([src], root, jobs=1, progress=events.append)
    notices = [e for e in events if isinstance(e, BuildNotice)]
    assert len(notices) == 1 and notices[0].phase == "recovered"
    assert notices[0].message.startswith(f"a previous build (pid {pid}, started ")
    assert f"leftovers removed (gen-000099.tmp-{pid})" in notices[0].message
    assert report.notes == [notices[0].message]  # for callers without a progress callback too
    assert report.to_dict()["notes"] == report.notes


@pytest.mark.skipif(not HAS_PROC, reason="tells a live process from a reused pid with /proc")
def test_a_record_whose_process_is_alive_is_never_cleared(small, tmp_path):
    """Belt and braces: the kernel says nobody holds the lock, but the process named in the record
    still runs (same pid, same start time): the build refuses rather than clear its lock."""
    root, src, count = small
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(0.1)
        holder = indexdir.current_holder("update")
        alive = indexdir.LockHolder(sleeper.pid, "update", holder.started, holder.host, holder.boot_id,
                                    indexdir._proc_start(sleeper.pid))
        assert indexdir.holder_alive(alive)
        (root / indexdir.LOCK).write_text(alive.to_json())
        leftover = root / f"gen-000099.tmp-{sleeper.pid}"
        leftover.mkdir()
        with pytest.raises(BuildError, match=rf"^another update \(pid {sleeper.pid}, started .*\) of .* is running$"):
            build_index([src], root, jobs=1)
        assert leftover.is_dir() and indexdir.read_lock_holder(root) == alive
        # The same pid with another start time is a later process that reused it: the holder is gone.
        reused = indexdir.LockHolder(**{**json.loads(alive.to_json()), "proc_start": alive.proc_start - 1})
        assert not indexdir.holder_alive(reused)
        (root / indexdir.LOCK).write_text(reused.to_json())
        events: list = []
        build_index([src], root, jobs=1, progress=events.append)
        assert any(isinstance(e, BuildNotice) and f"pid {sleeper.pid}" in e.message for e in events)
        assert not leftover.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    with open_index(root) as ix:
        assert ix.doc_count() == count


def test_a_torn_record_is_cleared_too(small):
    root, src, _ = small
    (root / indexdir.LOCK).write_text('{"pid": 12')  # killed while writing its record
    events: list = []
    build_index([src], root, jobs=1, progress=events.append)
    messages = [e.message for e in events if isinstance(e, BuildNotice)]
    assert messages == [f"a previous build of {root} was killed; its lock is cleared and it left nothing else behind"]


def test_whoosh_write_lock_left_by_a_killed_update_blocks_nothing(small, tmp_path, monkeypatch):
    """whoosh's MAIN_WRITELOCK is an flock: the kernel drops it when its holder dies, so the file a
    killed update leaves in the live generation blocks no later update; a writer that is alive is
    a BuildError (no traceback), not a wait forever."""
    root, src, count = small
    gen = indexdir.live_generation(root)
    script = tmp_path / "writer.py"
    script.write_text("import os, signal, sys\nsys.path.insert(0, sys.argv[2])\n"
                      "from cablesearch.engine import open_whoosh\n"
                      "w = open_whoosh(sys.argv[1]).writer()\nprint('locked', flush=True)\n"
                      "if sys.argv[3] == 'die':\n    os.kill(os.getpid(), signal.SIGKILL)\nsys.stdin.readline()\n")
    proc = subprocess.Popen([sys.executable, str(script), str(gen), str(ROOT), "die"],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    proc.wait(timeout=30)
    proc.stdout.close()
    assert (gen / "MAIN_WRITELOCK").exists()
    started = time.monotonic()
    report = build_index([src], root, jobs=1, update=True)
    assert report.unchanged == count and time.monotonic() - started < 5
    # A live writer: the update gives up after WRITER_TIMEOUT with a message.
    monkeypatch.setattr(build_module, "WRITER_TIMEOUT", 0.3)
    with open(sorted(src.glob("*.txt"))[0], "a", encoding="utf-8") as fh:
        fh.write("\nZanzibarquux .\n")  # something to write
    proc = subprocess.Popen([sys.executable, str(script), str(gen), str(ROOT), "wait"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(BuildError, match="being written by another program"):
            build_index([src], root, jobs=1, update=True)
    finally:
        proc.communicate("go\n", timeout=30)
    with open_index(root) as ix:
        assert ix.doc_count() == count


def test_a_file_system_without_locks_is_not_called_a_running_build(small, monkeypatch):
    import errno
    import fcntl

    root, src, count = small

    def no_locks(*_a):
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(fcntl, "lockf", no_locks)
    with pytest.raises(BuildError) as info:
        build_index([src], root, jobs=1)
    assert str(info.value) == (f"cannot build the index in {root}: {os.strerror(errno.ENOLCK)}; "
                               "the previous index is unchanged")
    monkeypatch.undo()
    with open_index(root) as ix:
        assert ix.doc_count() == count
