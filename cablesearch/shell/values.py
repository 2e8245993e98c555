"""The values completion offers after ``tag:``, ``org:`` ...: loaded once, looked up by prefix fast.

The index gives ``value_counts(field)`` (value, number of cables) for every field of the table
with ``complete_values``. :class:`ValueCache` loads them in a background thread started when the
shell opens, so the first prompt does not wait; a completion asked for before its field is loaded
loads that field at once (the completer runs in its own thread, so typing never blocks).
:class:`ValueList` answers "values starting with p, most frequent first" with a binary search over
the start of every word of every value (``bey`` finds ``John Beyrle``). Until a field is loaded,
:class:`PrefixValues` answers from the index's word list, prefix by prefix, at once (and starts
the field's load after answering), so a Tab pressed early never waits for a load.
"""

from __future__ import annotations

import bisect
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..schema import ENTITY_FIELDS, FIELD_BY_NAME, FIELDS

#: The fields completion offers values for, in the order they are loaded.
VALUE_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.complete_values)

_WORD_START = re.compile(r"(?:^|(?<=[\s\-/.(]))\w", re.UNICODE)


def _later_word_starts(low: str, p: str) -> bool:
    """Does a word of ``low`` other than the first start with ``p``?"""
    i = low.find(p, 1)
    while i > 0:
        if _WORD_START.match(low, i) and (low[i - 1].isspace() or low[i - 1] in "-/.("):
            return True
        i = low.find(p, i + 1)
    return False


