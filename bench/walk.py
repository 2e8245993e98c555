"""Benchmark: the walk an update starts with (``sources.discover``): microseconds per file.

    .venv/bin/python bench/walk.py [FOLDER ...] [--repeat 7]

Default folder: ``../shared/corpus/annotated`` (5,000 cables and their ``manifest.jsonl``): the
one corpus with a manifest, whose entries every file's stamp must cover. Prints the median over
the repeats (page cache warm after the first). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main() -> None:
    from cablesearch.sources import discover

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folders", nargs="*", default=[str(ROOT.parent / "shared" / "corpus" / "annotated")])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    print(f"{'folder':50}  {'files':>7}  {'median ms':>9}  {'us/file':>7}")
    for folder in args.folders:
        times, files = [], 0
        for _ in range(args.repeat + 1):  # the first warms the page cache
            t0 = time.perf_counter()
            files = sum(1 for _ in discover([folder]))
            times.append(time.perf_counter() - t0)
        median = statistics.median(times[1:])
        print(f"{folder[-50:]:50}  {files:7,}  {median * 1e3:9.1f}  {median * 1e6 / max(files, 1):7.1f}")


if __name__ == "__main__":
    main()
