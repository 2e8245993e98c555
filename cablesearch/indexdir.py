"""The index folder on disk: generations, the ``CURRENT`` pointer, the build lock, leftovers.

Plain file-system code; no whoosh here. The layout of ``index/``::

    index/
      .gitkeep            (untouched; the repo tracks the folder)
      CURRENT             "gen-000003": names the live generation; replaced atomically
      .build.lock         locked (lockf) by the one build or update running
      gen-000003/         the live generation: a whoosh index plus build.json, sources.jsonl, skipped.tsv
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
import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

from .errors import BuildError, IndexNotFoundError, IndexStateError

CURRENT = "CURRENT"
LOCK = ".build.lock"
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


@contextlib.contextmanager
def build_lock(root: Path) -> Iterator[None]:
    """Hold the index's build lock; BuildError at once when another build holds it.

    A POSIX record lock (``lockf``) on ``.build.lock``: the kernel drops it when its holder dies,
    even by SIGKILL, so a killed build never blocks the next one; and unlike ``flock`` it is not
    inherited by forked worker processes, so orphaned workers of a killed build do not hold it.
    """
    make_private_dir(root)
    key = os.path.realpath(root)
    with _HELD_LOCK:  # POSIX locks are per process: threads of this one are kept apart here
        if key in _HELD:
            raise BuildError(f"another build or update of {root} is running")
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
                except OSError:
                    raise BuildError(f"another build or update of {root} is running") from None
            yield
        finally:
            os.close(fd)
    finally:
        with _HELD_LOCK:
            _HELD.discard(key)


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


def clean_leftovers(root: Path) -> list[str]:
    """Remove what killed builds left behind: temp generations, stale pointers, old generations.

    Call with the build lock held. Returns the names removed.
    """
    live = read_current(root)
    removed = []
    for name in _list(root):
        path = root / name
        stale_gen = bool(_GEN.match(name)) and name != live
        if _TMP.match(name) or stale_gen or name.startswith(f"{CURRENT}.tmp-"):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    path.unlink()
            removed.append(name)
    return removed


def dir_size(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            with contextlib.suppress(OSError):
                total += os.stat(os.path.join(dirpath, f)).st_size
    return total


def write_atomic(path: Path, data: str, errors: str = "strict") -> None:
    """Write a small file so that readers see the old or the new content, never a part."""
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8", errors=errors, newline="\n") as fh:
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
