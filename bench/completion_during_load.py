"""Latency of ``org:`` completions typed while the shell is still loading org's values.

    .venv/bin/python bench/completion_during_load.py INDEX_DIR

Opens the index, asks ``ShellCompleter`` (as the shell does) for ``org:`` once, which starts the
background load of org's values, then completes 10 prefixes 0.2 s apart while it runs, and prints
the first latency, the median and max of the 10, and how long the rest of the load took. Not part
of the test suite.
"""

from __future__ import annotations

import statistics
import sys
import time


def main(index: str) -> None:
    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.document import Document

    from cablesearch.index import open_index
    from cablesearch.shell.completer import ShellCompleter
    from cablesearch.shell.values import ValueCache

    event = CompleteEvent(completion_requested=True)
    with open_index(index) as ix:
        values = ValueCache.for_index(ix)
        completer = ShellCompleter(values)

        def complete(text: str) -> float:
            t0 = time.perf_counter()
            list(completer.get_completions(Document(text, len(text)), event))
            return (time.perf_counter() - t0) * 1000

        first = complete("org:")
        times = []
        for p in ["f", "mini", "nato", "fs", "eu", "un", "sec", "iaea", "far", "mos"]:
            times.append(complete("org:" + p))
            time.sleep(0.2)
        t0 = time.perf_counter()
        values.load("org")
        rest = time.perf_counter() - t0
    print(f"first {first:.0f} ms; during the load: median {statistics.median(times):.0f} ms, "
          f"max {max(times):.0f} ms {[round(t) for t in times]}; rest of the load {rest:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1])
