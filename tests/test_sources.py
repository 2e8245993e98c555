"""Finding and reading cables: folders, manifests, cables.csv dumps, decoding, bad files, the shipped sample."""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import os
import pickle
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cablesearch.errors import CableParseError
from cablesearch.model import Cable, Classification
from cablesearch.sources import MAX_BYTES, UNCLOSED_NOTE, RawCable, discover, iter_csv, load_cable, sample_sources

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "cables"
SEED_NAME = "000_615657d95461bb59.txt"


def test_discover_reads_every_form_of_the_fixture_folder() -> None:
    items = list(discover([FIXTURES]))
    kinds = [("csv" if r.kind == "csv-row" else Path(r.source).suffix) for r in items]
    assert kinds.count(".txt") == 25 + 2  # annotated + plain
    assert kinds.count(".html") == 5
    assert kinds.count("csv") == 10
    assert not any(r.source.endswith("manifest.jsonl") for r in items)
    # name order, folders recursively: annotated/, cables.csv rows, html/, plain/
    assert [Path(r.source).parent.name for r in items if r.kind is None][:2] == ["annotated", "annotated"]


def test_a_walked_file_is_the_raw_cable_its_fields_say(fixture_cables: Path) -> None:
    """The walk makes its handles without the dataclass's __init__: each must still hold every
    field, equal (and hash like) the RawCable made from its values, and pickle to a worker."""
    names = {f.name for f in dataclasses.fields(RawCable)}
    files = [r for r in discover([fixture_cables]) if r.path is not None]
    assert len(files) > 20
    for r in files:
        assert set(vars(r)) == names
        made = RawCable(source=r.source, path=r.path, text=None, kind=None, meta=r.meta, stamp=r.stamp)
        assert r == made and hash(r) == hash(made) and pickle.loads(pickle.dumps(r)) == made
        st = os.stat(r.path)
        assert r.stamp.split(":")[:2] == [str(st.st_size), str(st.st_mtime_ns)]


def test_discover_is_lazy() -> None:
    it = discover([FIXTURES])
    assert inspect.isgenerator(it)
    first = next(it)
    assert isinstance(first, RawCable)


