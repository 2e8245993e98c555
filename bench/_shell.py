"""The shell: time from the command to a ready prompt (under a pty), and ``org:`` completion latency.

Start-up spawns ``cablesearch shell --index X`` with pexpect and waits for the prompt text
(``cables> ``); the first start is a warm-up (it fills the bytecode cache) and is reported apart.
Completion goes through the shell's own completer with a prompt_toolkit ``Document``, no terminal,
as the shell's tests do.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

#: Prefixes typed after ``org:``: none (Tab on ``org:``), short and longer ones, a miss.
ORG_PREFIXES = ("", "f", "fs", "fsb", "n", "na", "nato", "min", "minis", "u", "un", "eu", "sec", "iaea", "far",
                "hez", "nat", "gov", "zzq")


def startup(argv: list[str], env: dict[str, str], repeat: int = 7, timeout: float = 60) -> dict[str, Any]:
    """Seconds from spawn to the first prompt: the warm-up start and the median of ``repeat`` more."""
    import pexpect

    from cablesearch.shell.app import PROMPT

    times = []
    for _ in range(repeat + 1):
        t0 = time.perf_counter()
        child = pexpect.spawn(argv[0], argv[1:], env={**env, "TERM": "xterm"}, dimensions=(40, 120),
                              encoding="utf-8", timeout=timeout)
        try:
            child.expect_exact(PROMPT)
            times.append(time.perf_counter() - t0)
            child.sendcontrol("d")
            child.expect(pexpect.EOF)
        finally:
            child.close(force=True)
    warm = times[1:]
    return {"first": times[0], "median": statistics.median(warm), "min": min(warm), "max": max(warm),
            "runs": warm, "command": " ".join(argv)}


def completion(index_path: Path, field: str = "org", prefixes: tuple[str, ...] = ORG_PREFIXES,
               repeat: int = 5, load_timeout: float = 300) -> dict[str, Any]:
    """Latency of completing ``field:PREFIX`` through ``ShellCompleter.get_completions``.

    ``cold``: the first completion, before the field's values are loaded (the shell loads them in
    the background after start; this is the wait when Tab comes first); ``cold_prefixes``: three
    more before the load; ``field_load``: waiting for the load to end after them. ``median``/``p95``: over the
    prefixes (each the median of ``repeat`` runs) once the values are loaded. ``load_all``: how long
    the background load of every field's values takes (until then a completion may wait); None
    when it takes longer than ``load_timeout`` seconds.
    """
    from _queries import percentile
    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.document import Document

    from cablesearch.index import open_index
    from cablesearch.shell.completer import ShellCompleter
    from cablesearch.shell.values import ValueCache

    event = CompleteEvent(completion_requested=True)

    def complete(completer: Any, text: str) -> list[Any]:
        return list(completer.get_completions(Document(text, len(text)), event))

    with open_index(index_path) as ix:
        values = ValueCache.for_index(ix)
        completer = ShellCompleter(values)
        t0 = time.perf_counter()
        first = complete(completer, f"{field}:")
        cold = time.perf_counter() - t0
        # Until the field is loaded, completion asks the index prefix by prefix (and starts the
        # load after answering); the first completions on other prefixes meanwhile:
        cold_prefixes: dict[str, float] = {}
        for p in ("f", "mini", "nato"):
            t0 = time.perf_counter()
            complete(completer, f"{field}:{p}")
            cold_prefixes[p] = time.perf_counter() - t0
        t0 = time.perf_counter()
        values.load(field) if hasattr(values, "load") else values.get(field)
        field_load = time.perf_counter() - t0  # the rest of the load, after those completions
        per_prefix: dict[str, float] = {}
        offered: dict[str, int] = {}
        for p in prefixes:
            runs = []
            for _ in range(repeat):
                text = f"{field}:{p}"
                t0 = time.perf_counter()
                got = complete(completer, text)
                runs.append(time.perf_counter() - t0)
            per_prefix[p] = statistics.median(runs)
            offered[p] = len(got)
        in_query = "loc:Iran AND org:na"
        t0 = time.perf_counter()
        complete(completer, in_query)
        in_query_s = time.perf_counter() - t0

        fresh = ValueCache.for_index(ix)
        t0 = time.perf_counter()
        fresh.start()
        done = fresh.wait(load_timeout)
        load_all = time.perf_counter() - t0 if done else None
    meds = list(per_prefix.values())
    return {"cold": cold, "cold_offered": len(first), "cold_prefixes": cold_prefixes, "field_load": field_load,
            "median": statistics.median(meds),
            "p95": percentile(meds, 95), "max": max(meds), "per_prefix": per_prefix, "offered": offered,
            "in_query": in_query_s, "load_all": load_all, "load_timeout": load_timeout,
            "load_timings": dict(fresh.timings), "errors": {**values.errors, **fresh.errors}}


def main() -> None:
    """``python bench/_shell.py INDEX [LOAD_TIMEOUT]``: the completion figures as one JSON line (run
    apart, so that a value load still going at the end dies with this process)."""
    import json
    import os
    import sys

    timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 300
    print(json.dumps(completion(Path(sys.argv[1]), load_timeout=timeout)), flush=True)
    sys.stdout.flush()
    os._exit(0)  # do not wait for the daemon loading thread


if __name__ == "__main__":
    main()


__all__ = ["ORG_PREFIXES", "completion", "startup"]
