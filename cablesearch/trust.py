"""Index trust: refuse to open an index folder someone else could have written.

whoosh keeps its table of contents and stored fields as pickles, and unpickling runs code; so an
index is only as trustworthy as whoever could write it. Like ssh with its keys, cablesearch opens
an index only when the index folder, its live generation folder, the ``CURRENT`` pointer and every
file in the generation are owned by the current user (or root) and cannot be written by anyone
else (see :func:`check_index_trust` for the exact rule). Otherwise it raises
:class:`UnsafeIndexError`, unless trust is given explicitly: ``open_index(path, trust=True)``
(the CLI's ``--trust-index``) or ``CABLESEARCH_TRUST_INDEX=1``.

Checked with ``stat`` (symlinks followed: what counts is what would be read). No check on
platforms without POSIX ownership (Windows).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import UnsafeIndexError

#: Set to 1 (or true/yes) to open indexes that fail the check.
TRUST_ENV = "CABLESEARCH_TRUST_INDEX"

_CURRENT = "CURRENT"  # indexdir.CURRENT; kept here so this module stands alone


def trusted_by_env() -> bool:
    """True when ``CABLESEARCH_TRUST_INDEX`` says to trust every index."""
    return os.environ.get(TRUST_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def check_index_trust(root: Path, generation: Path) -> None:
    """Raise UnsafeIndexError unless ``root``, ``generation``, ``root/CURRENT`` and every entry
    of ``generation`` are owned by this user (or root) and cannot be written by anyone else.

    The two folders must not be writable by group or others. A file's group (others) write bit
    counts only when the group (others) can reach the file, i.e. may search both folders: the
    build makes them 0700, so a file left group-writable by a umask of 002 cannot be changed by
    anyone else and is accepted. Entries that vanish while being checked (a concurrent commit)
    are skipped; ``root`` or ``generation`` vanishing raises the OSError (the caller retries).
    """
    geteuid = getattr(os, "geteuid", None)
    if geteuid is None:  # pragma: no cover - Windows: no POSIX owner or mode bits
        return
    me = geteuid()
    root_st = os.stat(root)
    _check(root, root_st, me, root, _WRITE)
    gen_st = os.stat(generation)
    _check(generation, gen_st, me, root, _WRITE)
    _check_file(root / _CURRENT, me, root, _writers(root_st.st_mode))
    writers = _writers(root_st.st_mode & gen_st.st_mode)
    for dirpath, dirs, files in os.walk(generation):
        for name in (*dirs, *files):
            _check_file(Path(dirpath) / name, me, root, writers)


_WRITE = stat.S_IWGRP | stat.S_IWOTH


def _writers(search_mode: int) -> int:
    """The write bits that matter below folders whose combined mode is ``search_mode``."""
    return ((stat.S_IWGRP if search_mode & stat.S_IXGRP else 0)
            | (stat.S_IWOTH if search_mode & stat.S_IXOTH else 0))


def _check_file(path: Path, me: int, root: Path, bits: int) -> None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    _check(path, st, me, root, _WRITE if stat.S_ISDIR(st.st_mode) else bits)


def _check(path: Path, st: os.stat_result, me: int, root: Path, bits: int) -> None:
    fix_mode = f"chmod 700 {path}" if stat.S_ISDIR(st.st_mode) else f"chmod -R go-w {root}"
    if st.st_uid not in (me, 0):
        raise UnsafeIndexError(
            f"refusing to open the index in {root}: {path} is owned by uid {st.st_uid}, not by you "
            f"(uid {me}); an index can run code when opened, so only your own is trusted. "
            f"Rebuild it yourself (`cablesearch build SOURCES --index {root}`), or, if you made it, "
            f"pass --trust-index (or set {TRUST_ENV}=1)")
    if st.st_mode & bits:
        bad = st.st_mode & bits
        who = " and ".join(w for w, bit in (("group", stat.S_IWGRP), ("others", stat.S_IWOTH)) if bad & bit)
        raise UnsafeIndexError(
            f"refusing to open the index in {root}: {path} is writable by {who} "
            f"(mode {stat.S_IMODE(st.st_mode):04o}); an index can run code when opened. "
            f"Fix it with `{fix_mode}` (or rebuild it yourself), or, if you made it, "
            f"pass --trust-index (or set {TRUST_ENV}=1)")


__all__ = ["TRUST_ENV", "check_index_trust", "trusted_by_env"]
