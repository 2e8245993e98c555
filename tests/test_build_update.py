"""build_index(update=True): adds new cables, replaces changed ones, removes vanished ones, in place,
reading only what changed; the result equals a full build over the same sources."""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import shutil
import weakref
from pathlib import Path

import pytest
from test_build import annotated_names, corpus, stored_by_ref
from whoosh.qparser import QueryParser

from cablesearch import buildworkers
from cablesearch.build import BUILD_JSON, build_index
from cablesearch.engine import open_whoosh
from cablesearch.errors import BuildError
from cablesearch.index import open_index
from cablesearch.ledger import SOURCES_FILE, SOURCES_JSONL, read_sources

WORD = "Zanzibarquux"


def hits(path: Path, text: str) -> set[str]:
    with open_index(path) as ix:
        s = ix.searcher()
        return {h["ref"] for h in s.search(QueryParser("body", s.schema).parse(text), limit=None)}


def manifest_ref(src: Path, name: str) -> str:
    for line in (src / "manifest.jsonl").read_text().splitlines():
        entry = json.loads(line)
        if entry["file"] == name:
            return entry["refid"]
    raise KeyError(name)


@pytest.fixture()
def six(fixture_cables, tmp_path) -> tuple[Path, list[str], str]:
    """A folder of six annotated cables (with the manifest), and a seventh name to add later."""
    names = annotated_names(fixture_cables, 7)
    src = corpus(fixture_cables, tmp_path / "src", names[:6])
    return src, names[:6], names[6]


@pytest.mark.parametrize("jobs", [1, 2])
def test_update_adds_replaces_and_removes(six, fixture_cables, tmp_path, jobs):
    src, names, extra = six
    root = tmp_path / "index"
    first = build_index([src], root, jobs=jobs)
    assert first.indexed == 6
    changed, gone = names[1], names[2]
    with open(src / changed, "a", encoding="utf-8") as fh:
        fh.write(f"\n{WORD} is the new word .\n")
    (src / gone).unlink()
    shutil.copy2(fixture_cables / "annotated" / extra, src / extra)

    report = build_index([src], root, jobs=jobs, update=True)
    assert report.update
    assert (report.added, report.replaced, report.removed, report.unchanged) == (1, 1, 1, 4)
    assert report.accepted == 2 and report.indexed == 6 and not report.skipped
    assert report.generation == first.generation  # in place
    with open_index(root) as ix:
        assert ix.doc_count() == 6
        assert ix.get(manifest_ref(src, gone)) is None
        assert ix.get(manifest_ref(src, extra)) is not None
        assert WORD in ix.get(manifest_ref(src, changed)).body
    assert hits(root, WORD) == {manifest_ref(src, changed)}
    # The same contents as a full build of the folder as it is now.
    full = build_index([src], tmp_path / "full", jobs=jobs)
    assert full.indexed == 6
    assert stored_by_ref(root) == stored_by_ref(tmp_path / "full")


def test_an_update_with_nothing_changed_reads_nothing(six, tmp_path):
    src, _names, _extra = six
    root = tmp_path / "index"
    build_index([src], root, jobs=1)
    report = build_index([src], root, jobs=2, update=True)
    assert (report.added, report.replaced, report.removed, report.unchanged) == (0, 0, 0, 6)
    assert report.accepted == 0 and report.indexed == 6


