"""Index trust: an index someone else could have written is refused (whoosh unpickles it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cablesearch import index as index_module
from cablesearch import indexdir
from cablesearch.build import build_index
from cablesearch.errors import CablesearchError, IndexStateError, UnsafeIndexError
from cablesearch.index import open_index
from cablesearch.trust import TRUST_ENV, check_index_trust

ROOT = Path(__file__).resolve().parent.parent
NOBODY = 65534

needs_root = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                                reason="chown to another user needs root")
posix_only = pytest.mark.skipif(not hasattr(os, "geteuid"), reason="no POSIX owners and modes")


@pytest.fixture(autouse=True)
def _no_trust_from_env(monkeypatch):
    monkeypatch.delenv(TRUST_ENV, raising=False)


def _count(path: Path, **kw) -> int:
    with open_index(path, **kw) as ix:
        return ix.doc_count()


def _a_file(gen: Path) -> Path:
    return next(p for p in sorted(gen.iterdir()) if p.suffix == ".seg" or p.name.startswith("_"))


@posix_only
def test_a_build_makes_the_folders_private(fixture_index_path, fixture_cables, tmp_path):
    gen = indexdir.live_generation(fixture_index_path)
    assert (fixture_index_path.stat().st_mode & 0o777) == 0o700
    assert (gen.stat().st_mode & 0o777) == 0o700
    # An existing folder (the repo's index/ with its .gitkeep) is tightened by the build.
    root = tmp_path / "index"
    root.mkdir(mode=0o755)
    os.chmod(root, 0o755)
    (root / ".gitkeep").write_text("")
    build_index([str(fixture_cables)], root, jobs=1)
    assert (root.stat().st_mode & 0o777) == 0o700
    assert (indexdir.live_generation(root).stat().st_mode & 0o777) == 0o700
    assert _count(root) > 0


def test_an_index_of_ones_own_opens(fixture_index_path):
    gen = indexdir.live_generation(fixture_index_path)
    check_index_trust(fixture_index_path, gen)  # no error
    assert _count(fixture_index_path) > 0


@posix_only
@pytest.mark.parametrize("mode", [0o777, 0o775, 0o757])
def test_a_writable_index_folder_is_refused(index_copy, mode):
    os.chmod(index_copy, mode)
    with pytest.raises(UnsafeIndexError) as info:
        open_index(index_copy)
    msg = str(info.value)
    assert str(index_copy) in msg
    assert f"mode {mode:04o}" in msg
    assert f"chmod 700 {index_copy}" in msg
    assert "--trust-index" in msg and TRUST_ENV in msg
    assert ("group" in msg) == bool(mode & 0o020) and ("others" in msg) == bool(mode & 0o002)
    assert isinstance(info.value, IndexStateError) and isinstance(info.value, CablesearchError)


@posix_only
def test_a_writable_generation_folder_is_refused(index_copy):
    gen = indexdir.live_generation(index_copy)
    os.chmod(gen, 0o777)
    with pytest.raises(UnsafeIndexError, match=rf"{gen.name} is writable by group and others \(mode 0777\)"):
        open_index(index_copy)


@posix_only
def test_a_writable_file_is_refused_when_others_can_reach_it(index_copy):
    gen = indexdir.live_generation(index_copy)
    target = _a_file(gen)
    os.chmod(target, 0o666)
    # Root and generation 0700 (as the build makes them): nobody else can reach the file.
    assert _count(index_copy) > 0
    # Folders searchable by everyone: now anyone could rewrite the file.
    os.chmod(index_copy, 0o755)
    os.chmod(gen, 0o755)
    with pytest.raises(UnsafeIndexError, match=rf"{target.name} is writable by group and others") as info:
        open_index(index_copy)
    assert f"chmod -R go-w {index_copy}" in str(info.value)
    os.chmod(target, 0o644)
    assert _count(index_copy) > 0
    os.chmod(index_copy / indexdir.CURRENT, 0o646)
    with pytest.raises(UnsafeIndexError, match=r"CURRENT is writable by others"):
        open_index(index_copy)


@needs_root
@pytest.mark.parametrize("which", ["root", "generation", "file", "CURRENT"])
def test_an_index_owned_by_another_user_is_refused(index_copy, which):
    gen = indexdir.live_generation(index_copy)
    target = {"root": index_copy, "generation": gen, "file": _a_file(gen),
              "CURRENT": index_copy / indexdir.CURRENT}[which]
    os.chown(target, NOBODY, NOBODY)
    with pytest.raises(UnsafeIndexError) as info:
        open_index(index_copy)
    msg = str(info.value)
    assert str(target) in msg
    assert f"owned by uid {NOBODY}, not by you (uid {os.geteuid()})" in msg
    assert "Rebuild it yourself" in msg and "--trust-index" in msg


@needs_root
def test_trust_opens_it_anyway(index_copy, monkeypatch):
    gen = indexdir.live_generation(index_copy)
    os.chown(_a_file(gen), NOBODY, NOBODY)
    os.chmod(index_copy, 0o777)
    assert _count(index_copy, trust=True) > 0
    monkeypatch.setenv(TRUST_ENV, "0")
    with pytest.raises(UnsafeIndexError):
        open_index(index_copy)
    monkeypatch.setenv(TRUST_ENV, "1")
    assert _count(index_copy) > 0


@posix_only
def test_the_check_runs_before_whoosh_reads_anything(index_copy, monkeypatch):
    def no_unpickling(*_a, **_k):
        raise AssertionError("whoosh opened an untrusted index")

    monkeypatch.setattr(index_module, "open_whoosh", no_unpickling)
    os.chmod(index_copy, 0o777)
    with pytest.raises(UnsafeIndexError):
        open_index(index_copy)


@posix_only
def test_the_cli_refuses_without_a_traceback(index_copy):
    os.chmod(index_copy, 0o777)
    env = {k: v for k, v in os.environ.items() if k not in (TRUST_ENV, "CABLESEARCH_INDEX")}
    cmd = [sys.executable, "-m", "cablesearch", "stats", "--index", str(index_copy)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "refusing to open the index" in done.stderr and "0777" in done.stderr
    done = subprocess.run(cmd, capture_output=True, text=True, env={**env, TRUST_ENV: "1"}, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr


def test_the_cli_flag_opens_an_index_others_can_write(tmp_path, fixture_index_path):
    import shutil

    path = tmp_path / "index"
    shutil.copytree(fixture_index_path, path, symlinks=True)
    path.chmod(0o777)
    env = {k: v for k, v in os.environ.items() if k != "CABLESEARCH_TRUST_INDEX"}
    cmd = [sys.executable, "-m", "cablesearch", "search", "org:FSB", "--count", "--index", str(path)]
    refused = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert refused.returncode == 2 and "--trust-index" in refused.stderr
    trusted = subprocess.run([*cmd, "--trust-index"], capture_output=True, text=True, env=env, timeout=120)
    assert trusted.returncode == 0 and int(trusted.stdout) >= 1
