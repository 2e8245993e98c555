"""Cable fuzzing (issue 8): a broken file gives a Cable or a CableParseError naming it, nothing else;
a build over a folder of good and bad files indexes every good one and lists every bad one.

- Seeded mutations of the real cables in tests/fixtures/cables (``tests/fuzz_cables.py``):
  truncation, stray bytes, broken ``[ORG`` marks, unbalanced ``<a`` tags, mixed encodings
  (latin-1, cp1252, UTF-16 ...), a 10,000-line paragraph, NULs, huge lines, control characters.
  Each is written to a file and read the way a build reads it (``sources.load_cable``): a Cable
  that turns into an index document, or a CableParseError whose ``source`` is the file. The
  parser itself never fails: ``load_cable`` turns a parser crash into a CableParseError
  "parser failure: ...", which this test counts as a bug.
- The same for rows of a mutated ``cables.csv`` (``source`` is ``file:row``), and for text
  given in memory (what the shipped sample and CSV rows are).
- A hypothesis test over bytes and over small edits of real cables, for shrinking.
- ``build_index`` over a folder mixing good files with empty, blank, binary, UTF-16, too large,
  dangling-link and broken-CSV-row ones: the count is the good files; the bad ones are in the
  report's skipped list (and skipped.tsv) with a reason each.

Set ``CABLESEARCH_FUZZ_SEED`` to run other mutations.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import pytest
from fuzz_cables import FIXTURE_CABLES, CableFuzzer, fixture_files
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cablesearch.cable import parse_cable
from cablesearch.engine import to_whoosh
from cablesearch.errors import CableParseError
from cablesearch.model import Cable
from cablesearch.schema import to_document
from cablesearch.sources import MAX_BYTES, RawCable, iter_csv, load_cable

SEED = int(os.environ.get("CABLESEARCH_FUZZ_SEED", "8"))
MUTATIONS = 700
CSV_MUTATIONS = 12
#: Seconds one cable may take to read and parse (the slowest, a few MB of one line, take ~0.5 s).
LIMIT = 5.0

FILES = fixture_files()
DATA = {p: p.read_bytes() for p in FILES}


def read(path: Path | str, source: str | None = None) -> tuple[str, object]:
    """``("cable", Cable)`` or ``("error", CableParseError)`` for a file read as a build reads it;
    anything else propagates. Checks what the build does next with a Cable, and the error's source."""
    source = source or str(path)
    try:
        cable, content_hash = load_cable(RawCable(source=source, path=str(path)))
    except CableParseError as e:
        check_error(e, source)
        return "error", e
    check_cable(cable, content_hash)
    return "cable", cable


def check_error(e: CableParseError, source: str) -> None:
    assert e.source == source, (e.source, source)
    assert e.reason.strip()
    assert source in str(e)
    assert "parser failure" not in e.reason, f"the parser crashed on {source}: {e.reason}"


def check_cable(cable: Cable, content_hash: str) -> None:
    assert isinstance(cable, Cable)
    assert cable.key
    to_whoosh(to_document(cable, content_hash=content_hash))  # what the build does with it
    for text in (cable.body, cable.subject or "", *cable.tags, *(e.text for e in cable.entities)):
        assert "\x00" not in text and "\x1b" not in text, repr(text[:200])


def test_the_fixtures_are_all_cables():
    assert len(FILES) >= 30
    for path in FILES:
        assert read(path)[0] == "cable", path


def test_mutated_cables_give_a_cable_or_a_parse_error_naming_the_file(tmp_path, record_property):
    fuzzer = CableFuzzer(SEED)
    outcomes: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    failures: list[str] = []
    slowest = (0.0, "")
    for i in range(MUTATIONS):
        original = fuzzer.r.choice(FILES)
        what, data = fuzzer.mutate(DATA[original])
        path = tmp_path / f"m{i:04d}{original.suffix}"
        path.write_bytes(data)
        start = time.process_time()
        try:
            outcome, result = read(path)
        except Exception as e:  # anything but a CableParseError: the bug this test looks for
            failures.append(f"{what} of {original.name} ({path}): {type(e).__name__}: {e}")
            continue
        took = time.process_time() - start
        slowest = max(slowest, (took, f"{what} of {original.name}, {len(data):,} bytes"))
        outcomes[outcome if outcome == "cable" else result.reason] += 1
        kinds.update(what.split("+"))
        path.unlink()
    record_property("slowest_cable", f"{slowest[0]:.3f} s CPU: {slowest[1]}")
    print(f"\n{MUTATIONS} mutated cables: {dict(outcomes)}; slowest {slowest[0]:.3f} s CPU: {slowest[1]}")
    assert not failures, "\n".join(failures[:20])
    assert slowest[0] < LIMIT, slowest
    # every mutator ran, and both outcomes happen
    assert len(kinds) == 12, kinds
    assert outcomes["cable"] > MUTATIONS // 2
    assert outcomes["not a text file (binary data)"] > 10


