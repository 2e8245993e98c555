"""The index folder on disk: generations, the ``CURRENT`` pointer, the build lock, leftovers.

Plain file-system code; no whoosh here. The layout of ``index/``::

    index/
      .gitkeep            (untouched; the repo tracks the folder)
      CURRENT             "gen-000003": names the live generation; replaced atomically
      .build.lock         locked (lockf) by the one build or update running; holds its pid record
      gen-000003/         the live generation: a whoosh index plus build.json, sources.marshal, skipped.tsv
      gen-000004.tmp-81/  a build in progress (pid 81); renamed to gen-000004 when complete

Why a pointer file rather than renaming folders or a symlink: the path users give (``index``)
never moves, so there is no instant at which it is missing or half-built; the swap is a single
``rename(2)`` of a one-line file, atomic on POSIX and Windows; the tracked ``index/.gitkeep`` stays;
and no symlinks are needed (Windows). A reader resolves ``CURRENT`` and opens every file of that
generation at once, so a build that swaps generations and deletes the old one afterwards does not
disturb it (POSIX keeps deleted files readable while they are open).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from .errors import BuildError, IndexNotFoundError, IndexStateError
from .render import escape_name

#: The index folder when none is given.
DEFAULT_INDEX = "index"
CURRENT = "CURRENT"
LOCK = ".build.lock"
#: What a build records about itself in each generation.
BUILD_JSON = "build.json"
#: The files a build could not read, with why (and the duplicates it dropped), in each generation.
SKIPPED_TSV = "skipped.tsv"
GEN_PREFIX = "gen-"
_GEN = re.compile(r"^gen-(\d{6,})$")
_TMP = re.compile(r"^gen-\d{6,}\.tmp-\d+(?:-\w+)?$")
_HELD: set[str] = set()
_HELD_LOCK = threading.Lock()


def generation_name(number: int) -> str:
    return f"{GEN_PREFIX}{number:06d}"


def read_current(root: Path) -> str | None:
    """The name of the live generation, or None when ``root`` holds no index yet."""
    try:
        name = (root / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except NotADirectoryError as e:
        raise IndexNotFoundError(f"{root} is a file, not an index folder") from e
    except OSError as e:
        raise IndexStateError(f"cannot read {root / CURRENT}: {e.strerror or e}") from e
    if not _GEN.match(name):
        raise IndexStateError(f"{root / CURRENT} is damaged (it says {name[:40]!r}); rebuild the index")
    return name


def live_generation(root: Path) -> Path:
    """The folder of the live generation; IndexNotFoundError when there is no index at ``root``."""
    if not root.exists():
        raise IndexNotFoundError(f"no index at {root}: build one with `cablesearch build SOURCES`")
    if not root.is_dir():
        raise IndexNotFoundError(f"{root} is not an index folder")
    name = read_current(root)
    if name is None:
        raise IndexNotFoundError(f"no index in {root} yet: build one with `cablesearch build SOURCES`")
    gen = root / name
    if not gen.is_dir():
        raise IndexStateError(f"{root / CURRENT} names {name}, which is missing; rebuild the index")
    return gen


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) readable by the user only; tighten it if it exists (the
    repo's ``index/`` folder, for one)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o700)


@dataclass(frozen=True)
class LockHolder:
    """Who holds (or held) the build lock: the record a build writes into ``.build.lock``.

    ``proc_start`` (the process's start time in clock ticks since boot, from ``/proc``) and
    ``boot_id`` tell a live holder from a later process that reused its pid.
    """

    pid: int
    action: str = "build"
    started: str = ""
    host: str = ""
    boot_id: str = ""
    proc_start: int | None = None

    def describe(self) -> str:
        """``"pid 1234, started 2026-11-27 17:01"`` (plus the host when it is not this one)."""
        parts = [f"pid {self.pid}"]
        if self.started:
            with contextlib.suppress(ValueError):
                when = datetime.fromisoformat(self.started).astimezone()
                parts.append(f"started {when:%Y-%m-%d %H:%M}")
        if self.host and self.host != socket.gethostname():
            parts.append(f"on {self.host}")
        return ", ".join(parts)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> LockHolder | None:
        """The record in ``text``; None when ``text`` is empty; a holder with pid 0 when unreadable."""
        if not text.strip():
            return None
        try:
            data = json.loads(text)
            action = _short(data.get("action"))
            return cls(int(data["pid"]), action if action in ("build", "update") else "build",
                       _short(data.get("started")), _short(data.get("host")), _short(data.get("boot_id")),
                       None if data.get("proc_start") is None else int(data["proc_start"]))
        except (ValueError, TypeError, KeyError, AttributeError):  # a record cut short by a kill
            return cls(0)


def _short(value: object) -> str:
    """A field of a lock record as text, cut to 100 characters (it is shown to users)."""
    return str(value or "")[:100]


def current_holder(action: str = "build") -> LockHolder:
    """The record of this process."""
    pid = os.getpid()
    return LockHolder(pid, action, datetime.now(UTC).isoformat(timespec="seconds"), socket.gethostname(),
                      _boot_id(), _proc_start(pid))


def holder_alive(holder: LockHolder) -> bool:
    """True when the process that wrote ``holder`` still runs (same host, same boot, same pid and
    start time). False when it is gone, or when that cannot be told (another host, no ``/proc``):
    the kernel's lock is the authority, this is only a second check."""
    if holder.pid <= 0 or holder.host != socket.gethostname() or not holder.boot_id:
        return False
    if holder.boot_id != _boot_id() or holder.proc_start is None:
        return False
    return _proc_start(holder.pid) == holder.proc_start


@contextlib.contextmanager
def build_lock(root: Path, action: str = "build") -> Iterator[LockHolder | None]:
    """Hold the index's build lock; BuildError at once when another build holds it.

    A POSIX record lock (``lockf``) on ``.build.lock``: the kernel drops it when its holder dies,
    even by SIGKILL, so a killed build never blocks the next one; and unlike ``flock`` it is not
    inherited by forked worker processes, so orphaned workers of a killed build do not hold it.

    The holder writes its :class:`LockHolder` record into the file and empties it when it is done
    (however the build ended). So a record found by the next holder is that of a build that was
    killed: it is yielded (None otherwise), for the caller to say so. A holder refused the lock
    is told who holds it. Caution: POSIX drops a process's lock when it closes *any* descriptor of
    the file, so nothing else in the holding process may open ``.build.lock``.
    """
    make_private_dir(root)
    key = os.path.realpath(root)
    with _HELD_LOCK:  # POSIX locks are per process: threads of this one are kept apart here
        if key in _HELD:
            raise BuildError(f"another build or update of {root} is running (pid {os.getpid()}, this process)")
        _HELD.add(key)
    try:
        fd = os.open(root / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                import fcntl
            except ImportError:  # pragma: no cover - Windows: no cross-process lock
                fcntl = None
            if fcntl is not None:
                try:
                    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError as e:
                    if e.errno not in (errno.EAGAIN, errno.EACCES):
                        raise  # no locks on this file system (ENOLCK): the caller says so, not "running"
                    raise BuildError(_running_message(root, _read_record(fd))) from None
            previous = _read_record(fd)
            me = current_holder(action)
            if previous is not None and (previous.pid, previous.proc_start) == (me.pid, me.proc_start):
                previous = None  # this process's own record, left by a build that could not empty it
            if previous is not None and holder_alive(previous):
                # The kernel says nobody holds the lock, yet its recorded holder runs: never clear it.
                raise BuildError(_running_message(root, previous))
            _write_record(fd, me.to_json())
            try:
                yield previous
            finally:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, 0)  # a clean end: nothing stale for the next build to report
        finally:
            os.close(fd)
    finally:
        with _HELD_LOCK:
            _HELD.discard(key)


def read_lock_holder(root: Path) -> LockHolder | None:
    """The record in ``root/.build.lock`` (for reports and tests). Do not call it in the process
    that holds the lock: closing the file would drop the lock (see :func:`build_lock`)."""
    try:
        text = (root / LOCK).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return LockHolder.from_json(text)


def _running_message(root: Path, holder: LockHolder | None) -> str:
    if holder is None or holder.pid <= 0:
        return f"another build or update of {root} is running"
    return f"another {holder.action} ({holder.describe()}) of {root} is running"


def _read_record(fd: int) -> LockHolder | None:
    try:
        data = os.pread(fd, 4096, 0)
    except OSError:
        return None
    return LockHolder.from_json(data.decode("utf-8", "replace"))


def _write_record(fd: int, text: str) -> None:
    with contextlib.suppress(OSError):  # best effort (a full disk): the lock itself is what counts
        os.ftruncate(fd, 0)
        os.pwrite(fd, text.encode("utf-8"), 0)


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def _proc_start(pid: int) -> int | None:
    """The start time of process ``pid`` (clock ticks since boot), None when it is gone, a zombie,
    or there is no ``/proc``."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if not fields or fields[0] == b"Z":
        return None
    try:
        return int(fields[19])  # field 22 of stat(5); fields[0] is field 3
    except (IndexError, ValueError):
        return None


def next_generation(root: Path) -> int:
    numbers = [int(m.group(1)) for n in _list(root) if (m := _GEN.match(n.split(".", 1)[0]))]
    return max(numbers, default=0) + 1


def new_temp_generation(root: Path, number: int, tag: str = "") -> Path:
    """A new private folder for generation ``number``; removed or published by the caller."""
    name = f"{generation_name(number)}.tmp-{os.getpid()}{'-' + tag if tag else ''}"
    path = root / name
    path.mkdir(mode=0o700)
    return path


def publish(root: Path, temp: Path, number: int) -> Path:
    """Make the complete generation in ``temp`` the live one; return its final folder.

    Order: flush the generation's files, rename the folder to its final name, write ``CURRENT.tmp``,
    flush it, rename it over ``CURRENT`` (the commit point), flush the folder. Killed before the last
    rename, the old generation stays live; after it, the new one is.
    """
    fsync_tree(temp)
    final = root / generation_name(number)
    os.rename(temp, final)
    tmp = root / f"{CURRENT}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(final.name + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, root / CURRENT)
    fsync_dir(root)
    return final


def _ours(root: Path, name: str) -> bool:
    """True for an entry of ``root`` that a build made: the pointer, the lock, a temp generation
    (its name carries the pid that made it), or a generation holding its ``build.json`` (with the
    build's format and field table). A folder merely *named* like a generation is someone else's
    and is never removed."""
    if name in (CURRENT, LOCK, ".gitkeep") or name.startswith(f"{CURRENT}.tmp-") or _TMP.match(name):
        return True
    if not _GEN.match(name):
        return False
    try:  # a build's record, not any file of that name: its format and field table
        meta = json.loads((root / name / BUILD_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and "format" in meta and "fields" in meta


def check_build_target(root: Path) -> None:
    """Refuse to build into a folder that holds something other than an index (BuildError),
    before anything in it is touched: a build would otherwise sit among the user's files, make the
    folder private, and later clear what looks like its own leftovers."""
    if not root.is_dir() or read_current(root) is not None:
        return
    foreign = [n for n in _list(root) if not _ours(root, n)]
    if foreign:
        shown = ", ".join(escape_name(n) for n in foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        entries = "entry" if len(foreign) == 1 else "entries"
        raise BuildError(f"{root} is not empty and holds no index ({len(foreign):,} other {entries}: {shown}); "
                         "build into a new or empty folder; nothing was changed")


def clean_leftovers(root: Path) -> list[str]:
    """Remove what killed builds left behind: temp generations, stale pointers, old generations.

    Only what a build made (see :func:`_ours`) is removed. Call with the build lock held.
    Returns the names removed.
    """
    live = read_current(root)
    removed = []
    for name in _list(root):
        path = root / name
        stale_gen = bool(_GEN.match(name)) and name != live and _ours(root, name)
        if _TMP.match(name) or stale_gen or name.startswith(f"{CURRENT}.tmp-"):
            if path.is_dir() and not path.is_symlink():
                _remove_generation(path)
            else:
                with contextlib.suppress(OSError):
                    path.unlink()
            removed.append(name)
    return removed


def _remove_generation(path: Path) -> None:
    """Remove a generation folder, its ``build.json`` last: killed half-way, what is left is still
    recognisably ours (see :func:`_ours`) and the next build finishes the job."""
    for entry in _list(path):
        if entry != BUILD_JSON:
            sub = path / entry
            if sub.is_dir() and not sub.is_symlink():
                shutil.rmtree(sub, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    sub.unlink()
    with contextlib.suppress(OSError):
        (path / BUILD_JSON).unlink()
    shutil.rmtree(path, ignore_errors=True)


def dir_size(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            with contextlib.suppress(OSError):
                total += os.stat(os.path.join(dirpath, f)).st_size
    return total


def write_atomic(path: Path, data: str | bytes, errors: str = "strict") -> None:
    """Write a file so that readers see the old or the new content, never a part."""
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    binary = isinstance(data, bytes)
    with open(tmp, "wb") if binary else open(tmp, "w", encoding="utf-8", errors=errors, newline="\n") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def fsync_tree(path: Path) -> None:
    """Flush every file under ``path`` and the folders themselves to disk (power-loss safety)."""
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            with contextlib.suppress(OSError):
                fd = os.open(os.path.join(dirpath, f), os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        fsync_dir(Path(dirpath))


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not supported on every platform
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _list(root: Path) -> list[str]:
    try:
        return sorted(os.listdir(root))
    except FileNotFoundError:
        return []
