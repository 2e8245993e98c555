"""The completer through prompt_toolkit Documents, no terminal; the value lists and their speed."""

from __future__ import annotations

import time

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from cablesearch.schema import FIELDS
from cablesearch.shell.completer import ShellCompleter, quote_value
from cablesearch.shell.values import VALUE_FIELDS, ValueCache, ValueList

VALUES = {
    "tag": [("PREL", 120), ("PGOV", 90), ("ECON", 40), ("PHUM", 30), ("WTO", 3)],
    "org": [("FSB", 12), ("Gazprom", 30), ("Federal Security Service", 2), ("Foreign Ministry", 7)],
    "per": [("John Beyrle", 9), ("Medvedev", 20), ("Beyrle", 4)],
    "class": [("unclassified", 100), ("confidential", 80), ("secret", 20), ("noforn", 10)],
    "origin": [("MOSCOW", 50), ("USUN NEW YORK", 5)],
}


def complete(text, values=VALUES, requested=False, cursor=None):
    cache = ValueCache(lambda f: values.get(f, []))
    c = ShellCompleter(cache)
    doc = Document(text, len(text) if cursor is None else cursor)
    return list(c.get_completions(doc, CompleteEvent(completion_requested=requested)))


def texts(completions):
    return [c.text for c in completions]


def test_field_names_with_their_help():
    got = complete("or", requested=True)
    assert texts(got)[:2] == ["org:", "origin:"]
    meta = {c.text: c.display_meta_text for c in got}
    assert meta["org:"] == next(f.help for f in FIELDS if f.name == "org")


def test_aliases_complete_when_no_canonical_name_matches():
    got = complete("organi", requested=True)
    assert texts(got) == ["organization:"]
    assert got[0].display_meta_text.startswith("= org:")


def test_all_fields_on_tab_but_not_after_every_space():
    assert complete("intel ") == []
    got = texts(complete("intel ", requested=True))
    assert got == [f.name + ":" for f in FIELDS if f.searchable]


def test_values_most_frequent_first_with_counts():
    got = complete("tag:P")
    assert texts(got) == ["PREL", "PGOV", "PHUM"]
    assert got[0].display_meta_text == "120 cables"
    assert got[0].start_position == -1


def test_values_right_after_the_colon():
    assert texts(complete("tag:"))[:2] == ["PREL", "PGOV"]


def test_values_case_insensitive_and_by_any_word():
    assert texts(complete("org:f")) == ["FSB", '"Foreign Ministry"', '"Federal Security Service"']
    # a later word matches too, after the values that start with the prefix
    assert texts(complete("per:bey")) == ["Beyrle", '"John Beyrle"']


def test_values_with_spaces_are_quoted_and_an_open_quote_is_replaced():
    got = complete('per:"John B')
    assert texts(got) == ['"John Beyrle"']
    assert got[0].start_position == -len('"John B')
    got = complete('origin:usun')
    assert texts(got) == ['"USUN NEW YORK"']


def test_values_inside_a_field_group():
    assert texts(complete("tag:(PREL OR PG")) == ["PGOV"]


def test_no_values_for_fields_without_them():
    assert complete("date:2") == []
    assert complete("body:x") == []


def test_operators_when_typed_in_capitals():
    got = complete("intel AN")
    assert "AND" in texts(got)
    assert "AND" not in texts(complete("intel an"))


def test_commands_with_their_help():
    got = complete(":")
    names = texts(got)
    for want in (":show", ":facets", ":sort", ":limit", ":export", ":explain", ":stats", ":help", ":quit", ":more"):
        assert want in names
    assert all(c.display_meta_text for c in got)
    assert texts(complete(":sh")) == [":show"]
    assert complete(":sh")[0].start_position == -3


def test_command_arguments():
    assert texts(complete(":sort -")) == ["-date"]
    assert texts(complete(":sort ")) == ["relevance", "date", "-date"]
    facets = texts(complete(":facets tag,c"))
    assert facets == ["class"]
    assert "body" not in texts(complete(":facets ", requested=True))
    assert texts(complete(":explain tag:W")) == ["WTO"]
    assert "syntax" in texts(complete(":help s"))


