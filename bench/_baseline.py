"""The naive baseline of issue 7: whoosh's default writer, one stored TEXT field, the raw file texts.

    python bench/_baseline.py CORPUS OUT [--limit N]

No parsing, no entities, no metadata fields: what "just put the files in whoosh" costs. The same
definition as the baseline of ``bench/build.py``. Prints one JSON line: files, seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus")
    ap.add_argument("out")
    ap.add_argument("--limit", type=int, default=0, help="index only the first N files (0: all)")
    args = ap.parse_args()

    from whoosh import fields, index

    schema = fields.Schema(text=fields.TEXT(stored=True))
    os.makedirs(args.out, exist_ok=True)
    t0 = time.perf_counter()
    ix = index.create_in(args.out, schema)
    writer = ix.writer()
    n = 0
    for dirpath, dirs, names in os.walk(args.corpus):
        dirs.sort()
        for name in sorted(names):
            if not name.endswith(".txt") or (args.limit and n >= args.limit):
                continue
            with open(os.path.join(dirpath, name), encoding="utf-8", errors="replace") as fh:
                writer.add_document(text=fh.read())
            n += 1
    writer.commit()
    print(json.dumps({"files": n, "seconds": time.perf_counter() - t0, "docs": ix.doc_count()}), flush=True)


if __name__ == "__main__":
    main()
