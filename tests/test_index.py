"""open_index and CableIndex: what "no index" looks like, the stored cable, stats, snapshots."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from cablesearch import indexdir
from cablesearch.build import build_index
from cablesearch.errors import CablesearchError, IndexNotFoundError, IndexStateError
from cablesearch.index import CableIndex, cable_from_stored, current_whoosh_index, open_index
from cablesearch.model import LEVELS, Cable, EntityType
from cablesearch.schema import to_document
from cablesearch.sources import discover, load_cable


def test_no_index_is_reported_as_not_found(tmp_path, monkeypatch):
    with pytest.raises(IndexNotFoundError, match="no index at"):
        open_index(tmp_path / "nothing")
    (tmp_path / "index").mkdir()
    (tmp_path / "index" / ".gitkeep").write_text("")
    with pytest.raises(IndexNotFoundError, match="build one"):
        open_index(tmp_path / "index")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(IndexNotFoundError):
        open_index()  # ./index, as in the repo: only .gitkeep
    (tmp_path / "file").write_text("x")
    with pytest.raises(IndexNotFoundError):
        open_index(tmp_path / "file")
    assert issubclass(IndexNotFoundError, CablesearchError)


def test_a_damaged_pointer_is_a_state_error(tmp_path):
    root = tmp_path / "index"
    root.mkdir()
    (root / indexdir.CURRENT).write_text("../../etc")
    with pytest.raises(IndexStateError, match="damaged"):
        open_index(root)
    (root / indexdir.CURRENT).write_text("gen-000004")
    with pytest.raises(IndexStateError, match="missing"):
        open_index(root)


def test_an_index_for_another_field_table_is_refused(index_copy):
    gen = indexdir.live_generation(index_copy)
    meta = json.loads((gen / "build.json").read_text())
    meta["fields"] = "0123"
    (gen / "build.json").write_text(json.dumps(meta))
    with pytest.raises(IndexStateError, match="rebuild"):
        open_index(index_copy)


def test_get_returns_the_stored_cable(fixture_index, fixture_cables):
    raw = next(r for r in discover([fixture_cables / "annotated"]) if r.source.endswith("000_615657d95461bb59.txt"))
    cable, _ = load_cable(raw)
    got = fixture_index.get(cable.key.lower())
    assert isinstance(got, Cable)
    assert got.key == cable.key == "09MOSCOW2723"
    assert (got.body, got.subject, got.origin, got.tags, got.date) == (cable.body, cable.subject, cable.origin,
                                                                       cable.tags, cable.date)
    assert got.classification == cable.classification
    assert got.source == cable.source and got.redactions == cable.redactions
    assert set(got.entities_of(EntityType.ORG)) == set(cable.entities_of(EntityType.ORG))
    assert fixture_index.get("no-such-cable") is None
    assert fixture_index.get_stored(cable.key)["hash"]


def test_cable_from_stored_is_the_inverse_of_to_document_for_stored_fields(fixture_cables):
    for raw in list(discover([fixture_cables]))[:10]:
        cable, sha1 = load_cable(raw)
        doc = to_document(cable, content_hash=sha1)
        stored = {k: v for k, v in doc.items() if k in ("ref", "body", "subject", "label", "origin", "date",
                                                         "released", "redactions", "path", "serial", "entities")}
        if "tag" in doc:
            stored["tag"] = ",".join(doc["tag"])
        back = cable_from_stored(stored)
        assert back.key == cable.key and back.body == cable.body and back.tags == cable.tags


def test_stats_describe_the_index(fixture_index):
    st = fixture_index.stats()
    n = fixture_index.doc_count()
    assert st["cables"] == n == len(fixture_index) > 30
    assert set(st["by_classification"]) <= set(LEVELS)
    assert sum(st["by_classification"].values()) <= n
    assert sum(st["by_year"].values()) <= n and all(1960 < y < 2012 for y in st["by_year"])
    assert st["first_date"] <= st["last_date"]
    assert st["top_tags"][0][1] >= st["top_tags"][-1][1] > 0
    assert all(t == t.upper() for t, _ in st["top_tags"]) and st["top_origins"]
    assert st["size_bytes"] > 100_000
    assert st["built_at"] and st["updated_at"] is None
    assert st["duplicates"] == 1 and st["skipped"] == 0 and st["deleted"] == 1
    json.dumps(st)  # plain data


def test_stats_counts_leave_deleted_documents_out(fixture_cables, tmp_path):
    root = tmp_path / "index"
    build_index([fixture_cables / "annotated", fixture_cables / "html"], root, jobs=1)
    with open_index(root) as ix:
        st = ix.stats()
        assert st["deleted"] == 1  # the annotated 04ANKARA7106, beaten by the html page
        tags = ix.term_counts("tag")
        s = ix.searcher()
        from whoosh.query import Term

        for tag, n in list(tags.items())[:20]:
            assert n == len(s.search(Term("tag", tag), limit=None)), tag


def test_a_closed_index_says_so(fixture_index_path):
    ix = open_index(fixture_index_path)
    with ix:
        assert ix.doc_count() > 0
    with pytest.raises(IndexStateError, match="closed"):
        ix.doc_count()
    ix.close()  # twice is fine


def test_opening_while_generations_swap_never_fails(fixture_cables, tmp_path):
    root = tmp_path / "index"
    counts = {build_index([fixture_cables / "plain"], root, jobs=1).indexed}
    stop, errors, seen = threading.Event(), [], set()

    def reader():
        while not stop.is_set():
            try:
                with open_index(root) as ix:
                    seen.add(ix.doc_count())
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)

    t = threading.Thread(target=reader)
    t.start()
    try:
        for folder in ("annotated", "plain", "html", "plain"):
            counts.add(build_index([fixture_cables / folder], root, jobs=1).indexed)
    finally:
        stop.set()
        t.join()
    assert not errors
    assert seen <= counts and seen


def test_cable_index_is_the_class_open_index_returns(fixture_index_path: Path):
    with open_index(fixture_index_path) as ix:
        assert type(ix) is CableIndex
        assert ix.generation.parent == fixture_index_path
        assert ix.searcher() is ix.searcher()
        assert ix.whoosh_index().doc_count() == ix.doc_count()
        live = current_whoosh_index(fixture_index_path)
        assert live.doc_count() == ix.doc_count()
        assert live.storage.supports_mmap is False  # see buildworkers.whoosh_storage