def test_export_completes_paths(tmp_path):
    (tmp_path / "results.jsonl").write_text("")
    got = complete(f":export {tmp_path}/res")
    assert texts(got) == ["ults.jsonl"]


def test_cursor_in_the_middle_completes_what_is_before_it():
    assert texts(complete("tag:P intel", cursor=5)) == ["PREL", "PGOV", "PHUM"]


def test_quote_value():
    assert quote_value("WTO") == "WTO"
    assert quote_value("U.S.") == "U.S."
    assert quote_value("John Beyrle") == '"John Beyrle"'
    assert quote_value("OR") == '"OR"'
    assert quote_value("-x") == '"-x"'
    assert quote_value("x*") == '"x*"'
    assert quote_value("wto", force=True) == '"wto"'


def test_value_list_prefix_lookup():
    vl = ValueList([("b", 1), ("ab", 5), ("abc", 3), ("x ab", 9), ("ab", 1)])
    assert vl.match("ab") == [("ab", 6), ("abc", 3), ("x ab", 9)]
    assert vl.match("") == [("x ab", 9), ("ab", 6), ("abc", 3), ("b", 1)]
    assert vl.match("zz") == []
    assert len(vl) == 4


def test_cache_loads_in_background_and_on_demand():
    calls = []

    def source(field):
        calls.append(field)
        return VALUES.get(field, [])

    cache = ValueCache(source)
    assert cache.get("tag").match("W") == [("WTO", 3)]  # on demand, before any thread
    cache.start()
    assert cache.wait(10)
    assert sorted(calls) == sorted(VALUE_FIELDS)  # each field loaded once
    assert all(cache.loaded(f) for f in VALUE_FIELDS)


def test_cache_survives_a_failing_source():
    def source(field):
        raise RuntimeError("boom")

    cache = ValueCache(source)
    assert len(cache.get("tag")) == 0
    assert "boom" in cache.errors["tag"]


@pytest.mark.parametrize("n", [200_000])
def test_completion_is_fast_on_a_large_value_list(n):
    values = {"org": [(f"organisation number {i}", (i * 7919) % 1000 + 1) for i in range(n)]}
    cache = ValueCache(lambda f: values.get(f, []))
    t0 = time.perf_counter()
    cache.get("org")
    load = time.perf_counter() - t0
    c = ShellCompleter(cache)
    worst = 0.0
    for prefix in ("", "o", "org", '"organisation number 1', "num", "7"):
        doc = Document("org:" + prefix)
        t0 = time.perf_counter()
        got = list(c.get_completions(doc, CompleteEvent()))
        worst = max(worst, time.perf_counter() - t0)
        assert got or prefix == "7"
    assert worst < 0.05, f"completion took {worst * 1000:.0f} ms (load {load:.2f} s)"
    print(f"load {load:.2f} s, worst completion {worst * 1000:.1f} ms")


def test_value_list_agrees_with_brute_force():
    import random

    rnd = random.Random(7)
    words = ["al", "alpha", "beta", "bet", "gamma", "al-qaida", "u.s.", "x", "alps", "be"]
    pairs = [(" ".join(rnd.choice(words) for _ in range(rnd.randint(1, 3))) + f" {i}", rnd.randint(1, 500))
             for i in range(6000)]
    vl = ValueList(pairs)
    import re

    def brute(p, limit=100):
        starts = [(v, n) for v, n in vl.items if v.lower().startswith(p)]
        later = [(v, n) for v, n in vl.items if not v.lower().startswith(p)
                 and re.search(r"(?:(?<=[\s\-/.(]))" + re.escape(p), v.lower())]
        return (starts + later)[:limit]

    for p in ["a", "al", "alp", "b", "be", "bet", "q", "qaida", "u.", "s.", "x", "1", "12", "alpha b", "zz"]:
        assert vl.match(p) == brute(p), p
