"""Completion values come at once (from the index's word list, before a field is loaded) and never
offer a value no live cable has. The fixture index keeps one replaced cable as a deleted document,
so some words (``ankara`` in org, ``bashir`` in per) are in the word list with no live cable."""

from __future__ import annotations

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from cablesearch.index import _live_terms
from cablesearch.shell.completer import ShellCompleter, quote_value
from cablesearch.shell.values import IndexValues, PrefixValues, ValueCache, ValueList

ENTITY_FIELDS = ("org", "per", "loc", "misc")


def dead_terms(ix, field: str) -> set[str]:
    """Words of ``field`` in the index's word list that no live cable has."""
    reader = ix.searcher().reader()
    live = {t for t, _ in _live_terms(reader, field)}
    return {t.decode() for t, _ in _live_terms(reader, field, exact=False)} - {t.decode() for t in live}


def test_the_fixture_index_has_words_only_a_deleted_cable_has(fixture_index):
    assert "ankara" in dead_terms(fixture_index, "org")
    assert "bashir" in dead_terms(fixture_index, "per")


@pytest.mark.parametrize("field", ENTITY_FIELDS)
@pytest.mark.parametrize("prefix", ["", "a", "an", "b"])
def test_prefix_counts_offer_only_values_a_live_cable_has(fixture_index, field, prefix):
    got = fixture_index.prefix_counts(field, prefix, limit=100)
    assert not {v for v, _ in got} & dead_terms(fixture_index, field)
    for value, hint in got:
        assert value.startswith(prefix)
        found = fixture_index.count(f"{field}:{quote_value(value)}")
        assert 0 < found <= hint  # a hint counts replaced cables too: never fewer than the live ones


def test_lexicon_hints_are_never_below_the_exact_counts(fixture_index):
    exact = fixture_index.term_counts("per")
    hints = fixture_index.term_counts("per", exact=False)
    assert set(exact) <= set(hints)
    assert all(hints[t] >= n for t, n in exact.items())
    assert any(hints[t] > exact.get(t, 0) for t in hints)  # the replaced cable is still counted


def test_first_completion_answers_from_the_word_list_then_the_loaded_values(fixture_index):
    cache = ValueCache.for_index(fixture_index)
    completer = ShellCompleter(cache)
    event = CompleteEvent(completion_requested=True)
    interim = cache.get("org")
    assert isinstance(interim, PrefixValues)  # not loaded yet: nothing waits for the load
    offered = [c.text for c in completer.get_completions(Document("org:an"), event)]
    assert offered and "ankara" not in offered
    assert all(fixture_index.count(f"org:{v}") > 0 for v in offered)
    loaded = cache.load("org")  # the load the first completion started
    assert isinstance(cache.get("org"), ValueList) and loaded is cache.get("org")
    assert any(" " in v for v, _ in loaded.items)  # whole mentions once loaded
    source = cache._source
    source.close()


def test_a_value_list_from_lexicon_hints_drops_dead_values_when_shown(fixture_index, monkeypatch):
    monkeypatch.setattr(IndexValues, "MENTIONS_UP_TO", 0)  # as on a big index: the word list's counts
    source = IndexValues(fixture_index)
    try:
        cache = ValueCache(source)
        values = cache.get("per")
        assert values.verify is not None
        listed = {v for v, _ in values.items}
        assert "bashir" in listed  # in the list (a hint) ...
        shown = [v for v, _ in values.match("b", 100)]
        assert shown and "bashir" not in shown  # ... never offered
        assert all(fixture_index.count(f"per:{v}") > 0 for v in shown)
    finally:
        source.close()


def test_lookups_from_another_thread_use_their_own_searcher(fixture_index):
    import threading

    got: dict[str, object] = {}

    def run():
        got["prefix"] = fixture_index.prefix_counts("tag", "p", limit=5)
        got["live"] = fixture_index.live_terms("org", ["fsb", "ankara"])

    t = threading.Thread(target=run)
    t.start()
    t.join(30)
    assert got["prefix"] and all(v.startswith("p") for v, _ in got["prefix"])
    assert got["live"] == {"fsb"}


def test_a_prefix_is_read_as_the_index_keeps_words(fixture_index):
    """Lowercased, accents folded: ``Fs`` and ``fś`` find the words ``fs...``."""
    plain = fixture_index.prefix_counts("org", "fs")
    assert plain and fixture_index.prefix_counts("org", "Fs") == plain == fixture_index.prefix_counts("org", "fś")
