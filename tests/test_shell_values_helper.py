"""Completion values of a big index come from a helper process, the same as computed in the shell's."""

from __future__ import annotations

import multiprocessing

from cablesearch.shell.values import VALUE_FIELDS, IndexValues, ValueCache


def test_the_helper_process_gives_the_values_the_shell_would_compute(fixture_index, monkeypatch):
    monkeypatch.setattr(IndexValues, "PROCESS_ABOVE", 0)  # the fixture index counts as big
    helped = IndexValues(fixture_index)
    here = IndexValues(fixture_index, helper=False)
    try:
        assert helped._use_helper() and not here._use_helper()
        for field in VALUE_FIELDS:
            got = helped(field)
            assert sorted(got) == sorted(here.compute(field)), field
            assert helped.hinted(field) == here.hinted(field)
        assert any(helped(f) for f in VALUE_FIELDS)
        pool = helped._pool
        assert pool is not None  # the values did come from the helper
        workers = list(pool._pool)
        assert workers and all(w.is_alive() for w in workers)
    finally:
        helped.close()
        here.close()
    assert helped._pool is None
    for w in workers:
        w.join(10)
        assert not w.is_alive()  # closing kills the helper, even in the middle of a load
    assert not [p for p in multiprocessing.active_children() if p in workers]


def test_without_a_helper_the_values_are_computed_here(fixture_index, monkeypatch):
    class Broken:
        def apply_async(self, *args, **kwargs):
            raise OSError("no processes here")

        def terminate(self):
            pass

    monkeypatch.setattr(IndexValues, "PROCESS_ABOVE", 0)
    monkeypatch.setattr(IndexValues, "_pool_for", lambda self: Broken())
    values = IndexValues(fixture_index)
    try:
        tags = values("tag")
        assert ("PREL", max(n for v, n in tags if v == "PREL")) in tags
        assert not values._helper  # not tried again for the next field
        cache = ValueCache.for_index(fixture_index)
        assert len(cache.load("org")) > 0
    finally:
        values.close()
