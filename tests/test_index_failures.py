"""A missing index, a read-only place and a full disk: clear errors, exit code 2, no traceback,
and the previous index intact and still answering.

Tests run as root here, where permission bits are not enforced, so a read-only folder or a full
disk is simulated in-process (``jobs=1``) by making the file-system calls of the build fail with
the errno the kernel would give.
"""

from __future__ import annotations

import errno
import multiprocessing
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from whoosh.filedb.filestore import FileStorage

from cablesearch import indexdir, segwriter
from cablesearch.build import build_index
from cablesearch.errors import BuildError, CablesearchError, IndexNotFoundError
from cablesearch.index import open_index

ROOT = Path(__file__).resolve().parent.parent


def _count(path: Path) -> int:
    with open_index(path) as ix:
        return ix.doc_count()


def _oserror(code: int, filename: object = None) -> OSError:
    return OSError(code, os.strerror(code), None if filename is None else os.fspath(filename))


def _fail_under(root: Path, code: int, real):
    """A stand-in for ``real`` (os.mkdir / os.open / open) that fails for paths under ``root``."""
    prefix = os.fspath(root)

    def fake(path, *args, **kwargs):
        if os.fspath(path).startswith(prefix):
            raise _oserror(code, path)
        return real(path, *args, **kwargs)

    return fake


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cablesearch", *args], capture_output=True, text=True,
                          env=env or _env(), cwd=ROOT, timeout=120)


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("CABLESEARCH_INDEX", "CABLESEARCH_TRUST_INDEX")}


# --------------------------------------------------------------------------- missing


def test_a_missing_index_says_how_to_build_one(tmp_path):
    with pytest.raises(IndexNotFoundError, match=r"no index at .*: build one with `cablesearch build SOURCES`"):
        open_index(tmp_path / "nowhere")
    done = _cli("stats", "--index", str(tmp_path / "nowhere"))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "no index at" in done.stderr and "cablesearch build" in done.stderr
    done = _cli("search", "--index", str(tmp_path / "nowhere"), "embassy")
    assert done.returncode == 2 and "Traceback" not in done.stderr and "cablesearch build" in done.stderr


# --------------------------------------------------------------------------- read-only


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES])
def test_building_where_no_folder_can_be_made_is_a_build_error(tmp_path, fixture_cables, monkeypatch, code):
    root = tmp_path / "ro" / "index"
    monkeypatch.setattr(os, "mkdir", _fail_under(tmp_path / "ro", code, os.mkdir))
    with pytest.raises(BuildError) as info:
        build_index([str(fixture_cables)], root, jobs=1)
    msg = str(info.value)
    assert f"cannot build the index in {root}" in msg and os.strerror(code) in msg
    assert isinstance(info.value, CablesearchError)


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES])
@pytest.mark.parametrize("call", ["mkdir", "open"])
def test_a_read_only_index_keeps_the_previous_one(index_copy, fixture_cables, monkeypatch, code, call):
    before = _count(index_copy)
    live = indexdir.read_current(index_copy)
    with monkeypatch.context() as m:
        if call == "mkdir":  # the new generation folder
            m.setattr(os, "mkdir", _fail_under(index_copy, code, os.mkdir))
        else:  # the lock file, and any file the build would create
            m.setattr(os, "open", _fail_under(index_copy, code, os.open))
        with pytest.raises(BuildError, match=rf"cannot build the index in .*{os.strerror(code)}.*unchanged"):
            build_index([str(fixture_cables)], index_copy, jobs=1)
    assert indexdir.read_current(index_copy) == live
    assert _count(index_copy) == before > 0


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores permission bits")
def test_a_really_read_only_parent(tmp_path, fixture_cables):  # pragma: no cover - not run as root
    parent = tmp_path / "ro"
    parent.mkdir()
    os.chmod(parent, 0o500)
    try:
        with pytest.raises(BuildError, match="cannot build the index"):
            build_index([str(fixture_cables)], parent / "index", jobs=1)
    finally:
        os.chmod(parent, 0o700)


# --------------------------------------------------------------------------- disk full


def _full_on_segment_file(m: pytest.MonkeyPatch) -> None:
    """whoosh creating a segment or table-of-contents file: the third one fails."""
    real = FileStorage.create_file
    calls = {"n": 0}

    def create_file(self, name, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] >= 3:
            raise _oserror(errno.ENOSPC, os.path.join(self.folder, name))
        return real(self, name, *args, **kwargs)

    m.setattr(FileStorage, "create_file", create_file)


def _full_on_posting_spill(m: pytest.MonkeyPatch) -> None:
    """The posting pool spilling a sorted run to disk (the build runs with limitmb=1)."""
    def write_run(self, f, items):
        raise _oserror(errno.ENOSPC, getattr(f, "name", "run"))

    m.setattr(segwriter.TermPool, "_write_run", write_run)


