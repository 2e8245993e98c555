"""Make ``sample.jsonl.gz``: the ~300 real cables shipped with cablesearch (not imported at run time).

    .venv/bin/python cablesearch/data/make_sample.py /work/shared/corpus/annotated

Chosen from the annotated corpus and its ``manifest.jsonl``, deterministically (the same corpus
gives the same bytes): the user's own sample 09MOSCOW2723 first; then the cables the demo queries
need (tag WTO, the FSB named in the text, NOFORN); then a spread over classification levels, years
and origins, taken in an order fixed by a hash of the file name, with at most a few cables per
origin. One JSON object a line: ``{"name", "meta" (the manifest entry), "text"}``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import sys
from collections import Counter
from pathlib import Path

SEED = "000_615657d95461bb59.txt"
TOTAL = 300
PER_ORIGIN = 6
OUT = Path(__file__).resolve().parent / "sample.jsonl.gz"


def _order(name: str) -> str:
    return hashlib.sha1(name.encode()).hexdigest()


def _level(label: str) -> str:
    return label.split("//")[0]


def choose(entries: list[dict], texts: dict[str, str]) -> list[dict]:
    by_name = {e["file"]: e for e in entries}
    ordered = sorted(entries, key=lambda e: _order(e["file"]))
    chosen: list[dict] = [by_name[SEED]]
    taken = {SEED}
    origins: Counter[str] = Counter({by_name[SEED]["origin"]: 1})

    def take(e: dict, *, cap: bool = True) -> bool:
        if e["file"] in taken or (cap and origins[e["origin"]] >= PER_ORIGIN):
            return False
        chosen.append(e)
        taken.add(e["file"])
        origins[e["origin"]] += 1
        return True

    # what the demo queries look for: org:FSB AND tag:WTO, tag:WTO (and WTRO, its usual tag), org:FSB, NOFORN
    both = [e for e in ordered if "WTO" in e["tags"] and "FSB" in texts[e["file"]]]
    wto = [e for e in ordered if "WTO" in e["tags"] or "WTRO" in e["tags"]]
    fsb = [e for e in ordered if "[ORG FSB" in texts[e["file"]]]
    noforn = [e for e in ordered if "NOFORN" in e["classification"]]
    for group, n in ((both, 6), (wto, 8), (fsb, 8), (noforn, 12)):
        k = 0
        for e in group:
            if k >= n:
                break
            k += take(e, cap=False)
    # a spread: round-robin over (level, year) strata in hash order
    strata: dict[tuple[str, str], list[dict]] = {}
    for e in ordered:
        strata.setdefault((_level(e["classification"]), e["created"][:4]), []).append(e)
    keys = sorted(strata)
    while len(chosen) < TOTAL and any(strata.values()):
        for key in keys:
            bucket = strata[key]
            while bucket:
                if take(bucket.pop(0)):
                    break
            if len(chosen) >= TOTAL:
                break
    return chosen


def main(argv: list[str]) -> int:
    corpus = Path(argv[0]) if argv else Path(__file__).resolve().parents[3] / "shared" / "corpus" / "annotated"
    entries = [json.loads(line) for line in (corpus / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
               if line.strip()]
    texts = {e["file"]: (corpus / e["file"]).read_text(encoding="utf-8") for e in entries}
    chosen = choose(entries, texts)
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9, mtime=0) as gz:
        for e in chosen:
            line = json.dumps({"name": e["file"], "meta": e, "text": texts[e["file"]]}, ensure_ascii=False)
            gz.write(line.encode("utf-8") + b"\n")
    OUT.write_bytes(buf.getvalue())
    levels = Counter(_level(e["classification"]) for e in chosen)
    print(f"{len(chosen)} cables, {len(buf.getvalue()) / 1e6:.2f} MB -> {OUT}")
    print("levels:", dict(levels), "| NOFORN:", sum("NOFORN" in e["classification"] for e in chosen),
          "| WTO:", sum("WTO" in e["tags"] or "WTRO" in e["tags"] for e in chosen),
          "| years:", len({e["created"][:4] for e in chosen}), "| origins:", len({e["origin"] for e in chosen}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
