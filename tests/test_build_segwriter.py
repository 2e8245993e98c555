"""The build workers' writer (cablesearch.segwriter) writes exactly what whoosh's stock writer writes:
every stored field, posting, weight, position, field length and term statistic; and a document that
fails half-way leaves nothing behind, where the stock writer leaves stray postings."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3Codec

from cablesearch.codec import CompactCodec, new_codec
from cablesearch.engine import to_whoosh, whoosh_schema
from cablesearch.schema import to_document
from cablesearch.segwriter import WorkerWriter, _FastText
from cablesearch.sources import discover, load_cable


@pytest.fixture(scope="module")
def docs(fixture_cables: Path) -> list[dict]:
    out = []
    for raw in discover([fixture_cables]):
        cable, sha1 = load_cable(raw)
        out.append(to_whoosh(to_document(cable, content_hash=sha1)))
    assert len(out) > 30
    return out


def dump(folder: Path) -> dict:
    """Everything a reader can see in an index, as plain data."""
    ix = whoosh_index.open_dir(str(folder))
    with ix.reader() as r:
        n = r.doc_count_all()
        out: dict = {"stored": [r.stored_fields(d) for d in range(n) if not r.is_deleted(d)], "terms": {}}
        for fieldname in sorted(r.indexed_field_names()):
            if r.schema[fieldname].scorable:
                out[("length", fieldname)] = (r.field_length(fieldname), r.min_field_length(fieldname),
                                              r.max_field_length(fieldname),
                                              [r.doc_field_length(d, fieldname) for d in range(n)])
            for btext in r.lexicon(fieldname):
                ti = r.term_info(fieldname, btext)
                m = r.postings(fieldname, btext)
                posts = []
                while m.is_active():
                    posts.append((m.id(), m.weight(), m.value()))
                    m.next()
                out["terms"][(fieldname, btext)] = (ti.weight(), ti.doc_frequency(), ti.min_length(),
                                                    ti.max_length(), ti.max_weight(), ti.min_id(), ti.max_id(), posts)
        if r.has_column("date"):
            out["date"] = list(r.column_reader("date"))
    return out


def stock_index(folder: Path, docs: list[dict], codec: object = None) -> Path:
    folder.mkdir()
    ix = whoosh_index.create_in(str(folder), whoosh_schema())
    w = ix.writer(limitmb=1, **({"codec": codec} if codec else {}))  # 1 MB: spill sorted runs to disk
    for d in docs:
        w.add_document(**d)
    w.commit()
    return folder


def worker_index(folder: Path, docs: list[dict], fail_after: int | None = None, bad: dict | None = None,
                 codec: object = None, spills: list[int] | None = None) -> Path:
    folder.mkdir()
    ix = whoosh_index.create_in(str(folder), whoosh_schema())
    w = WorkerWriter(ix, limitmb=1, compound=True, **({"codec": codec} if codec else {}))
    assert w.pool.limit == 1024 * 1024
    if spills is not None:  # count the runs the pool writes
        save = w.pool.save
        w.pool.save = lambda: (spills.append(len(w.pool.fields)), save())[1]
    for i, d in enumerate(docs):
        w.add_atomic(d)
        if i == fail_after:
            with pytest.raises(UnicodeEncodeError):
                w.add_atomic(bad)
    w.commit(merge=False)
    return folder


CODECS = {"whoosh": lambda: None, "whoosh-4": lambda: W3Codec(blocklimit=4), "compact": new_codec,
          "compact-4": lambda: CompactCodec(blocklimit=4)}


@pytest.mark.parametrize("codec", CODECS)
def test_the_worker_writer_writes_what_whoosh_writes(docs, tmp_path, codec):
    """With whoosh's codec and ours, with blocks of 4 postings (a term over many blocks) and
    their defaults, and with the postings spilled to runs on disk and merged back."""
    expected = dump(stock_index(tmp_path / "stock", docs, CODECS[codec]()))
    spills: list[int] = []
    got = dump(worker_index(tmp_path / "worker", docs, codec=CODECS[codec](), spills=spills))
    assert len(spills) >= 2 and all(spills)
    assert got["stored"] == expected["stored"]
    assert got["terms"].keys() == expected["terms"].keys()
    assert max(len(t[-1]) for t in got["terms"].values()) > 30  # terms of many blocks
    assert got == expected


def _bad(doc: dict) -> dict:
    # A lone surrogate in the source path: the body and the entity fields analyse fine, then the
    # ``path`` field cannot be encoded.
    return {**doc, "ref": "BAD-1", "path": "bad\udcff.txt"}


def test_a_failed_add_leaves_the_worker_writer_untouched(docs, tmp_path):
    expected = dump(stock_index(tmp_path / "stock", docs[:6]))
    got = dump(worker_index(tmp_path / "worker", docs[:6], fail_after=2, bad=_bad(docs[3])))
    assert got == expected


def test_whoosh_alone_leaves_stray_postings_after_a_failed_add(docs, tmp_path):
    """Why add_atomic exists. (If this ever fails, whoosh fixed it; add_atomic stays harmless.)"""
    (tmp_path / "stock").mkdir()
    ix = whoosh_index.create_in(str(tmp_path / "stock"), whoosh_schema())
    w = ix.writer()
    w.add_document(**docs[0])
    with pytest.raises(UnicodeEncodeError):
        w.add_document(**_bad(docs[3]))
    w.add_document(**docs[1])
    w.commit()
    clean = dump(stock_index(tmp_path / "clean", docs[:2]))
    assert dump(tmp_path / "stock")["terms"] != clean["terms"]


WORDS = st.sampled_from(["the", "a", "Embassy", "ministers", "U.S.", "1.4", "e-mail", "naïve", "Straße", "x*y",
                         "O'Brien", "İstanbul", "ΑΘΗΝΑ", "北京", "running", "ran", "runs", "...", "--", "3rd", "I"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(WORDS, st.text(min_size=1, max_size=12)), max_size=60).map(" ".join))
def test_the_fast_text_analysis_equals_whoosh(text):
    schema = whoosh_schema()
    for fieldname in ("body", "subject"):
        field = schema[fieldname]
        fast = _FastText(field)
        assert fast.ok, "the text fields no longer use the stock stemming chain: check segwriter._FastText"
        try:
            expected = list(field.index(text))
        except UnicodeEncodeError:
            with pytest.raises(UnicodeEncodeError):
                fast.index(text)
            continue
        assert fast.index(text) == expected


def test_other_analyzers_are_not_taken_for_the_stock_chain():
    schema = whoosh_schema()
    assert _FastText(schema["org"]).ok is False  # entity tokenizer
    assert _FastText(schema["tag"]).ok is False  # keyword
    assert _FastText(schema["ref"]).ok is False  # id


def test_the_stemming_chain_gives_the_analyzers_tokens(fixture_cables):
    """Snippets re-analyse text with ``StemmingChain.tokens``: the same tokens, positions,
    words and character spans as the body analyzer's, on every fixture cable (accents, stop
    words, dotted words, start offsets) and on text made to stress it."""
    import random

    from cablesearch.engine import whoosh_schema
    from cablesearch.segwriter import StemmingChain

    analyzer = whoosh_schema()["body"].analyzer
    chain = StemmingChain(analyzer)
    assert chain.ok
    rng = random.Random(3)
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(fixture_cables.rglob("*.txt"))]
    texts += ["SÃO PAULO: the U.S. a.k.a. Chávez's *stan 3.14 Ünïcödé of the and a I", "", "the of and"]
    compared = 0
    for text in texts:
        a = rng.randrange(0, max(1, len(text) // 2))
        b = min(len(text), a + rng.randrange(1, 6000))
        start_pos = rng.randrange(0, 300)
        theirs = [(t.pos, t.text, t.original.lower(), t.startchar, t.endchar)
                  for t in analyzer(text[a:b], positions=True, chars=True, keeporiginal=True, mode="index",
                                    start_char=a, start_pos=start_pos)]
        assert list(chain.tokens(text[a:b], a, start_pos)) == theirs
        compared += len(theirs)
    assert compared > 5000


@pytest.mark.parametrize("method", ["add_document", "update_document"])
def test_whooshs_own_adds_are_refused_before_they_touch_the_writer(docs, tmp_path, method):
    """Only add_atomic is all or nothing: whoosh's add_document would start a document in the
    per-document writer and then fail in the pool, half-way."""
    expected = dump(stock_index(tmp_path / "stock", docs[:3]))
    (tmp_path / "worker").mkdir()
    ix = whoosh_index.create_in(str(tmp_path / "worker"), whoosh_schema())
    w = WorkerWriter(ix, compound=True)
    w.add_atomic(docs[0])
    with pytest.raises(NotImplementedError, match="add_atomic"):
        getattr(w, method)(**docs[1])
    assert w.docnum == 1
    w.add_atomic(docs[1])
    w.add_atomic(docs[2])
    w.commit(merge=False)
    assert dump(tmp_path / "worker") == expected


def test_a_merge_that_fails_leaves_its_runs_for_cleanup(docs, tmp_path):
    (tmp_path / "worker").mkdir()
    ix = whoosh_index.create_in(str(tmp_path / "worker"), whoosh_schema())
    w = WorkerWriter(ix, limitmb=1, compound=True)
    for d in docs:
        w.add_atomic(d)
    pool = w.pool
    pool.save()
    store = pool.tempstore
    runs = [name for name in store.list() if name.endswith(".run")]
    assert len(runs) >= 2 and sorted(runs) == sorted(pool.runs)

    def broken(path):
        raise OSError("disk gone")
        yield  # a generator, as _read_run is

    pool._read_run = broken
    with pytest.raises(OSError, match="disk gone"):
        list(pool.iter_terms())
    assert sorted(pool.runs) == sorted(runs)
    pool.cleanup()
    assert not [name for name in store.list() if name.endswith(".run")]
    w.cancel()


def test_lengths_for_the_flush_are_whooshs_lengths(docs, tmp_path):
    """_CachedLengths reads a field's length column in one go; what it gives is what whoosh's
    per-document reader gives a document at a time, in columns that stop early too (a field
    only the first documents have)."""
    from whoosh.codec import default_codec

    from cablesearch.segwriter import _CachedLengths

    schema = whoosh_schema()
    names = [n for n in schema.names() if schema[n].scorable]
    # last, the cable with the fewest of those fields: their columns end before it
    last = min(docs, key=lambda d: sum(d.get(n) is not None for n in names))
    folder = worker_index(tmp_path / "worker", [d for d in docs if d is not last] + [last])
    ix = whoosh_index.open_dir(str(folder))
    seen_short = False
    with ix.reader() as r:
        n = r.doc_count_all()
        for codec in (new_codec(), default_codec()):  # the segment's files, read by either codec
            pdr = codec.per_document_reader(r._storage, r.segment())
            cached = _CachedLengths(pdr, n)
            # a per-document reader that is not whoosh 3's: one call a document
            plain = _CachedLengths(SimpleNamespace(doc_field_length=pdr.doc_field_length), n)
            for name in names:
                expected = [pdr.doc_field_length(d, name) for d in range(n)]
                assert any(expected), name
                assert [cached.doc_field_length(d, name) for d in range(n)] == expected
                assert cached.of(name) == expected == plain.of(name)
                seen_short |= expected[-1] is None
    assert seen_short, "no field whose column stops before the last document: the test lost its case"
