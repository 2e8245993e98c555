"""The query mix: load ``bench/queries.txt``, time every query, summarise per category.

Each query runs once cold (the first time in this process: parser, caches), then ``repeat`` times;
its latency is the median of those repeats. A category's p50/p95 are over its queries' medians,
so one slow moment of a shared machine does not decide a figure.
"""

from __future__ import annotations

import math
import shlex
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

QUERIES = Path(__file__).resolve().parent / "queries.txt"
CATEGORIES = ("plain", "snippets", "wildcard", "fuzzy", "facets", "grep")
#: Hits per page, as the CLI and the shell show them.
PAGE = 10
#: A query whose cold run takes longer than this is repeated only twice.
SLOW = 2.0


@dataclass(frozen=True)
class Line:
    category: str
    query: str
    grep: str = ""


@dataclass
class Timed:
    line: Line
    total: int = -1
    cold: float = math.nan
    runs: list[float] = field(default_factory=list)
    error: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.runs) if self.runs else math.nan


def load_queries(path: Path = QUERIES) -> list[Line]:
    out = []
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip() or raw.startswith("#"):
            continue
        parts = raw.split("\t")
        if len(parts) < 2 or parts[0] not in CATEGORIES:
            raise SystemExit(f"{path}:{n}: expected CATEGORY<TAB>QUERY, got {raw!r}")
        out.append(Line(parts[0], parts[1], parts[2] if len(parts) > 2 else ""))
    return out


def percentile(values: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    xs = sorted(v for v in values if not math.isnan(v))
    if not xs:
        return math.nan
    k = (len(xs) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def _time(fn: Callable[[], Any], repeat: int) -> tuple[Any, float, list[float]]:
    t0 = time.perf_counter()
    result = fn()
    cold = time.perf_counter() - t0
    runs = []
    for _ in range(repeat if cold < SLOW else min(repeat, 2)):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return result, cold, runs


class Runner:
    """Times the query mix on one open index (the engine functions of ``cablesearch.search``)."""

    def __init__(self, index: Any, repeat: int = 5) -> None:
        from cablesearch import search as engine

        self.ix = index
        self.engine = engine
        self.repeat = repeat

    def _call(self, line: Line, *, snippets: int = 0) -> Callable[[], Any]:
        e, ix, q = self.engine, self.ix, line.query
        if line.category == "facets":
            return lambda: e.facets(ix, q)
        return lambda: e.search(ix, q, limit=PAGE, snippets=snippets)

    def run(self, line: Line, *, snippets: int | None = None) -> Timed:
        """Time one query; ``snippets`` per hit (default: 1 for the snippets category, else 0)."""
        if snippets is None:
            snippets = 1 if line.category == "snippets" else 0
        timed = Timed(line)
        try:
            result, timed.cold, timed.runs = _time(self._call(line, snippets=snippets), self.repeat)
        except Exception as exc:  # a query the product rejects: reported, not timed
            timed.error = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
            return timed
        timed.total = result.total if hasattr(result, "total") else self.count(line.query)
        return timed

    def count(self, query: str) -> int:
        return self.engine.count(self.ix, query)

    def time_count(self, query: str) -> tuple[int, float]:
        """All matches of ``query`` (what ``grep -rl`` lists): the count and its median time."""
        n, _cold, runs = _time(lambda: self.count(query), self.repeat)
        return n, statistics.median(runs)


def run_grep(pipeline: str, corpus: Path, repeat: int = 3) -> tuple[int, float, str]:
    """``(files listed, median seconds, command)`` of a grep pipeline over the corpus."""
    cmd = pipeline.replace("{dir}", shlex.quote(str(corpus)))
    times, n = [], 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, check=False).stdout
        times.append(time.perf_counter() - t0)
        n = len([ln for ln in out.splitlines() if ln.strip()])
    return n, statistics.median(times), cmd


def summarise(timed: list[Timed], category: str) -> dict[str, Any]:
    rows = [t for t in timed if t.line.category == category]
    ok = [t for t in rows if not t.error]
    return {
        "queries": len(rows),
        "errors": [(t.line.query, t.error) for t in rows if t.error],
        "no_hits": [t.line.query for t in ok if t.total == 0],
        "p50": percentile([t.median for t in ok], 50),
        "p95": percentile([t.median for t in ok], 95),
        "cold_p50": percentile([t.cold for t in ok], 50),
        "cold_p95": percentile([t.cold for t in ok], 95),
        "max": max((t.median for t in ok), default=math.nan),
        "slowest": sorted(((t.median, t.line.query) for t in ok), reverse=True)[:5],
    }


__all__ = ["CATEGORIES", "PAGE", "QUERIES", "Line", "Runner", "Timed", "load_queries", "percentile", "run_grep",
           "summarise"]