@pytest.mark.parametrize("what", ["latin-1", "cp1252", "utf-16", "utf-16-le", "utf-8-sig", "mixed"])
def test_cables_in_other_encodings(tmp_path, what):
    """Latin-1, cp1252 and a UTF-8 BOM are read as text; UTF-16 is refused as binary (its NULs), with the name."""
    text = (FIXTURE_CABLES / "plain" / "09CAIRO2115.txt").read_text(encoding="utf-8") + "\nCAFÉ “QUOTED” – Zürich\n"
    if what == "mixed":
        data = text[:600].encode("utf-8") + text[600:900].encode("cp1252", "replace") + text[900:].encode("latin-1",
                                                                                                          "replace")
    else:
        data = text.encode(what, "replace")
    path = tmp_path / "cable.txt"
    path.write_bytes(data)
    outcome, result = read(path)
    if what.startswith("utf-16"):
        assert outcome == "error" and "binary" in result.reason
    else:
        assert outcome == "cable"
        assert "ZÜRICH" in result.body.upper() or "Zürich" in result.body, result.body[-200:]
        assert result.subject == "CAIRO - A2 VISA VALIDATION STUDY"


def test_hostile_cable_texts_in_memory():
    """Text that never went through a file (the sample, CSV rows): parse_cable and load_cable
    take anything, lone surrogates and every control character included."""
    base = (FIXTURE_CABLES / "plain" / "09PRAGUE260.txt").read_text(encoding="utf-8")
    texts = [
        "", " ", "\x00", "\ud800", "\udcff" * 100, base + "\ud800", "\x1b[2J" * 1000, "".join(map(chr, range(0x250))),
        "[ORG " * 20_000, "<a " * 20_000, "<a id='par1' href='#par1'>¶</a>" * 5000, "¶" * 50_000,
        "1. (C) " * 20_000, "SUBJECT: " + "X" * 500_000, "TAGS: " + "PREL " * 50_000, "\n" * 200_000,
        "\r" * 100_000, "\u2028" * 100_000, base.replace("\n", "\r"), base * 200, '"1","' + base,
        "<table class='cable'>" + base, "<html>" * 10_000, base.replace("1.", "1." * 1000),
        # a run of blanks without a newline was quadratic in the plain form's tidying (100,000 tabs: 23 s)
        base + "\t" * 1_000_000, "\t" * 1_000_000 + base, base + " \t" * 500_000 + "x\n",
    ]
    for i, text in enumerate(texts):
        start = time.process_time()
        cable = parse_cable(text, source=f"mem{i}")
        assert isinstance(cable, Cable)
        assert time.process_time() - start < LIMIT, i
        try:
            cable, content_hash = load_cable(RawCable(source=f"mem{i}", text=text))
        except CableParseError as e:
            check_error(e, f"mem{i}")
            # refused only when empty, or when nothing in it is what a cable has
            empty = not text.strip() or text == "\x00"
            assert empty or e.reason.startswith("does not look like a cable"), (i, e.reason)
            assert base not in text, (i, e.reason)  # anything holding a real cable is read
        else:
            check_cable(cable, content_hash)


def test_mutated_csv_rows_give_a_cable_or_a_parse_error_naming_the_row(tmp_path):
    fuzzer = CableFuzzer(SEED + 1)
    original = (FIXTURE_CABLES / "cables.csv").read_bytes()
    outcomes: Counter[str] = Counter()
    for i in range(CSV_MUTATIONS):
        _, data = fuzzer.mutate(original)
        path = tmp_path / f"m{i}.csv"
        path.write_bytes(data)
        rows = 0
        for raw in iter_csv(str(path)):
            rows += 1
            assert raw.source == f"{path}:{rows}"
            try:
                cable, content_hash = load_cable(raw)
            except CableParseError as e:
                check_error(e, raw.source)
                outcomes["error"] += 1
            else:
                check_cable(cable, content_hash)
                outcomes["cable"] += 1
    assert outcomes["cable"] and outcomes["error"], outcomes


# --------------------------------------------------------------------------- hypothesis