def test_manifest_is_merged_and_wins(tmp_path: Path) -> None:
    raw = next(r for r in discover([FIXTURES / "annotated"]) if r.source.endswith(SEED_NAME))
    assert raw.meta["refid"] == "09MOSCOW2723"
    cable, content_hash = load_cable(raw)
    assert cable.ref == "09MOSCOW2723"
    assert cable.origin == "MOSCOW"
    assert cable.date is not None and cable.date.isoformat() == "2009-11-03T13:01:00"
    assert cable.released is not None and cable.released.isoformat() == "2010-12-01T21:09:00"
    # The file's bytes and its manifest entry both count: either changed is a changed cable.
    file_hash = hashlib.sha1((FIXTURES / "annotated" / SEED_NAME).read_bytes()).hexdigest()
    assert len(content_hash) == 40 and content_hash != file_hash
    st = os.stat(raw.path)
    assert raw.stamp.startswith(f"{st.st_size}:{st.st_mtime_ns}:") and len(raw.stamp.rsplit(":", 1)[1]) == 16
    assert load_cable(dataclasses.replace(raw, meta={**raw.meta, "subject": "ANOTHER"}))[1] != content_hash
    # The entry is read lazily, yet hashes as the parsed entry did: no index re-indexes on upgrade.
    line = next(x for x in (FIXTURES / "annotated" / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
                if SEED_NAME in x)
    assert load_cable(dataclasses.replace(raw, meta=json.loads(line)))[1] == content_hash
    assert pickle.loads(pickle.dumps(raw)).meta == json.loads(line)  # as a worker process gets it


def test_manifest_only_covers_its_own_folder(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    text = (FIXTURES / "annotated" / SEED_NAME).read_text(encoding="utf-8")
    (tmp_path / "a.txt").write_text(text, encoding="utf-8")
    (tmp_path / "sub" / "a.txt").write_text(text, encoding="utf-8")
    (tmp_path / "manifest.jsonl").write_text(
        json.dumps({"file": "a.txt", "refid": "09MOSCOW2723", "classification": "SECRET//NOFORN"}) + "\n"
        + "not json\n" + json.dumps({"file": "missing.txt", "refid": "X"}) + "\n",
        encoding="utf-8",
    )
    (tmp_path / ".hidden.txt").write_text(text, encoding="utf-8")
    (tmp_path / "notes.md").write_text("not a cable", encoding="utf-8")
    items = list(discover([tmp_path]))
    assert [Path(r.source).relative_to(tmp_path).as_posix() for r in items] == ["a.txt", "sub/a.txt"]
    top, sub = (load_cable(r)[0] for r in items)
    assert (top.ref, top.classification) == ("09MOSCOW2723", Classification("SECRET", ("NOFORN",)))
    assert (sub.ref, sub.classification.level) == (None, "CONFIDENTIAL")


def test_single_files_and_missing_paths(tmp_path: Path) -> None:
    page = FIXTURES / "html" / "05ROME902.html"
    (raw,) = list(discover([page]))
    assert (raw.path, raw.kind) == (str(page), None)
    assert load_cable(raw)[0].ref == "05ROME902"
    with pytest.raises(CableParseError) as e:
        list(discover([tmp_path / "nope"]))
    assert "nope" in str(e.value)


def test_csv_rows_stream_with_row_numbers() -> None:
    rows = list(iter_csv(str(FIXTURES / "cables.csv")))
    assert len(rows) == 10
    assert [r.source.rsplit(":", 1)[1] for r in rows] == [str(i) for i in range(1, 11)]
    assert all(r.kind == "csv-row" and r.path is None and r.text for r in rows)
    assert rows[0].meta["refid"] == "97WELLINGTON1656"
    assert rows[0].meta["date"] == "12/22/1997 01:01"
    assert "FM AMEMBASSY WELLINGTON" in rows[0].meta["header"]
    cable, content_hash = load_cable(rows[0])
    assert (cable.ref, cable.origin, cable.source) == ("97WELLINGTON1656", "WELLINGTON", rows[0].source)
    assert "NZ'S NEW (AND FIRST WOMAN) PRIME MINISTER" in cable.body  # \' unescaped
    assert content_hash != hashlib.sha1(rows[0].text.encode("utf-8")).hexdigest()  # the columns count too
    redated = dataclasses.replace(rows[0], meta={**rows[0].meta, "date": "12/23/1997 01:01"})
    assert load_cable(redated)[1] != content_hash
    assert len({r.stamp for r in rows}) == 10


def test_csv_escapes_and_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "cables.csv"
    path.write_text(
        '"1","6/5/1989 10:35","89ROME1","Embassy Rome","SECRET//NOFORN","89ROME0|89STATE2",'
        '"FM AMEMBASSY ROME","S E C R E T ROME 000001\n\nSUBJECT: A \\"QUOTED\\" WORD, IT\\\'S A\n\n\\\\ BACKSLASH"\n'
        '"2","only","three"\n'
        '"3","6/5/1989 10:35","89ROME3","Embassy Rome","UNCLASSIFIED","","","UNCLAS ROME 000003"\n',
        encoding="utf-8",
    )
    rows = list(discover([path]))
    assert len(rows) == 3
    first, _ = load_cable(rows[0])
    assert first.subject == 'A "QUOTED" WORD, IT\'S A'
    assert "\\ BACKSLASH" in first.body
    assert first.classification == Classification("SECRET", ("NOFORN",))
    assert first.refs == ("89ROME0", "89STATE2")
    with pytest.raises(CableParseError) as e:
        load_cable(rows[1])
    assert e.value.source == f"{path}:2" and "3 fields" in e.value.reason
    assert load_cable(rows[2])[0].ref == "89ROME3"


def test_rows_whose_quote_never_closes_lose_nothing(tmp_path: Path) -> None:
    """Rows 2 and 3 lack their closing quote, and so does the last: the csv module reads rows 3,
    4 and 5 into row 2 (one 'row' of 29 fields). Each is read as the row it is, with its own
    number; those without their quote are indexed with a note."""
    def row(n: int, body: str = "") -> str:
        return (f'"{n}","6/5/1989 10:35","89ROME{n}","Embassy Rome","UNCLASSIFIED","","FM AMEMBASSY ROME",'
                f'"UNCLAS ROME 00000{n}\nSUBJECT: ROW {n}{body}"\n')

    def unclosed(n: int) -> str:
        return row(n)[:-2] + "\n"

    path = tmp_path / "cables.csv"
    path.write_text(row(1) + unclosed(2) + unclosed(3) + row(4, ' A \\"QUOTE\\"') + row(5) + unclosed(6),
                    encoding="utf-8")
    got = {item.source: load_cable(item)[0] for item in discover([path])}
    assert list(got) == [f"{path}:{n}" for n in range(1, 7)]
    assert [got[f"{path}:{n}"].ref for n in range(1, 7)] == [f"89ROME{n}" for n in range(1, 7)]
    assert [got[f"{path}:{n}"].subject for n in range(1, 7)] == [
        "ROW 1", "ROW 2", "ROW 3", 'ROW 4 A "QUOTE"', "ROW 5", "ROW 6"]
    assert [bool(got[f"{path}:{n}"].notes) for n in range(1, 7)] == [False, True, True, False, False, True]
    assert got[f"{path}:2"].notes == (UNCLOSED_NOTE,)


def test_a_broken_row_that_is_not_a_row_is_reported_and_the_next_ones_read(tmp_path: Path) -> None:
    good = '"{n}","6/5/1989 10:35","89ROME{n}","Embassy Rome","UNCLASSIFIED","","","UNCLAS ROME 00000{n}"\n'
    path = tmp_path / "cables.csv"
    path.write_text(good.format(n=1) + '"2","6/5/1989 10:35","only three\n' + good.format(n=3), encoding="utf-8")
    out = {}
    for item in discover([path]):
        try:
            out[item.source] = load_cable(item)[0].ref
        except CableParseError as e:
            out[item.source] = e.reason
    assert out == {f"{path}:1": "89ROME1", f"{path}:2": "bad CSV row: a quote that is never closed",
                   f"{path}:3": "89ROME3"}


@pytest.mark.parametrize(
    ("data", "expect"),
    [
        ("UNCLAS ROME 000001\nSUBJECT: CAFÉ “QUOTES” – DASH".encode(), "CAFÉ “QUOTES” – DASH"),
        ("UNCLAS ROME 000001\nSUBJECT: CAFÉ “QUOTES” – DASH".encode("cp1252"), "CAFÉ “QUOTES” – DASH"),
        (b"UNCLAS ROME 000001\nSUBJECT: CAF\xc9 \x81 BYTE", "CAFÉ \x81 BYTE"),  # 0x81: not cp1252 -> latin-1
        # UTF-8 with one stray byte: the stray byte alone is read as cp1252, the accents stay right
        ("UNCLAS ROME 000001\nSUBJECT: CHÁVEZ “SAYS” ".encode() + b"\xff OK", "CHÁVEZ “SAYS” ÿ OK"),
        ("UNCLAS ROME 000001\nSUBJECT: ZÜRICH ".encode() + "ZÜRICH".encode("latin-1"), "ZÜRICH ZÜRICH"),
        (b"UNCLAS ROME 000001\nSUBJECT: A STRAY\x00NUL", "A STRAY NUL"),  # one NUL is noise, not binary
    ],
)
def test_decoding_falls_back(tmp_path: Path, data: bytes, expect: str) -> None:
    path = tmp_path / "x.txt"
    path.write_bytes(data)
    cable, content_hash = load_cable(RawCable(source=str(path), path=str(path)))
    assert cable.subject == expect
    assert content_hash == hashlib.sha1(data).hexdigest()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"  \n\n\t ", "empty file"),
        (b"\x00\x01\x02\x03" * 100, "binary"),
        (bytes(range(256)) * 40, "binary"),
    ],
)
def test_unreadable_files_name_the_file_and_the_reason(tmp_path: Path, data: bytes, reason: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(data)
    with pytest.raises(CableParseError) as e:
        load_cable(RawCable(source=str(path), path=str(path)))
    assert e.value.source == str(path)
    assert reason in e.value.reason
    assert str(path) in str(e.value)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    for path in (tmp_path / "gone.txt", tmp_path):
        with pytest.raises(CableParseError) as e:
            load_cable(RawCable(source=str(path), path=str(path)))
        assert e.value.source == str(path)


def test_truncated_and_odd_files_give_what_can_be_read(tmp_path: Path) -> None:
    text = (FIXTURES / "annotated" / SEED_NAME).read_text(encoding="utf-8")
    cases = {
        "truncated.txt": text[:700],
        "no-body.txt": "C O N F I D E N T I A L MOSCOW 002723 SIPDIS E.O. 12958: DECL: 11/04/2019",
        "unbalanced.txt": text.replace("  ]", "", 5).replace("[LOC ", "[LOC [ORG ", 3),
        "cut-multibyte.txt": text.encode("utf-8")[:-1].decode("utf-8", "ignore") + "\u2019"[:1],
    }
    for name, body in cases.items():
        path = tmp_path / name
        path.write_text(body, encoding="utf-8")
        cable, _ = load_cable(RawCable(source=name, path=str(path)))
        assert isinstance(cable, Cable) and cable.source == name
        assert cable.origin == "MOSCOW"
    # a file cut inside a multibyte character is not UTF-8: decoded by the fallback
    path = tmp_path / "cut.txt"
    path.write_bytes(text.encode("utf-8") + "’".encode()[:2])
    assert load_cable(RawCable(source="cut", path=str(path)))[0].classification.level == "CONFIDENTIAL"


def test_a_50_mb_file_is_refused_in_seconds(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    line = b"C O N F I D E N T I A L MOSCOW 002723 [ORG Intel  ] said XXXXXXXXXXXX \" quoted \" , 's ( C )\n"
    with open(path, "wb") as fh:
        for _ in range(50 * 1024 * 1024 // len(line) + 1):
            fh.write(line)
    assert path.stat().st_size >= 50 * 1024 * 1024 > MAX_BYTES
    start = time.monotonic()
    with pytest.raises(CableParseError) as e:
        load_cable(RawCable(source=str(path), path=str(path)))
    assert "too large" in e.value.reason
    assert time.monotonic() - start < 10


def test_a_large_file_under_the_limit_parses_in_linear_time(tmp_path: Path) -> None:
    text = (FIXTURES / "annotated" / SEED_NAME).read_text(encoding="utf-8")
    path = tmp_path / "big.txt"
    path.write_text(text * 400, encoding="utf-8")  # ~3.6 MB, one cable repeated
    start = time.process_time()
    cable, _ = load_cable(RawCable(source="big", path=str(path)))
    assert time.process_time() - start < 20
    assert cable.subject == "INTEL'S CRYPTO IMPORTATION WAIVER: LESS THAN A BREAKTHROUGH"


def test_parser_bugs_surface_as_parse_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    import cablesearch.sources as sources

    def boom(*args: object, **kwargs: object) -> Cable:
        raise KeyError("bug")

    monkeypatch.setattr(sources, "parse_cable", boom)
    with pytest.raises(CableParseError) as e:
        load_cable(RawCable(source="s", text="UNCLAS ROME 000001"))
    assert e.value.source == "s" and "KeyError" in e.value.reason


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=4000))
def test_arbitrary_bytes_give_a_cable_or_a_parse_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "any.txt"
    path.write_bytes(data)
    try:
        cable, content_hash = load_cable(RawCable(source="any", path=str(path)))
    except CableParseError as e:
        assert e.source == "any" and e.reason
    else:
        assert isinstance(cable, Cable)
        assert content_hash == hashlib.sha1(data).hexdigest()


def test_sample_sources() -> None:
    items = list(sample_sources())
    assert 250 <= len(items) <= 350
    assert len({r.source for r in items}) == len(items)
    assert all(r.text and r.path is None and r.stamp for r in items)
    cables = [load_cable(r)[0] for r in items]
    seed = next(c for c in cables if c.ref == "09MOSCOW2723")
    assert seed.source == f"sample:{SEED_NAME}"
    levels = {c.classification.level for c in cables}
    assert {"UNCLASSIFIED", "CONFIDENTIAL", "SECRET"} <= levels
    assert sum("NOFORN" in c.classification.caveats for c in cables) >= 5
    assert any("FSB" in c.entities_of("ORG") and "WTO" in c.tags for c in cables)
    assert len({c.origin for c in cables}) >= 50
    assert len({c.date.year for c in cables if c.date}) >= 10
    data = Path(__file__).resolve().parents[1] / "cablesearch" / "data" / "sample.jsonl.gz"
    assert data.stat().st_size < 1_500_000


def test_symlink_loops_and_unlistable_folders(tmp_path: Path) -> None:
    text = (FIXTURES / "annotated" / SEED_NAME).read_text(encoding="utf-8")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_text(text, encoding="utf-8")
    (tmp_path / "a" / "loop").symlink_to(tmp_path)
    items = list(discover([tmp_path, tmp_path / "a"]))
    assert [Path(r.source).name for r in items] == ["x.txt"]
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):  # running as root: permissions are not enforced
            pytest.skip("cannot make an unreadable folder here")
        bad = [r for r in discover([tmp_path]) if r.source == str(locked)]
        with pytest.raises(CableParseError) as e:
            load_cable(bad[0])
        assert "cannot list folder" in e.value.reason
    finally:
        locked.chmod(0o755)


def test_a_file_with_nothing_of_a_cable_is_refused_with_the_reason(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("Things to check tomorrow:\n- the Moscow cables\n- ask about the FSB\n", encoding="utf-8")
    listing = tmp_path / "index.html"
    listing.write_text("<html><body><h1>Browse by tag</h1><a href='/tag/WTO_0.html'>WTO</a></body></html>",
                       encoding="utf-8")
    for path in (notes, listing):
        with pytest.raises(CableParseError) as e:
            load_cable(RawCable(source=str(path), path=str(path)))
        assert e.value.reason.startswith("does not look like a cable") and e.value.source == str(path)
    # Metadata from a manifest is evidence too: the same words with a refid are a cable.
    cable, _ = load_cable(RawCable(source=str(notes), path=str(notes), meta={"refid": "09MOSCOW1"}))
    assert cable.ref == "09MOSCOW1"