def test_a_touched_file_with_the_same_content_is_unchanged(six, tmp_path):
    src, names, _extra = six
    root = tmp_path / "index"
    first = build_index([src], root, jobs=1)
    st = os.stat(src / names[0])
    os.utime(src / names[0], ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    report = build_index([src], root, jobs=1, update=True)
    assert (report.added, report.replaced, report.unchanged) == (0, 0, 6)
    ledger = read_sources(root / first.generation, open_whoosh(root / first.generation).latest_generation())
    stamp = ledger[str(src / names[0])].stamp.split(":")  # size, mtime and the manifest line's hash
    assert stamp[:2] == [str(st.st_size), str(st.st_mtime_ns + 5_000_000_000)]  # the new stamp is remembered


def test_a_changed_manifest_entry_is_a_changed_cable(six, tmp_path):
    """The manifest wins over the text, so editing it (and not the cable file) changes the cable:
    an update re-indexes it and agrees with a full build; a removed entry falls back to the text."""
    src, names, _extra = six
    root = tmp_path / "index"
    build_index([src], root, jobs=1)
    lines = [json.loads(line) for line in (src / "manifest.jsonl").read_text().splitlines()]
    with open_index(root) as ix:
        assert ix.get(next(e for e in lines if e["file"] == names[1])["refid"]).released is not None
    edited = next(e for e in lines if e["file"] == names[0])
    edited.update(classification="SECRET//NOFORN", tags=["ZZTAG"], subject="A SUBJECT SET IN THE MANIFEST")
    dropped = next(e for e in lines if e["file"] == names[1])
    lines.remove(dropped)
    (src / "manifest.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines))

    report = build_index([src], root, jobs=1, update=True)
    assert (report.added, report.replaced, report.removed, report.unchanged) == (0, 2, 0, 4)
    with open_index(root) as ix:
        assert [h.ref for h in ix.search("tag:ZZTAG AND class:noforn")] == [edited["refid"]]
        assert ix.get(edited["refid"]).subject == "A SUBJECT SET IN THE MANIFEST"
        assert ix.get(dropped["refid"]).released is None  # that date came from the manifest only
    build_index([src], tmp_path / "full", jobs=1)
    assert stored_by_ref(root) == stored_by_ref(tmp_path / "full")


def test_the_same_folder_spelled_otherwise_is_the_same_sources(six, tmp_path, monkeypatch):
    """Built as `src` from its parent, updated as ./src/, by its full path, from elsewhere, and
    with the recorded sources from yet another folder: nothing is re-indexed."""
    src, _names, _extra = six
    root = tmp_path / "index"
    monkeypatch.chdir(src.parent)
    build_index(["src"], root, jobs=1)
    for spelled, cwd in [("./src/", src.parent), (str(src), tmp_path / "elsewhere"),
                         ("../src", tmp_path / "elsewhere"), (None, tmp_path / "elsewhere")]:
        cwd.mkdir(exist_ok=True)
        monkeypatch.chdir(cwd)
        report = build_index(None if spelled is None else [spelled], root, jobs=1, update=True)
        assert (report.added, report.replaced, report.removed, report.unchanged) == (0, 0, 0, 6), spelled
    with open_index(root) as ix:
        assert ix.doc_count() == 6 == ix.searcher().reader().doc_count_all()  # nothing replaced


def test_a_folder_reached_through_a_link_is_the_same_sources(six, tmp_path):
    """Built through a symbolic link to the folder (or a link to a parent), updated by its real
    path, and the other way round: nothing is re-indexed."""
    src, _names, _extra = six
    (tmp_path / "link").symlink_to(src, target_is_directory=True)
    (tmp_path / "up").symlink_to(src.parent, target_is_directory=True)
    root = tmp_path / "index"
    build_index([tmp_path / "link"], root, jobs=1)
    for spelled in (src, tmp_path / "up" / src.name, tmp_path / "link"):
        report = build_index([spelled], root, jobs=1, update=True)
        assert (report.added, report.replaced, report.removed, report.unchanged) == (0, 0, 0, 6), spelled
    with open_index(root) as ix:
        assert ix.doc_count() == 6 == ix.searcher().reader().doc_count_all()


def test_an_update_without_an_index_builds_one(six, tmp_path):
    src, _names, _extra = six
    report = build_index([src], tmp_path / "index", jobs=1, update=True)
    assert not report.update and report.indexed == 6


def test_update_reuses_the_recorded_sources(six, tmp_path):
    src, names, _extra = six
    root = tmp_path / "index"
    build_index([src], root, jobs=1)
    (src / names[0]).unlink()
    report = build_index(None, root, jobs=1, update=True)
    assert report.removed == 1 and report.indexed == 5
    assert build_index(None, root, jobs=1).indexed == 5  # a rebuild from the same sources
    with pytest.raises(BuildError, match="records none"):
        build_index(None, tmp_path / "other", jobs=1)


def test_a_file_skipped_once_is_indexed_when_fixed(six, fixture_cables, tmp_path):
    src, _names, extra = six
    root = tmp_path / "index"
    (src / extra).write_text("")
    first = build_index([src], root, jobs=1)
    assert [s for s, _ in first.skipped] == [str(src / extra)]
    again = build_index([src], root, jobs=1, update=True)
    assert [s for s, _ in again.skipped] == [str(src / extra)]  # still reported, still not indexed
    shutil.copy2(fixture_cables / "annotated" / extra, src / extra)
    fixed = build_index([src], root, jobs=1, update=True)
    assert (fixed.added, fixed.skipped, fixed.indexed) == (1, [], 7)


def test_a_file_that_breaks_is_removed_and_reported(six, tmp_path):
    src, names, _extra = six
    root = tmp_path / "index"
    build_index([src], root, jobs=1)
    (src / names[0]).write_bytes(b"\x00\x01binary now" * 100)
    report = build_index([src], root, jobs=2, update=True)
    assert report.removed == 1 and report.indexed == 5
    assert [s for s, _ in report.skipped] == [str(src / names[0])]


def test_a_duplicate_comes_back_when_the_source_that_won_is_gone(fixture_cables, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    name = annotated_names(fixture_cables, 1)[0]
    corpus(fixture_cables, a, [name])
    corpus(fixture_cables, b, [name])
    root = tmp_path / "index"
    first = build_index([a, b], root, jobs=2)
    assert first.indexed == 1 and first.duplicates == [(str(a / name), manifest_ref(a, name), str(b / name))]
    again = build_index([a, b], root, jobs=2, update=True)
    assert again.duplicates == first.duplicates and again.unchanged == 1
    (b / name).unlink()
    report = build_index([a, b], root, jobs=2, update=True)
    assert (report.added, report.removed, report.indexed, report.duplicates) == (1, 1, 1, [])
    with open_index(root) as ix:
        assert ix.get(manifest_ref(a, name)).source == str(a / name)


def test_a_stale_or_missing_ledger_is_rebuilt_from_the_index(six, tmp_path):
    src, names, _extra = six
    root = tmp_path / "index"
    first = build_index([src], root, jobs=1)
    (root / first.generation / SOURCES_FILE).unlink()
    with open(src / names[3], "a", encoding="utf-8") as fh:
        fh.write(f"\n{WORD} .\n")
    report = build_index([src], root, jobs=1, update=True)
    assert (report.replaced, report.unchanged, report.indexed) == (1, 5, 6)  # content hashes decide
    assert hits(root, WORD) == {manifest_ref(src, names[3])}


def test_an_index_with_the_old_json_lines_ledger_updates_from_it(six, tmp_path, monkeypatch):
    """An index written before sources.marshal has sources.jsonl: its update reads that (not the
    stored fields), changes only what changed, and leaves the new file in its place."""
    from cablesearch import build as build_module

    src, names, _extra = six
    root = tmp_path / "index"
    gen = root / build_index([src], root, jobs=1).generation
    toc = open_whoosh(gen).latest_generation()
    entries = list(read_sources(gen, toc).values())
    lines = [json.dumps({"format": 1, "toc_generation": toc, "count": len(entries)})]
    (gen / SOURCES_JSONL).write_text("\n".join(lines + [json.dumps(list(e)) for e in entries]) + "\n")
    (gen / SOURCES_FILE).unlink()

    def not_this(_ix):
        raise AssertionError("the ledger was rebuilt from the stored fields")

    monkeypatch.setattr(build_module, "_sources_from_stored", not_this)
    with open(src / names[3], "a", encoding="utf-8") as fh:
        fh.write(f"\n{WORD} .\n")
    report = build_index([src], root, jobs=1, update=True)
    assert (report.replaced, report.unchanged, report.indexed) == (1, 5, 6)
    assert hits(root, WORD) == {manifest_ref(src, names[3])}
    assert (gen / SOURCES_FILE).exists() and not (gen / SOURCES_JSONL).exists()


def test_an_index_built_for_another_field_table_is_not_updated(six, tmp_path):
    src, _names, _extra = six
    root = tmp_path / "index"
    first = build_index([src], root, jobs=1)
    meta_path = root / first.generation / BUILD_JSON
    meta = json.loads(meta_path.read_text())
    meta["fields"] = "0000"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(BuildError, match="different field table"):
        build_index([src], root, jobs=1, update=True)


def test_repeated_updates_keep_the_segment_count_bounded(six, tmp_path):
    src, names, _extra = six
    root = tmp_path / "index"
    build_index([src], root, jobs=2)
    for i in range(8):
        with open(src / names[i % 6], "a", encoding="utf-8") as fh:
            fh.write(f"\nround{i} .\n")
        build_index([src], root, jobs=2, update=True)
    with open_index(root) as ix:
        st = ix.stats()
        assert st["cables"] == 6 and st["segments"] <= 8
        assert hits(root, "round7") == {manifest_ref(src, names[7 % 6])}


@pytest.mark.skipif(multiprocessing.get_start_method() != "fork", reason="the worker records through a fork")
def test_an_update_pauses_the_collector_in_this_process_only(six, tmp_path, monkeypatch):
    """The parent's collector is off while it keeps the ledger (and back on after); worker
    processes turn theirs back on; with jobs=1 (cables read in this process) it stays on."""
    src, names, _ = six
    root = tmp_path / "index"
    build_index([src], root, jobs=2)
    record = tmp_path / "worker-gc"

    class Recording(buildworkers.SegmentBuilder):
        def __init__(self, *args, **kwargs):
            with open(record, "a") as fh:
                fh.write(f"{gc.isenabled()}\n")
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(buildworkers, "SegmentBuilder", Recording)
    for n, (jobs, paused) in enumerate([(2, True), (1, False)]):
        with open(src / names[n], "a", encoding="utf-8") as fh:
            fh.write(f"\n{WORD} is the new word .\n")
        seen: list[bool] = []
        report = build_index([src], root, jobs=jobs, update=True,
                             progress=lambda _e, seen=seen: seen.append(gc.isenabled()))
        assert report.replaced == 1
        assert seen and set(seen) == {not paused}
        assert gc.isenabled()
    # the worker of the jobs=2 update (one changed cable: one worker takes it), then the builder
    # of the jobs=1 update in this process
    assert record.read_text().split() == ["True"] * 2


@pytest.mark.parametrize("update", [False, True])
def test_the_ledger_is_let_go_when_the_build_returns(six, tmp_path, monkeypatch, update):
    """The ledger (an entry per source) is freed as the build returns, not left in a cycle for
    the collector: whoosh's writer leaves the build's frame in one (its FileStorage.create keeps
    an exception in a local), and at 250,000 sources the collector's walk of the update's ledger
    took 0.7 s."""
    from cablesearch import build as build_module

    src, names, _ = six
    root = tmp_path / "index"
    build_index([src], root, jobs=2)
    with open(src / names[0], "a", encoding="utf-8") as fh:
        fh.write(f"\n{WORD} is the new word .\n")
    made: list[weakref.ref] = []

    class Watched(build_module.Ledger):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(weakref.ref(self))

    monkeypatch.setattr(build_module, "Ledger", Watched)
    was = gc.isenabled()
    gc.disable()  # only reference counting may free it
    try:
        report = build_index([src], root, jobs=2, update=update)
        assert len(made) == 1 and report.indexed == 6
        assert made[0]() is None
    finally:
        if was:
            gc.enable()


def _segments(root: Path) -> list:
    from cablesearch.engine import open_whoosh
    from cablesearch.indexdir import live_generation

    return open_whoosh(live_generation(root))._segments()


def test_updates_drop_segments_without_a_live_cable(six, tmp_path):
    """Each update adds a segment; one whose cables are all replaced is dropped with its files, and
    the index answers as a full build does."""
    src, names, _ = six
    root = tmp_path / "index"
    build_index([src], root, jobs=1)
    dropped = 0
    for i in range(6):
        name = names[i % 2]  # the same two cables again and again: their last segments die
        with open(src / name, "a", encoding="utf-8") as fh:
            fh.write(f"\n{WORD}{i} is the new word .\n")
        before = {s.segment_id() for s in _segments(root)}
        report = build_index([src], root, jobs=1, update=True)
        assert report.replaced == 1 and report.indexed == 6
        segments = _segments(root)
        assert all(s.doc_count() > 0 for s in segments), "a segment without a live cable was kept"
        after = {s.segment_id() for s in segments}
        dropped += len(before - after)
        gen = root / (root / "CURRENT").read_text().strip()
        on_disk = {name.split(".")[0] for name in os.listdir(gen) if name.startswith("MAIN_") and "." in name}
        assert on_disk == after, "files of dropped segments were left behind"
        assert hits(root, f"{WORD}{i}") == {manifest_ref(src, name)}
    assert dropped >= 3
    assert len(_segments(root)) <= 3  # the build's, and the last two updates'
    full = build_index([src], tmp_path / "full", jobs=1)
    assert full.indexed == 6
    assert stored_by_ref(root) == stored_by_ref(tmp_path / "full")
