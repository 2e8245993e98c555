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


def _snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every entry under ``root``: (mode, size, mtime_ns); what a refused update must leave alone."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in (".", *dirs, *files):
            p = Path(dirpath) / name
            st = p.stat()
            out[str(p.relative_to(root))] = (st.st_mode, st.st_size if name != "." else 0, st.st_mtime_ns)
    return out


def _changed_source(fixture_cables: Path, tmp_path: Path) -> Path:
    """The fixture cables plus one new cable: an update that is let through has work to do."""
    import shutil

    src = tmp_path / "src"
    shutil.copytree(fixture_cables, src)
    text = (src / "plain" / "09CAIRO2115.txt").read_text(encoding="utf-8")
    (src / "plain" / "09CAIRO9999.txt").write_text(text.replace("09CAIRO2115", "09CAIRO9999"), encoding="utf-8")
    return src


@posix_only
@pytest.mark.parametrize("where", ["root", "generation"])
def test_an_update_refuses_an_index_others_can_write_and_changes_nothing(index_copy, fixture_cables, tmp_path,
                                                                         where):
    """`build --update` opens (unpickles) the live index, so it checks it first, as `search` does."""
    target = index_copy if where == "root" else indexdir.live_generation(index_copy)
    os.chmod(target, 0o777)
    src = _changed_source(fixture_cables, tmp_path)
    before = _snapshot(index_copy)
    env = {k: v for k, v in os.environ.items() if k not in (TRUST_ENV, "CABLESEARCH_INDEX")}
    update = [sys.executable, "-m", "cablesearch", "build", str(src), "--index", str(index_copy), "--update"]
    search = [sys.executable, "-m", "cablesearch", "search", "org:FSB", "--index", str(index_copy)]
    refused = subprocess.run(update, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    searched = subprocess.run(search, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert refused.returncode == searched.returncode == 2, refused.stderr
    assert refused.stderr == searched.stderr  # the very same refusal
    assert f"refusing to open the index in {index_copy}: {target} is writable by group and others " \
           "(mode 0777)" in refused.stderr
    assert "Traceback" not in refused.stderr and refused.stdout == ""
    assert _snapshot(index_copy) == before  # not even the folder's mode was tightened
    with pytest.raises(UnsafeIndexError) as info:  # the Python API: the same error, not wrapped
        build_index([str(src)], index_copy, jobs=1, update=True)
    assert str(info.value) in refused.stderr
    assert _snapshot(index_copy) == before
    with open_index(index_copy, trust=True) as ix:
        assert ix.get("09CAIRO9999") is None


@posix_only
@pytest.mark.parametrize("how", ["flag", "env", "api"])
def test_an_update_of_an_index_others_can_write_goes_ahead_when_trusted(index_copy, fixture_cables, tmp_path,
                                                                        how):
    os.chmod(index_copy, 0o777)
    src = _changed_source(fixture_cables, tmp_path)
    before = _count(index_copy, trust=True)
    env = {k: v for k, v in os.environ.items() if k not in (TRUST_ENV, "CABLESEARCH_INDEX")}
    if how == "api":
        build_index([str(src)], index_copy, jobs=1, update=True, trust=True)
    else:
        cmd = [sys.executable, "-m", "cablesearch", "build", str(src), "--index", str(index_copy), "--update"]
        if how == "flag":
            cmd.append("--trust-index")
        else:
            env[TRUST_ENV] = "1"
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
        assert done.returncode in (0, 1), done.stderr  # 1: the fixtures hold files the build skips
        assert "refusing" not in done.stderr and "updated" in done.stdout
    assert _count(index_copy) == before + 1  # and the update made the folder private again (0700)
    with open_index(index_copy) as ix:
        assert ix.get("09CAIRO9999") is not None
    assert (index_copy.stat().st_mode & 0o777) == 0o700