class ValueList:
    """(value, count) pairs, most frequent first, with a prefix lookup on the start of each word.

    Two sorted key arrays, one for whole values and one for the later words of each value, each
    key paired with the value's rank (0 = most frequent). A prefix is a range of keys found by
    binary search; the best ranks of a range are a sort of a slice. Ranges of more than
    :data:`MEMO_OVER` keys (short prefixes) are remembered, and those of one character are
    worked out when the list is built, so no lookup sorts a large slice twice.
    """

    MEMO_OVER = 2_000

    #: ``verify(values) -> the live ones``: set when the counts are lexicon hints, which may still
    #: list a value whose every cable was replaced; the few values a lookup returns are checked.
    verify: Callable[[list[str]], set[str]] | None = None

    def __init__(self, pairs: Iterable[tuple[str, int]], limit: int = 100) -> None:
        merged: dict[str, int] = {}
        for value, count in pairs:
            if value:
                merged[value] = merged.get(value, 0) + int(count)
        self.items: list[tuple[str, int]] = sorted(merged.items(), key=lambda vc: (-vc[1], vc[0].lower()))
        self._lower = [v.lower() for v, _ in self.items]
        starts: list[tuple[str, int]] = []
        words: list[tuple[str, int]] = []
        for rank, low in enumerate(self._lower):
            starts.append((low, rank))
            words.extend((low[m.start():], rank) for m in _WORD_START.finditer(low) if m.start() > 0)
        starts.sort()
        words.sort()
        self._arrays = (
            ([k for k, _ in starts], [r for _, r in starts]),
            ([k for k, _ in words], [r for _, r in words]),
        )
        self._memo: dict[tuple[int, str], list[int]] = {}
        self._checked: dict[str, bool] = {}  # value -> has a live cable (see verify)
        self.limit = limit
        for which, (texts, _) in enumerate(self._arrays):
            for first in {t[:1] for t in texts if t}:
                self._best(which, first)

    def __len__(self) -> int:
        return len(self.items)

    def _best(self, which: int, p: str) -> list[int]:
        """The best ``limit`` ranks (distinct, ascending) among the keys of array ``which`` starting with ``p``."""
        memo = self._memo.get((which, p))
        if memo is not None:
            return memo
        texts, ranks = self._arrays[which]
        lo = bisect.bisect_left(texts, p)
        hi = bisect.bisect_left(texts, p + "\U0010ffff", lo)
        out: list[int] = []
        if hi - lo > max(self.MEMO_OVER, len(self.items) // 8):
            # Dense: most values match, so walking them best first finds ``limit`` soon.
            test = str.startswith if which == 0 else _later_word_starts
            for r, low in enumerate(self._lower):
                if test(low, p):
                    out.append(r)
                    if len(out) >= self.limit:
                        break
        else:
            last = -1
            for r in sorted(ranks[lo:hi]):
                if r != last:
                    out.append(r)
                    last = r
                    if len(out) >= self.limit:
                        break
        if hi - lo > self.MEMO_OVER:
            self._memo[(which, p)] = out
        return out

    def match(self, prefix: str, limit: int = 100) -> list[tuple[str, int]]:
        """The values with a word starting with ``prefix`` (case-insensitive), most frequent first.

        Values that start with ``prefix`` come before those where only a later word does.
        """
        if self.verify is not None:
            return self._live(self._match(prefix, limit + 20), limit)
        return self._match(prefix, limit)

    def _match(self, prefix: str, limit: int) -> list[tuple[str, int]]:
        if not prefix:
            return self.items[:limit]
        p = prefix.lower()
        ranks = self._best(0, p)[:limit]
        if len(ranks) < limit:
            seen = set(ranks)
            ranks += [r for r in self._best(1, p) if r not in seen][: limit - len(ranks)]
        return [self.items[r] for r in ranks]

    def _live(self, found: list[tuple[str, int]], limit: int) -> list[tuple[str, int]]:
        """``found`` without the values :attr:`verify` says no live cable has (remembered)."""
        checked = self._checked
        unknown = [v for v, _ in found if v not in checked]
        if unknown and self.verify is not None:
            try:
                live = self.verify(unknown)
            except Exception:  # a broken index must not break typing: offer them unchecked
                live = set(unknown)
            checked.update((v, v in live) for v in unknown)
        return [(v, n) for v, n in found if checked.get(v, True)][:limit]


class PrefixValues:
    """What :meth:`ValueCache.get` gives while a field's values are still loading: each lookup asks
    the index for the terms starting with the prefix (``quick(field, prefix, limit)``), at once."""

    def __init__(self, field: str, quick: Callable[[str, str, int], Iterable[tuple[str, int]]],
                 then: Callable[[str], object] | None = None) -> None:
        self.field = field
        self._quick = quick
        self._then = then
        self.items: list[tuple[str, int]] = []

    def __len__(self) -> int:
        return 0

    def match(self, prefix: str, limit: int = 100) -> list[tuple[str, int]]:
        """The values for ``prefix``; then ``then(field)`` runs (the full load starts after this
        answer, so that it does not slow it down)."""
        try:
            return list(self._quick(self.field, prefix, limit))[:limit]
        except Exception:  # a broken index must not break typing
            return []
        finally:
            if self._then is not None:
                self._then(self.field)


class ValueCache:
    """Value lists per field, loaded in a background thread or on first use, whichever comes first."""

    def __init__(self, source: Callable[[str], Iterable[tuple[str, int]]],
                 fields: Sequence[str] = VALUE_FIELDS,
                 quick: Callable[[str, str, int], Iterable[tuple[str, int]]] | None = None) -> None:
        self._source = source
        self._quick = quick
        self._loading: dict[str, threading.Thread] = {}
        self.fields = tuple(fields)
        self._lists: dict[str, ValueList] = {}
        self._locks = {f: threading.Lock() for f in self.fields}
        self.timings: dict[str, float] = {}
        self.errors: dict[str, str] = {}
        self._thread: threading.Thread | None = None

    @classmethod
    def for_index(cls, index: object) -> ValueCache:
        """A cache over the values of ``index`` (see :class:`IndexValues`); until a field is loaded,
        its completions come from the index's word list, prefix by prefix (:meth:`IndexValues.quick`)."""
        source = IndexValues(index)
        return cls(source, quick=source.quick if callable(getattr(index, "prefix_counts", None)) else None)

    def start(self, delay: float = 0.0, before: Callable[[], object] | None = None) -> ValueCache:
        """Load every field in a daemon thread; returns at once.

        ``delay`` seconds pass first (so the first prompt is drawn without sharing the GIL), then
        ``before`` runs (the shell warms the query parser there), then the fields load in order.
        A completion asked for meanwhile loads its own field at once.
        """
        if self._thread is None:
            self._thread = threading.Thread(target=self._load_all, args=(delay, before),
                                            name="cablesearch-values", daemon=True)
            self._thread.start()
        return self

    def _load_all(self, delay: float = 0.0, before: Callable[[], object] | None = None) -> None:
        if delay > 0:
            time.sleep(delay)
        try:
            if before is not None:
                before()
        except Exception:  # a warm-up only
            pass
        try:
            for f in self.fields:
                self.load(f)
        finally:
            close = getattr(self._source, "close", None)
            if callable(close):
                close()

    def loaded(self, field: str) -> bool:
        return field in self._lists

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the background load to end; True when it has."""
        if self._thread is None:
            return all(f in self._lists for f in self.fields)
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def get(self, field: str) -> ValueList | PrefixValues:
        """The value list of ``field``. Not loaded yet: with a ``quick`` source, the answer comes
        from the index prefix by prefix (:class:`PrefixValues`), and the field starts loading in a
        thread of its own after that first answer; without one, the field is loaded now."""
        got = self._lists.get(field)
        if got is not None:
            return got
        if self._quick is None or field not in self._locks:
            return self.load(field)
        return PrefixValues(field, self._quick, then=self._load_later)

    def _load_later(self, field: str) -> None:
        """Start loading ``field`` in a thread of its own, unless it is loading or loaded."""
        if field not in self._loading and field not in self._lists:
            t = threading.Thread(target=self.load, args=(field,), name=f"cablesearch-values-{field}", daemon=True)
            self._loading[field] = t
            t.start()

    def load(self, field: str) -> ValueList:
        """The value list of ``field``, loaded now (waiting for a load under way) if not yet."""
        got = self._lists.get(field)
        if got is not None:
            return got
        lock = self._locks.get(field)
        if lock is None:
            return ValueList(())
        with lock:
            got = self._lists.get(field)
            if got is None:
                t0 = time.perf_counter()
                try:
                    got = ValueList(self._source(field))
                    verifier = getattr(self._source, "verifier", None)
                    got.verify = verifier(field) if callable(verifier) else None
                except Exception as e:  # a broken index must not break typing
                    self.errors[field] = f"{type(e).__name__}: {e}"
                    got = ValueList(())
                self.timings[field] = time.perf_counter() - t0
                self._lists[field] = got
        return got


class IndexValues:
    """``field -> [(value, cables)]`` for an open index, safe to call from another thread.

    Uses ``index.value_counts(field)`` when the index has it. Otherwise it reads a second, private
    :class:`~cablesearch.index.CableIndex` on the same folder (its own searcher and files: a whoosh
    searcher is not to be shared between threads), one call at a time, closed by :meth:`close`:

    - fields with a column (``sortable`` in ``FIELDS``: tag, class, origin, org): the counts of
      ``facets("*")``, which reads the column, with values as facets show them (``PREL``,
      ``MOSCOW``, ``SECRET``; org mentions as written: ``Foreign Ministry``);
    - other keyword and id fields (para): the lexicon (``term_counts``), upper case likewise;
    - other entity fields (per, loc, misc, entity), on an index of up to :data:`MENTIONS_UP_TO`
      cables: the whole mentions as written (``Lula da Silva``), counted in one pass over the
      stored entity lists; on a larger index that pass would take minutes, so the words of the
      mentions from the lexicon (``lula``, ``silva``) are offered instead.

    Redaction placeholders (``XXXXXXXXXXXX``) are left out.

    On an index of more than :data:`PROCESS_ABOVE` cables the lists are computed in a helper
    process (one, started on first use, killed by :meth:`close` or at exit): loading org's values
    from 250,000 cables takes seconds of pure Python, and in a thread of the shell's process it
    would hold the interpreter lock while the user presses Tab (a completion during the load took
    0.2-1.6 s instead of 30-60 ms). If the helper cannot run, the lists are computed here.
    """

    MENTIONS_UP_TO = 10_000
    PROCESS_ABOVE = 10_000

    def __init__(self, index: object, *, helper: bool = True) -> None:
        self.index = index
        self._private: object | None = None
        self._lock = threading.Lock()
        self._mentions: dict[str, Counter[str]] | None = None
        self._hinted: set[str] = set()
        self._helper = helper
        self._pool: Any = None
        self._pool_lock = threading.Lock()

    def __call__(self, field: str) -> Iterable[tuple[str, int]]:
        own = getattr(self.index, "value_counts", None)
        if callable(own):
            return list(own(field))
        if self._use_helper():
            root = str(self.index.root)  # type: ignore[attr-defined]
            try:
                values, hinted = self._pool_for().apply_async(_values_in_helper, (root, field)).get()
            except Exception:  # no helper process here (or it died): computed below
                self._helper = False
            else:
                if hinted:
                    self._hinted.add(field)
                return values
        return self.compute(field)

    def _use_helper(self) -> bool:
        if not self._helper or getattr(self.index, "root", None) is None:
            return False
        try:
            return len(self.index) > self.PROCESS_ABOVE  # type: ignore[arg-type]
        except TypeError:
            return False

    def _pool_for(self) -> Any:
        with self._pool_lock:
            if self._pool is None:
                import multiprocessing

                # spawn: a fresh interpreter, not a fork of this one and its threads
                self._pool = multiprocessing.get_context("spawn").Pool(1)
            return self._pool

    def hinted(self, field: str) -> bool:
        """Whether the counts of ``field`` are the lexicon's hints (see :meth:`verifier`)."""
        return field in self._hinted

    def compute(self, field: str) -> list[tuple[str, int]]:
        """The value list of ``field``, computed in this process."""
        f = FIELD_BY_NAME[field]
        kind = f.kind
        with self._lock:
            ix: Any = self._reader()
            if f.sortable and callable(getattr(ix, "facets", None)):
                # A column: facets read it fast at any size, values as users read them.
                return [(str(v), n) for v, n in ix.facets("*", by=(field,), top=0)[field]]
            small = len(ix) <= self.MENTIONS_UP_TO
            if kind == "entity" and small:
                return list(self._mention_counts(ix)[field].items())
            # Exact counts read every term's postings (minutes on a big index with replaced
            # cables); above MENTIONS_UP_TO the lexicon's counts serve, checked when shown.
            counts = ix.term_counts(field) if small else ix.term_counts(field, exact=False)
            if not small:
                self._hinted.add(field)
        show = _shown(kind)
        return [(show(v), n) for v, n in counts.items() if n > 0 and v.strip() and not _placeholder(v)]

    def quick(self, field: str, prefix: str, limit: int = 100) -> list[tuple[str, int]]:
        """The index terms of ``field`` starting with ``prefix``, from its word list (no loading):
        what completion offers until the field's values are loaded. Words, not whole mentions,
        for entity fields; counts are the word list's (see ``CableIndex.prefix_counts``)."""
        show = _shown(FIELD_BY_NAME[field].kind)
        got = self.index.prefix_counts(field, prefix, limit + 10)  # type: ignore[attr-defined]
        return [(show(v), n) for v, n in got if v.strip() and not _placeholder(v)][:limit]

    def verifier(self, field: str) -> Callable[[list[str]], set[str]] | None:
        """For a field whose counts were lexicon hints: ``values -> those a live cable has``."""
        if field not in self._hinted or not callable(getattr(self.index, "live_terms", None)):
            return None

        def verify(values: list[str]) -> set[str]:
            live = self.index.live_terms(field, [v.lower() for v in values])  # type: ignore[attr-defined]
            return {v for v in values if v.lower() in live}

        return verify

    def _mention_counts(self, ix: Any) -> dict[str, Counter[str]]:
        """Cables per mention, for each entity field, from one pass over every cable."""
        if self._mentions is not None:
            return self._mentions
        field_of = {t.value: name for name, t in ENTITY_FIELDS.items()}
        lowered: dict[str, Counter[str]] = {name: Counter() for name in (*ENTITY_FIELDS, "entity")}
        spelling: dict[str, str] = {}
        for hit in ix.iter_search("*", sort="relevance"):
            every: set[str] = set()
            for etype, mentions in (hit.entities or {}).items():
                name = field_of.get(etype)
                if name is None:
                    continue
                mine = set()
                for m in mentions:
                    m = " ".join(str(m).split())
                    if m and not _placeholder(m):
                        mine.add(spelling.setdefault(m.lower(), m).lower())
                lowered[name].update(mine)
                every |= mine
            lowered["entity"].update(every)
        self._mentions = {name: Counter({spelling[k]: n for k, n in c.items()}) for name, c in lowered.items()}
        return self._mentions

    def _reader(self) -> object:
        if self._private is None:
            root = getattr(self.index, "root", None)
            if root is None:
                self._private = self.index
            else:
                from ..index import open_index

                self._private = open_index(root)
        return self._private

    def close(self) -> None:
        with self._pool_lock:
            if self._pool is not None:
                self._pool.terminate()  # a load under way is abandoned, not waited for
                self._pool = None
        with self._lock:
            if self._private is not None and self._private is not self.index:
                close = getattr(self._private, "close", None)
                if callable(close):
                    close()
            self._private = None
            self._mentions = None


def _values_in_helper(root: str, field: str) -> tuple[list[tuple[str, int]], bool]:
    """In the helper process: ``(values, hinted)`` of ``field`` for the index at ``root``, kept
    open between calls. The index is checked as every opening is (the trust setting of the shell
    comes through the environment)."""
    global _helper_values
    if _helper_values is None or str(getattr(_helper_values.index, "root", "")) != root:
        from ..index import open_index

        _helper_values = IndexValues(open_index(root), helper=False)
        _helper_values._private = _helper_values.index  # its own process: no second handle needed
    values = _helper_values.compute(field)
    return values, _helper_values.hinted(field)


_helper_values: IndexValues | None = None


def _shown(kind: str) -> Callable[[str], str]:
    """How an index term is offered: tags, origins, classes upper case; words as they are."""
    return str.upper if kind in ("keyword", "id") else str


def _placeholder(value: str) -> bool:
    """``XXXXXXXXXXXX``, the mark of a redaction, is no value to offer."""
    return len(value) > 3 and set(value.lower()) <= {"x"}


__all__ = ["VALUE_FIELDS", "IndexValues", "PrefixValues", "ValueCache", "ValueList"]