EDITS = st.lists(st.tuples(st.integers(0, 60_000), st.integers(0, 200), st.binary(max_size=12)), max_size=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from([p.name for p in FILES]), edits=EDITS)
def test_hypothesis_edited_cables(tmp_path_factory, name, edits):
    """Delete ``n`` bytes and insert some at a position, a few times: shrinks to the smallest break."""
    path = next(p for p in FILES if p.name == name)
    data = DATA[path]
    for pos, n, insert in edits:
        i = pos % (len(data) + 1)
        data = data[:i] + insert + data[i + n:]
    target = tmp_path_factory.mktemp("hyp") / path.name
    target.write_bytes(data)
    read(target)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=3000) | st.text(max_size=3000).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_hypothesis_any_bytes(tmp_path_factory, data):
    target = tmp_path_factory.mktemp("hyp") / "any.txt"
    target.write_bytes(data)
    read(target)


# --------------------------------------------------------------------------- a build over good and bad files


def _mixed_folder(root: Path) -> tuple[set[str], dict[str, str]]:
    """Good cables (distinct keys) and bad files; (good sources, bad source -> a word of its reason)."""
    folder = root / "cables"
    folder.mkdir()
    plain = (FIXTURE_CABLES / "plain" / "09CAIRO2115.txt").read_text(encoding="utf-8")
    candidates = {(f"09FUZZ{i}.txt" if src.suffix == ".txt" else src.name): src.read_bytes()
                  for i, src in enumerate(FILES)}
    candidates |= {  # named like cables, so each has its own key (a ref) whatever its text says
        "10LATIN1.txt": plain.replace("Cairo", "Caïro").encode("latin-1", "replace"),
        "10CPONE2.txt": (plain + "\n“quoted” – dash €\n").encode("cp1252"),
        "10CRLF3.txt": plain.replace("\n", "\r\n").encode(),
        "10BOM4.txt": b"\xef\xbb\xbf" + plain.encode(),
        "10TAILNUL5.txt": plain.encode() + b"\n" * 9000 + b"\x00 after the first 8 kB",
        "10NOTUTF6.txt": plain.encode() + b"\xff\xfe\xfd stray bytes \xc3",
    }
    good: set[str] = set()
    keys: set[str] = set()
    for name, data in candidates.items():
        path = folder / name
        path.write_bytes(data)
        outcome, cable = read(path)
        assert outcome == "cable", (name, cable)
        if cable.key in keys:  # the fixtures hold some cables in two forms: keep one
            path.unlink()
            continue
        keys.add(cable.key)
        good.add(str(path))
    bad = {
        "empty.txt": (b"", "empty"),
        "blank.txt": (b" \n\t\r\n  \n", "empty"),
        "binary.txt": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 40, "binary"),
        "controls.txt": (bytes(range(1, 9)) * 500, "binary"),
        "utf16.txt": (plain.encode("utf-16"), "binary"),
        "huge.txt": (b"A" * (MAX_BYTES + 10), "too large"),
    }
    bad_reasons: dict[str, str] = {}
    for name, (data, why) in bad.items():
        (folder / name).write_bytes(data)
        bad_reasons[str(folder / name)] = why
    (folder / "dangling.txt").symlink_to(folder / "nowhere.txt")
    bad_reasons[str(folder / "dangling.txt")] = "cannot read"
    rows = (FIXTURE_CABLES / "cables.csv").read_bytes()
    (folder / "dump.csv").write_bytes(b'"1","broken row with too few fields"\n' + rows)
    bad_reasons[f"{folder / 'dump.csv'}:1"] = "bad CSV row"
    for raw in iter_csv(str(folder / "dump.csv")):
        if not raw.meta.get("_error"):
            cable, _ = load_cable(raw)
            assert cable.key not in keys, cable.key
            good.add(raw.source)
    (folder / "notes.md").write_text("not a cable: not read at all")
    (folder / ".hidden.txt").write_text("hidden: not read at all")
    return good, bad_reasons


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_build_over_good_and_bad_files_indexes_every_good_one(tmp_path, jobs):
    from cablesearch.index import build_index, open_index

    good, bad = _mixed_folder(tmp_path)
    report = build_index([str(tmp_path / "cables")], tmp_path / "index", jobs=jobs)
    skipped = dict(report.skipped)
    assert set(skipped) == set(bad), (sorted(skipped), sorted(bad))
    for source, word in bad.items():
        assert word in skipped[source], (source, skipped[source])
    assert not report.duplicates, report.duplicates
    assert report.indexed == report.accepted == len(good), (report.indexed, len(good))
    assert report.seen == len(good) + len(bad)
    with open_index(tmp_path / "index") as ix:
        assert ix.doc_count() == len(good)
        assert {ix.get_stored(ref)["path"] for ref in ix.refs()} == good
    tsv = next((tmp_path / "index").rglob("skipped.tsv")).read_text(encoding="utf-8")
    for source in bad:
        assert source in tsv
