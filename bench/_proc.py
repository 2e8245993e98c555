"""Run a command and measure it: wall time and the peak resident size of its whole process tree.

The tree RSS is sampled from /proc every 50 ms: the sum of the resident sizes of the process and
every descendant (build workers included), i.e. what the machine must hold at once. Linux only.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        p = int(entry)
        children.setdefault(int(fields[1]), []).append(p)
        rss[p] = int(fields[21]) * PAGE
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += rss.get(p, 0)
        stack.extend(children.get(p, ()))
    return total


@dataclass
class Measured:
    argv: list[str]
    returncode: int
    seconds: float
    peak_rss: int
    stdout: str
    stderr: str
    #: CPU seconds (user + system) of the process and every descendant it waited for.
    cpu: float = 0.0

    @property
    def command(self) -> str:
        return " ".join(self.argv)


def measure(argv: list[str], *, env: dict[str, str] | None = None, cwd: str | None = None,
            interval: float = 0.05) -> Measured:
    """Run ``argv`` to its end; its wall time and peak tree RSS. Output is captured."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, tree_rss(proc.pid))
            stop.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - t0
    stop.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return Measured(argv, proc.returncode, seconds, peak, out, err, cpu)


def bench_env(work: Path) -> dict[str, str]:
    """The environment for the measured commands: bytecode cached in the work folder (as after an
    install), so start-up is not recompiling (this machine sets PYTHONDONTWRITEBYTECODE)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    env["XDG_DATA_HOME"] = str(work / "xdg")  # the shell's history goes here, not to ~/.local/share
    env.pop("CABLESEARCH_INDEX", None)
    return env


def cablesearch_argv(*args: str) -> list[str]:
    """The ``cablesearch`` console script of this venv (the user's command), with ``args``."""
    script = Path(sys.executable).parent / "cablesearch"
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "cablesearch", *args]


def dir_size(path: Path) -> int:
    """Bytes of every file under ``path`` (apparent sizes)."""
    total = 0
    for d, _dirs, names in os.walk(path):
        for n in names:
            try:
                total += os.path.getsize(os.path.join(d, n))
            except OSError:
                pass
    return total


def files_and_size(corpus: Path) -> tuple[int, int]:
    """Cable files under ``corpus`` and their total size."""
    files = size = 0
    for d, _dirs, names in os.walk(corpus):
        for n in names:
            if n.endswith(".txt"):
                files += 1
                size += os.path.getsize(os.path.join(d, n))
    return files, size


def load() -> str:
    """The 1/5/15-minute load averages, e.g. ``4.1 4.3 3.9``."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def check(m: Measured, what: str) -> None:
    if m.returncode not in (0,):
        tail = (m.stderr or m.stdout)[-2000:]
        raise SystemExit(f"{what} failed (exit {m.returncode}): {m.command}\n{tail}")


__all__ = ["Measured", "bench_env", "cablesearch_argv", "check", "dir_size", "files_and_size", "load", "measure",
           "tree_rss"]
