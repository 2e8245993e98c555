"""build_index over real cables: every source accounted for, bad files reported, duplicates resolved
the same way whatever the number of workers, a failing worker never loses cables quietly."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import stat
from pathlib import Path

import pytest

from cablesearch import indexdir
from cablesearch.build import SKIPPED_TSV, BuildProgress, build_index
from cablesearch.errors import BuildError
from cablesearch.index import open_index
from cablesearch.sources import RawCable, discover, sample_sources

ANKARA_ANNOTATED = "annotated/00055_1e4ea2a15968a165.txt"
ANKARA_HTML = "html/04ANKARA7106.html"


def corpus(fixture_cables: Path, dst: Path, names: list[str] | None = None) -> Path:
    """A private copy of the fixture cables (or of some annotated ones, with the manifest)."""
    if names is None:
        shutil.copytree(fixture_cables, dst)
        return dst
    dst.mkdir(parents=True)
    for n in [*names, "manifest.jsonl"]:
        shutil.copy2(fixture_cables / "annotated" / n, dst / n)
    return dst


def annotated_names(fixture_cables: Path, n: int) -> list[str]:
    return sorted(p.name for p in (fixture_cables / "annotated").glob("*.txt"))[:n]


def stored_by_ref(path: Path) -> dict[str, dict]:
    with open_index(path) as ix:
        return {d["ref"]: d for d in ix.searcher().all_stored_fields()}


def test_a_fixture_build_accounts_for_every_source(fixture_cables, tmp_path):
    sources = list(discover([fixture_cables]))
    events: list[BuildProgress] = []
    report = build_index([fixture_cables], tmp_path / "index", jobs=2, progress=events.append)
    assert report.seen == len(sources)
    assert report.seen == report.indexed + len(report.skipped) + len(report.duplicates)
    assert report.indexed == report.accepted == report.added
    with open_index(tmp_path / "index") as ix:
        assert ix.doc_count() == report.indexed
    assert events[-1] == BuildProgress("done", report.seen, report.seen, len(report.skipped))
    assert [e.done for e in events] == sorted(e.done for e in events)
    assert "merging" in {e.phase for e in events}
    assert "cables indexed" in report.summary()


def test_the_later_source_of_a_duplicate_key_wins_and_is_reported(fixture_cables, tmp_path):
    # The same cable, 04ANKARA7106, is in the fixtures twice: annotated (earlier) and html (later).
    report = build_index([fixture_cables], tmp_path / "index", jobs=1)
    loser, key, kept = report.duplicates[0]
    assert (loser, key, kept) == (str(fixture_cables / ANKARA_ANNOTATED), "04ANKARA7106",
                                  str(fixture_cables / ANKARA_HTML))
    with open_index(tmp_path / "index") as ix:
        assert ix.get("04ankara7106").source == str(fixture_cables / ANKARA_HTML)
        assert "04ankara7106" in ix.refs()
    # Given in the other order, the other source wins.
    html, annotated = fixture_cables / ANKARA_HTML, fixture_cables / ANKARA_ANNOTATED
    report = build_index([html, annotated], tmp_path / "index2", jobs=2)
    assert report.duplicates == [(str(html), "04ANKARA7106", str(annotated))]
    assert report.indexed == 1
    with open_index(tmp_path / "index2") as ix:
        assert ix.get("04ANKARA7106").source == str(annotated)
    assert "duplicate key 04ANKARA7106" in (tmp_path / "index2" / report.generation / SKIPPED_TSV).read_text()


def test_cables_without_a_ref_are_not_merged_by_post_and_serial(fixture_cables, tmp_path):
    """Without a manifest an annotated cable has no ref; its key is post, serial and a hash of the
    text. Serials start again every year, so two different cables with the same post and serial
    are both indexed; only a second copy of the same text is a duplicate."""
    src = tmp_path / "src"
    src.mkdir()
    original = next(p for p in sorted((fixture_cables / "annotated").glob("*.txt"))
                    if "[LOC MOSCOW  ] 002723" not in p.read_text(encoding="utf-8"))
    text = original.read_text(encoding="utf-8")
    (src / "a_2009.txt").write_text(text, encoding="utf-8")
    (src / "b_2004.txt").write_text(text.replace("</pre></code>", "Another year , another cable .\n</pre></code>"),
                                    encoding="utf-8")
    (src / "c_copy.txt").write_text(text, encoding="utf-8")
    report = build_index([src], tmp_path / "index", jobs=1)
    assert report.indexed == 2 and len(report.duplicates) == 1
    loser, key, kept = report.duplicates[0]
    assert (Path(loser).name, Path(kept).name) == ("a_2009.txt", "c_copy.txt")
    post_serial = key.rsplit("-", 1)[0]
    with open_index(tmp_path / "index") as ix:
        keys = sorted(ix.refs())
        assert len(keys) == 2 and all(k.upper().startswith(post_serial.upper() + "-") for k in keys)


def test_the_shipped_sample_builds(tmp_path):
    report = build_index(sample_sources(), tmp_path / "index", jobs=2)
    assert report.indexed == report.accepted == report.seen - len(report.skipped) - len(report.duplicates)
    assert report.indexed >= 250
    with open_index(tmp_path / "index") as ix:
        assert ix.doc_count() == report.indexed
        assert ix.stats()["cables"] == report.indexed


def test_jobs_1_and_jobs_2_give_the_same_index(fixture_cables, fixture_index_path, tmp_path):
    # fixture_index_path is the session's jobs=1 build of the same folder.
    build_index([fixture_cables], tmp_path / "index", jobs=2)
    one, two = stored_by_ref(fixture_index_path), stored_by_ref(tmp_path / "index")
    assert one == two and len(one) > 30
    with open_index(fixture_index_path) as a, open_index(tmp_path / "index") as b:
        for fieldname in ("body", "subject", "org", "per", "tag", "class", "origin", "year", "ref"):
            assert list(a.searcher().lexicon(fieldname)) == list(b.searcher().lexicon(fieldname)), fieldname
        from whoosh.qparser import QueryParser

        for text in ("nuclear OR minister", '"prime minister"', "tag:PREL", "embassy ankara"):
            qa = QueryParser("body", a.searcher().schema).parse(text)
            ha = {h["ref"]: round(h.score, 6) for h in a.searcher().search(qa, limit=None)}
            hb = {h["ref"]: round(h.score, 6) for h in b.searcher().search(qa, limit=None)}
            assert ha == hb and ha, text


def test_bad_files_are_skipped_and_listed_never_fatal(fixture_cables, tmp_path):
    src = corpus(fixture_cables, tmp_path / "src", annotated_names(fixture_cables, 3))
    (src / "empty.txt").write_text("")
    (src / "binary.txt").write_bytes(bytes(range(256)) * 40)
    (src / "cables.csv").write_text('"1","6/5/1989 10:35","89X1","Embassy X","SECRET","","hdr","body"\n'
                                    '"2","only","three"\n', encoding="utf-8")
    report = build_index([src], tmp_path / "index", jobs=2)
    reasons = dict(report.skipped)
    assert set(reasons) == {str(src / "empty.txt"), str(src / "binary.txt"), f"{src / 'cables.csv'}:2"}
    assert "empty" in reasons[str(src / "empty.txt")]
    assert "binary" in reasons[str(src / "binary.txt")]
    assert report.indexed == 4  # three files and one good CSV row
    tsv = (tmp_path / "index" / report.generation / SKIPPED_TSV).read_text().splitlines()
    assert tsv[0] == "source\treason" and len(tsv) == 4
    assert {line.split("\t")[0] for line in tsv[1:]} == set(reasons)
    with open_index(tmp_path / "index") as ix:
        assert ix.doc_count() == 4
        assert ix.stats()["skipped"] == 3


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_cable_that_fails_inside_a_worker_is_reported(fixture_cables, tmp_path, jobs):
    # A lone surrogate in a name (an in-memory source can carry one; decoded files cannot) parses,
    # but the sortable org column cannot encode it: indexing fails inside the worker's writer,
    # after other fields' postings were computed. The writer must stay consistent, the cable must
    # be reported, and the count check would catch a quiet loss.
    src = corpus(fixture_cables, tmp_path / "src", annotated_names(fixture_cables, 8))
    seed = (fixture_cables / "annotated" / "000_615657d95461bb59.txt").read_text(encoding="utf-8")
    assert "[ORG FSB" in seed
    broken = [RawCable(source=f"memory:{n}", stamp="x", text=seed.replace("09MOSCOW2723", f"09MOSCOW{n}")
                       .replace("[ORG FSB", "[ORG F\udcfeSB", 1)) for n in (1, 2)]
    report = build_index([src, *broken], tmp_path / "index", jobs=jobs)
    assert sorted(s for s, _ in report.skipped) == ["memory:1", "memory:2"]
    assert all("cannot index: UnicodeEncodeError" in reason for _, reason in report.skipped)
    assert report.indexed == report.accepted == 8
    with open_index(tmp_path / "index") as ix:
        assert ix.doc_count() == 8
        assert ix.stats()["skipped"] == 2


def test_a_worker_that_dies_fails_the_build_and_keeps_the_old_index(fixture_cables, index_copy, tmp_path):
    with open_index(index_copy) as ix:
        before = ix.doc_count()
    killed: list[int] = []

    def kill_a_worker(_event: BuildProgress) -> None:
        if not killed:
            workers = [p for p in multiprocessing.active_children() if p.name.startswith("cablesearch-build")]
            killed.append(workers[0].pid)
            os.kill(workers[0].pid, signal.SIGKILL)

    src = corpus(fixture_cables, tmp_path / "src")
    with pytest.raises(BuildError, match=r"died|stopped|failed"):
        build_index([src, src / "annotated"], index_copy, jobs=2, progress=kill_a_worker)
    assert killed
    with open_index(index_copy) as ix:
        assert ix.doc_count() == before
    assert not [n for n in os.listdir(index_copy) if ".tmp" in n]


def test_the_index_folder_is_private_and_keeps_other_files(fixture_cables, tmp_path):
    root = tmp_path / "index"
    root.mkdir()
    (root / ".gitkeep").write_text("")
    report = build_index([fixture_cables / "plain"], root, jobs=1)
    assert stat.S_IMODE(os.stat(root / report.generation).st_mode) == 0o700
    assert (root / ".gitkeep").exists()
    report = build_index([fixture_cables / "plain"], tmp_path / "new" / "index", jobs=1)
    assert stat.S_IMODE(os.stat(tmp_path / "new" / "index").st_mode) == 0o700


def test_a_rebuild_swaps_generations_and_an_open_index_keeps_its_snapshot(fixture_cables, tmp_path):
    root = tmp_path / "index"
    first = build_index([fixture_cables / "plain"], root, jobs=1)
    ix = open_index(root)
    try:
        second = build_index([fixture_cables / "annotated"], root, jobs=2)
        assert second.generation != first.generation
        assert sorted(os.listdir(root)) == sorted([indexdir.CURRENT, indexdir.LOCK, second.generation])
        assert ix.doc_count() == first.indexed  # the old generation's files stay readable while open
        assert ix.get(ix.refs()[0]) is not None
        assert ix.refresh()
        assert ix.doc_count() == second.indexed
        assert not ix.refresh()
    finally:
        ix.close()


def test_leftovers_of_killed_builds_are_ignored_then_cleaned(fixture_cables, tmp_path):
    root = tmp_path / "index"
    report = build_index([fixture_cables / "plain"], root, jobs=1)
    junk = [root / "gen-000007.tmp-99999", root / "gen-000000", root / "gen-000002.tmp-5-update"]
    for j in junk:
        j.mkdir()
        (j / "MAIN_x.seg").write_text("partial")
    (root / "gen-000000" / indexdir.BUILD_JSON).write_text('{"format": 1, "fields": "x"}')  # old, half removed
    (root / "CURRENT.tmp-12").write_text("gen-000007")
    with open_index(root) as ix:
        assert ix.doc_count() == report.indexed
    again = build_index([fixture_cables / "plain"], root, jobs=1)
    assert sorted(os.listdir(root)) == sorted([indexdir.CURRENT, indexdir.LOCK, again.generation])
    assert report.generation == "gen-000001" and again.generation == "gen-000002"  # the live one's next


def test_a_folder_merely_named_like_a_generation_is_never_removed(fixture_cables, tmp_path):
    root = tmp_path / "index"
    build_index([fixture_cables / "plain"], root, jobs=1)
    theirs = root / "gen-000005"  # its build.json is not a build's record: not made by a build
    theirs.mkdir()
    (theirs / "notes.txt").write_text("precious")
    (theirs / indexdir.BUILD_JSON).write_text("{}")
    (root / "notes.txt").write_text("mine too")
    again = build_index([fixture_cables / "plain"], root, jobs=1)
    assert (theirs / "notes.txt").read_text() == "precious"
    assert (root / "notes.txt").read_text() == "mine too"
    assert again.generation == "gen-000006"  # numbered past it
    with open_index(root) as ix:
        assert ix.generation.name == "gen-000006" and ix.doc_count() == again.indexed


def test_a_folder_holding_other_files_and_no_index_is_refused_untouched(fixture_cables, tmp_path):
    root = tmp_path / "papers"
    (root / "gen-000001").mkdir(parents=True)
    (root / "gen-000001" / "notes.txt").write_text("precious")
    (root / "draft.txt").write_text("draft")
    os.chmod(root, 0o755)
    before = sorted(os.listdir(root))
    for update in (False, True):
        refused = r"not empty and holds no index \(2 other entries: draft.txt, gen-000001\)"
        with pytest.raises(BuildError, match=refused):
            build_index([fixture_cables / "plain"], root, jobs=1, update=update)
    assert sorted(os.listdir(root)) == before  # no lock file, no generation
    assert (root / "gen-000001" / "notes.txt").read_text() == "precious"
    assert stat.S_IMODE(os.stat(root).st_mode) == 0o755  # not made private
    empty = tmp_path / "empty"
    (empty / ".gitkeep").parent.mkdir()
    (empty / ".gitkeep").write_text("")
    assert build_index([fixture_cables / "plain"], empty, jobs=1).indexed > 0  # the repo's index/ is fine


def test_a_second_build_at_the_same_time_is_refused(fixture_cables, tmp_path):
    root = tmp_path / "index"
    with indexdir.build_lock(root), pytest.raises(BuildError, match="another build"):
        build_index([fixture_cables / "plain"], root, jobs=1)


def test_a_missing_source_path_fails_before_anything_changes(fixture_cables, tmp_path):
    root = tmp_path / "index"
    report = build_index([fixture_cables / "plain"], root, jobs=1)
    with pytest.raises(BuildError, match="no such file"):
        build_index([fixture_cables / "plain", tmp_path / "nope"], root, jobs=2)
    with pytest.raises(BuildError, match="no such file"):
        build_index([tmp_path / "nope"], root, jobs=1, update=True)
    with open_index(root) as ix:
        assert ix.doc_count() == report.indexed
        assert ix.generation.name == report.generation


def test_a_build_that_indexes_nothing_keeps_the_old_index(fixture_cables, tmp_path):
    root = tmp_path / "index"
    report = build_index([fixture_cables / "plain"], root, jobs=1)
    (tmp_path / "empty").mkdir()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.txt").write_text("")
    with pytest.raises(BuildError, match="no cables found"):
        build_index([tmp_path / "empty"], root, jobs=2)
    with pytest.raises(BuildError, match="none of the 1 sources") as e:
        build_index([tmp_path / "bad"], root, jobs=1)
    assert f"\n  {tmp_path / 'bad' / 'x.txt'}: empty file" in str(e.value)  # which file, and why
    with pytest.raises(BuildError, match="remove every cable"):
        build_index([tmp_path / "empty"], root, jobs=1, update=True)
    with open_index(root) as ix:
        assert ix.doc_count() == report.indexed


@pytest.mark.parametrize("jobs", [1, 2])
def test_workers_roll_over_to_new_segments_and_nothing_changes(fixture_cables, fixture_index_path, tmp_path,
                                                               monkeypatch, jobs):
    from cablesearch import buildworkers

    monkeypatch.setattr(buildworkers, "SEGMENT_DOCS", 7)  # read by the parent, handed to the workers
    report = build_index([fixture_cables], tmp_path / "index", jobs=jobs)
    with open_index(tmp_path / "index") as ix:
        st = ix.stats()
        assert st["segments"] >= report.seen // 7
        assert st["cables"] == report.indexed and st["deleted"] == 1  # the duplicate, wherever it landed
    assert stored_by_ref(tmp_path / "index") == stored_by_ref(fixture_index_path)


def test_a_file_name_that_is_not_utf8_is_indexed_and_shown_escaped(fixture_cables, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    plain = sorted((fixture_cables / "plain").iterdir())[:2]
    named = [os.fsencode(src) + b"/caf\xe9-" + os.fsencode(p.name) for p in plain]  # latin-1 names
    for path, p in zip(named, plain, strict=True):
        with open(path, "wb") as fh:
            fh.write(p.read_bytes())
    root = tmp_path / "index"
    report = build_index([src], root, jobs=1)
    assert (report.indexed, report.skipped) == (2, [])
    with open_index(root) as ix:
        hits = ix.search("*", limit=10).hits
        assert sorted(h.source for h in hits) == sorted(f"{src}/caf\\xe9-{p.name}" for p in plain)
        assert all(ix.get(h.ref) is not None for h in hits)
    again = build_index([src], root, jobs=1, update=True)
    assert (again.added, again.replaced, again.removed, again.unchanged) == (0, 0, 0, 2)
    os.unlink(named[0])
    gone = build_index([src], root, jobs=1, update=True)
    assert (gone.removed, gone.unchanged) == (1, 1)


def test_a_csv_row_with_a_date_that_is_not_a_date_is_indexed_with_a_note(tmp_path):
    path = tmp_path / "cables.csv"
    path.write_text(
        '"1","13/45/2009 10:35","89ROME1","Embassy Rome","UNCLASSIFIED","","R 050935Z JUN 89\nFM AMEMBASSY ROME",'
        '"UNCLAS ROME 000001\nSUBJECT: ONE"\n'
        '"2","6/5/1989 10:35","89ROME2","Embassy Rome","UNCLASSIFIED","","","UNCLAS ROME 000002\nSUBJECT: TWO"\n',
        encoding="utf-8")
    root = tmp_path / "index"
    report = build_index([path], root, jobs=1)
    assert (report.indexed, report.skipped) == (2, [])
    assert report.noted == [(f"{path}:1", "its date '13/45/2009 10:35' is not a date; the text's date is used")]
    assert "1 indexed with a note" in report.summary()
    tsv = (root / report.generation / SKIPPED_TSV).read_text().splitlines()
    assert tsv[1:] == [f"{path}:1\tindexed, but its date '13/45/2009 10:35' is not a date; the text's date is used"]
    with open_index(root) as ix:
        assert ix.get("89ROME1").date.isoformat() == "1989-06-05T09:35:00"  # from the routing line
    same = build_index([path], root, jobs=1, update=True)
    assert same.noted == [] and same.unchanged == 2  # not read again, not noted again


def test_progress_keeps_the_skipped_count_through_merging(fixture_cables, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for p in sorted((fixture_cables / "plain").iterdir())[:3]:
        (src / p.name).write_bytes(p.read_bytes())
    (src / "empty.txt").write_bytes(b"")
    events: list[BuildProgress] = []
    report = build_index([src], tmp_path / "index", jobs=1, progress=events.append)
    assert len(report.skipped) == 1
    later = [e for e in events if e.phase in ("merging", "done")]
    assert later and all(e.skipped == 1 for e in later), later
