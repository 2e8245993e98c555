"""An index built before posting blocks kept their ids and weights uncompressed and before the body
moved out of the stored record keeps working: it answers as a new index of the same cables, and
an update adds to it.

``tests/fixtures/index-layout1`` was built by commit 4c2ac67 (the last of that layout) with
``cablesearch build src8 --index index-layout1 --jobs 1``, ``src8`` holding the first 8 files of
``tests/fixtures/cables/annotated`` (sorted by name); its two empty lock files were left out.
In it a block of positions is compressed whole, weights are a float32 each, and the body is in
each cable's stored record.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from test_bulk import QUERIES

from cablesearch import open_index
from cablesearch.engine import STORED_APART, open_whoosh
from cablesearch.index import build_index
from cablesearch.indexdir import BUILD_JSON, live_generation
from cablesearch.schema import fields_fingerprint, readable_fingerprints

FIXTURE = Path(__file__).parent / "fixtures" / "index-layout1"
EXTRA = [  # the posting blocks are small at 8 cables: phrases and words of several cables
    '"united states"', "government", "minister OR embassy", "ambassador AND government",
    "org:* AND government", "body:gov*", 'subject:"human rights"', "loc:Russia OR loc:Moscow",
]


def _sources(fixture_cables: Path, folder: Path, count: int) -> Path:
    folder.mkdir(parents=True)
    for path in sorted((fixture_cables / "annotated").glob("*.txt"))[:count]:
        shutil.copy2(path, folder / path.name)
    return folder


def _copy_of_fixture(tmp_path: Path) -> Path:
    root = tmp_path / "index-layout1"
    shutil.copytree(FIXTURE, root)
    return root


def _answers(root: Path) -> list[object]:
    out = []
    with open_index(root) as ix:
        for text in [*QUERIES, *EXTRA]:
            res = ix.search(text, limit=20, snippets=2)
            out.append((text, res.total, [(h.ref, h.score, [s.text for s in h.snippets]) for h in res.hits]))
        refs = ix.refs()
        out.append([(ref, ix.get(ref).body, ix.get_stored(ref)["body"]) for ref in refs])
        out.append([(h.ref, h.score) for h in ix.more_like(refs[0], limit=5).hits])
    return out


def _layout(root: Path) -> tuple[bool, set[tuple[str, str]]]:
    """Is the body in the stored records; how the body's blocks are kept: ("compressed", "?")
    for a block compressed whole, ("plain", its values kind) for one that is not."""
    ix = open_whoosh(live_generation(root))
    with ix.searcher() as s:
        reader = s.reader()
        in_record = all("body" in fields for _, fields in reader.iter_docs())
        kinds = set()
        for term in list(reader.lexicon("body"))[:400]:
            m = reader.postings("body", term)
            if hasattr(m, "_postfile") and not getattr(m, "_byteids", True):
                data = m._postfile.get(m._dataoffset, m._nextoffset - m._dataoffset)
                kinds.add(("compressed", "?") if m._compression else ("plain", chr(data[2])))
    return in_record, kinds


@pytest.fixture(scope="module")
def fresh_index(fixture_cables: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same 8 cables, built now."""
    tmp = tmp_path_factory.mktemp("layout2")
    root = tmp / "index"
    build_index([str(_sources(fixture_cables, tmp / "src8", 8))], root, jobs=1)
    return root


def test_the_fixture_is_of_the_earlier_layout_and_a_new_index_is_not(tmp_path, fresh_index):
    old_record, old_kinds = _layout(_copy_of_fixture(tmp_path))
    new_record, new_kinds = _layout(fresh_index)
    assert old_record and ("compressed", "?") in old_kinds  # the body in the record; blocks zipped whole
    assert not new_record and STORED_APART == ("body",)
    assert ("plain", "Z") in new_kinds and not any(k[0] == "compressed" for k in new_kinds)
    # An earlier version compares an index's fingerprint with its own, the fixture's: a new
    # index differs, so it is refused there instead of misread.
    assert _fingerprint(_copy_of_fixture(tmp_path / "again")) == readable_fingerprints()[-1]
    assert _fingerprint(fresh_index) == fields_fingerprint() == readable_fingerprints()[0]
    assert fields_fingerprint() not in readable_fingerprints()[1:]


def _fingerprint(root: Path) -> str:
    return json.loads((live_generation(root) / BUILD_JSON).read_text(encoding="utf-8"))["fields"]


def test_an_index_of_the_earlier_layout_answers_as_a_new_one(tmp_path, fresh_index):
    old = _answers(_copy_of_fixture(tmp_path))
    assert old == _answers(fresh_index)
    assert sum(1 for a in old[:-2] if a[1]) > 25  # most queries find cables
    assert all(body and body == stored for _, body, stored in old[-2])


def test_an_update_of_an_index_of_the_earlier_layout_adds_to_it(tmp_path, fixture_cables, monkeypatch):
    """Two cables more: the update keeps the earlier segment and writes a new one in the index's
    own schema (the body stays in the records); it answers as a new build of the 10 cables."""
    root = _copy_of_fixture(tmp_path)
    monkeypatch.chdir(tmp_path)  # the fixture's ledger lists its sources as src8/...
    _sources(fixture_cables, tmp_path / "src8", 10)
    report = build_index(["src8"], root, update=True, jobs=1)
    assert (report.added, report.unchanged, report.removed) == (2, 8, 0)
    in_record, _ = _layout(root)
    assert in_record
    assert _fingerprint(root) == fields_fingerprint()  # its new segment's blocks: not for an earlier version
    fresh = tmp_path / "fresh"
    build_index([str(_sources(fixture_cables, tmp_path / "ten", 10))], fresh, jobs=1)
    assert _answers(root) == _answers(fresh)