def _full_on_metadata(m: pytest.MonkeyPatch) -> None:
    """Writing build.json / skipped.tsv / CURRENT (indexdir's small files)."""
    def no_space(path, *args, **kwargs):
        raise _oserror(errno.ENOSPC, path)

    m.setattr(indexdir, "open", no_space, raising=False)


def _one_more_source(index_copy: Path, fixture_cables: Path) -> list[str]:
    """Sources for an update that has something to do: the fixture cables and one changed copy."""
    extra = index_copy.parent / "extra"
    extra.mkdir()
    sample = next(p for p in sorted((fixture_cables / "annotated").iterdir()) if p.is_file())
    (extra / sample.name).write_bytes(sample.read_bytes().replace(b"\n", b"\n\n", 1))
    return [str(fixture_cables), str(extra)]


@pytest.mark.parametrize(("where", "update"), [
    (_full_on_segment_file, False), (_full_on_posting_spill, False), (_full_on_metadata, False),
    (_full_on_segment_file, True),  # an update of one cable never spills postings; metadata: below
])
def test_a_full_disk_is_a_build_error_and_keeps_the_previous_index(index_copy, fixture_cables, monkeypatch,
                                                                  where, update):
    before = _count(index_copy)
    live = indexdir.read_current(index_copy)
    sources = _one_more_source(index_copy, fixture_cables) if update else [str(fixture_cables)]
    with monkeypatch.context() as m:
        where(m)
        with pytest.raises(BuildError, match=rf"{os.strerror(errno.ENOSPC)}.*unchanged"):
            build_index(sources, index_copy, jobs=1, update=update, limitmb=1)
    assert indexdir.read_current(index_copy) == live
    assert _count(index_copy) == before > 0
    # The next build works and leaves nothing of the failed one behind.
    report = build_index([str(fixture_cables)], index_copy, jobs=1)
    assert report.indexed == before == _count(index_copy)
    assert not [n for n in os.listdir(index_copy) if ".tmp-" in n]


def test_a_full_disk_after_an_update_committed_says_so(index_copy, fixture_cables, monkeypatch):
    """Past the commit point the update is in: the error must not claim the index is unchanged,
    and the next update, finding the records stale, reads every source again and is right."""
    before = _count(index_copy)
    sources = _one_more_source(index_copy, fixture_cables)
    with monkeypatch.context() as m:
        _full_on_metadata(m)
        with pytest.raises(BuildError, match=r"is committed, but its records .* could not be written") as info:
            build_index(sources, index_copy, jobs=1, update=True)
    assert "unchanged" not in str(info.value)
    assert _count(index_copy) == before + 1
    report = build_index(sources, index_copy, jobs=1, update=True)
    assert report.indexed == before + 1 == _count(index_copy)
    assert (report.added, report.removed) == (0, 0)


def _cli_with_failure(patch: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``cablesearch ARGS`` through cli.main (the wrapper that maps errors to exit codes), with
    ``patch`` run first in the same process."""
    code = textwrap.dedent(patch) + textwrap.dedent(f"""
        from cablesearch.cli import main
        main({list(args)!r})
    """)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), cwd=ROOT,
                          timeout=300)


@pytest.mark.parametrize("code", ["ENOSPC", "EROFS", "EACCES"])
def test_the_cli_exits_2_without_a_traceback_and_the_old_index_answers(index_copy, fixture_cables, code):
    before = _count(index_copy)
    patch = f"""
        import errno, os
        real_mkdir = os.mkdir
        def mkdir(path, *a, **k):
            if os.fspath(path).startswith({os.fspath(index_copy)!r}):
                raise OSError(errno.{code}, os.strerror(errno.{code}), os.fspath(path))
            return real_mkdir(path, *a, **k)
        os.mkdir = mkdir
    """
    done = _cli_with_failure(patch, "build", str(fixture_cables), "--index", str(index_copy), "--jobs", "1")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    strerror = os.strerror(getattr(errno, code))
    assert f"cablesearch: cannot build the index in {index_copy}: {strerror}" in done.stderr
    assert "the previous index is unchanged" in done.stderr
    assert _count(index_copy) == before
    done = _cli("stats", "--index", str(index_copy), "--json")
    assert done.returncode == 0 and f'"cables": {before}' in done.stdout


@pytest.mark.skipif(multiprocessing.get_start_method() != "fork", reason="the patch reaches workers only by fork")
def test_a_full_disk_in_a_worker_process_is_a_message_not_a_traceback(index_copy, fixture_cables, monkeypatch):
    before = _count(index_copy)
    with monkeypatch.context() as m:
        _full_on_posting_spill(m)
        with pytest.raises(BuildError) as info:
            build_index([str(fixture_cables)], index_copy, jobs=2, limitmb=1)
    msg = str(info.value)
    assert "Traceback" not in msg and os.strerror(errno.ENOSPC) in msg
    assert _count(index_copy) == before
