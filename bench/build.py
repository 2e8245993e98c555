"""Benchmark: build an index from a corpus folder, next to a naive whoosh baseline.

    .venv/bin/python bench/build.py CORPUS_DIR [--jobs N] [--limitmb MB] [--no-baseline] [--keep DIR]

Make a corpus first, e.g. ``python ../shared/tools/make_corpus.py --count 20000 --out /tmp/corpus-20k``.

Each run happens in its own child process, so the memory figures are its own:

* ``peak tree RSS``: the largest sum of the resident sizes of the run's process and all its
  descendants, sampled every 50 ms from /proc (what the machine must hold at once);
* ``maxrss self+children``: ``getrusage(RUSAGE_SELF) + getrusage(RUSAGE_CHILDREN)`` peak RSS, as
  the kernel reports them (the second is the largest single child, not a sum);
* ``CPU s`` and ``cables/CPU-s``: user + system time of the run and its children, a figure that
  does not depend on what else the machine is running (cables/s does).

The baseline is whoosh's default single-process writer with one stored TEXT field, fed the raw
file texts: no parsing, no entities, no metadata fields. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _proc import measure  # noqa: E402  (bench/ is on sys.path when this file runs as a script)


def _corpus_stats(corpus: Path) -> tuple[int, int]:
    files = size = 0
    for dirpath, _dirs, names in os.walk(corpus):
        for n in names:
            if n.endswith((".txt", ".html", ".htm", ".csv")):
                files += 1
                size += os.path.getsize(os.path.join(dirpath, n))
    return files, size


def _dir_size(path: Path) -> int:
    return sum(os.path.getsize(os.path.join(d, n)) for d, _s, ns in os.walk(path) for n in ns)


# -- the runs (child side) ----------------------------------------------------------------------


def _run_ours(corpus: str, out: str, jobs: int, limitmb: int | None) -> dict:
    from cablesearch.index import build_index, open_index

    t0 = time.perf_counter()
    report = build_index([corpus], out, jobs=jobs, limitmb=limitmb)
    seconds = time.perf_counter() - t0
    with open_index(out) as ix:
        count = ix.doc_count()
        size = ix.stats()["size_bytes"]
    return {"cables": count, "seconds": seconds, "size": size, "skipped": len(report.skipped),
            "duplicates": len(report.duplicates)}


def _run_baseline(corpus: str, out: str) -> dict:
    from whoosh import fields, index

    schema = fields.Schema(text=fields.TEXT(stored=True))
    os.makedirs(out, exist_ok=True)
    t0 = time.perf_counter()
    ix = index.create_in(out, schema)
    writer = ix.writer()
    n = 0
    for dirpath, dirs, names in os.walk(corpus):
        dirs.sort()
        for name in sorted(names):
            if name.endswith((".txt", ".html", ".htm")):
                with open(os.path.join(dirpath, name), encoding="utf-8", errors="replace") as fh:
                    writer.add_document(text=fh.read())
                n += 1
    writer.commit()
    seconds = time.perf_counter() - t0
    return {"cables": ix.doc_count(), "seconds": seconds, "size": _dir_size(Path(out)), "skipped": 0,
            "duplicates": 0}


def _child(args: argparse.Namespace) -> None:
    if args.child == "ours":
        result = _run_ours(args.corpus, args.out, args.jobs, args.limitmb)
    else:
        result = _run_baseline(args.corpus, args.out)
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    result["maxrss"] = (me.ru_maxrss + kids.ru_maxrss) * 1024
    result["cpu"] = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    print("RESULT " + json.dumps(result), flush=True)


# -- the parent: run, sample, print ------------------------------------------------------------


def _measure(argv: list[str]) -> dict:
    run = measure([sys.executable, __file__, *argv])
    if run.returncode != 0:
        sys.exit(f"run failed ({run.returncode}): {' '.join(argv)}\n{run.stderr}")
    line = next(ln for ln in run.stdout.splitlines() if ln.startswith("RESULT "))
    result = json.loads(line[len("RESULT "):])
    result["peak"] = run.peak_rss
    return result


def _mb(n: float) -> str:
    return f"{n / 2**20:,.0f} MB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--limitmb", type=int, default=None, help="posting memory per worker (default: the build's)")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--keep", help="build into this folder and keep it (default: a temp folder, removed)")
    ap.add_argument("--child", choices=["ours", "baseline"], help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args)
        return
    corpus = Path(args.corpus)
    files, corpus_size = _corpus_stats(corpus)
    print(f"corpus {corpus}: {files:,} files, {_mb(corpus_size)}; {os.cpu_count()} cores", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="cablesearch-bench-", dir=os.environ.get("BENCH_TMP")) as tmp:
        out = args.keep or os.path.join(tmp, "index")
        extra = ["--limitmb", str(args.limitmb)] if args.limitmb else []
        ours = _measure([str(corpus), "--child", "ours", "--out", out, "--jobs", str(args.jobs), *extra])
        rows.append((f"cablesearch build, jobs={args.jobs}", ours))
        if not args.no_baseline:
            base = _measure([str(corpus), "--child", "baseline", "--out", os.path.join(tmp, "baseline")])
            rows.append(("baseline: whoosh default writer, 1 TEXT field", base))
    head = ("run", "cables", "seconds", "cables/s", "CPU s", "cables/CPU-s", "index size", "index/corpus",
            "peak tree RSS", "maxrss self+children")
    table = [head] + [
        (name, f"{r['cables']:,}", f"{r['seconds']:.1f}", f"{r['cables'] / r['seconds']:,.0f}", f"{r['cpu']:.0f}",
         f"{r['cables'] / r['cpu']:,.0f}", _mb(r["size"]),
         f"{r['size'] / corpus_size:.2f}" if corpus_size else "-", _mb(r["peak"]), _mb(r["maxrss"]))
        for name, r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    for i, row in enumerate(table):
        print("  ".join(c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(row, widths, strict=True))))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    if rows and (rows[0][1]["skipped"] or rows[0][1]["duplicates"]):
        print(f"(skipped {rows[0][1]['skipped']:,}, duplicates {rows[0][1]['duplicates']:,})")


if __name__ == "__main__":
    main()
