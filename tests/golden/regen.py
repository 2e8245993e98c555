"""Golden files for the cable parser: ``tests/golden/cables/<case>.json``.

Each case is one real cable from ``tests/fixtures/cables/`` in one of its forms. ``test_cable.py``
parses it again and compares every field with the file. After a deliberate change to the parser,
regenerate and review the diff before committing (the files are assertions, not a recording):

    .venv/bin/python tests/golden/regen.py            # rewrite all
    .venv/bin/python tests/golden/regen.py --check    # exit 1 if any differs
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "cables"
GOLDEN = Path(__file__).resolve().parent / "cables"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cablesearch.model import Cable  # noqa: E402
from cablesearch.sources import RawCable, discover, iter_csv, load_cable  # noqa: E402

#: case name -> (form, fixture path relative to tests/fixtures/cables, CSV row or None)
CASES: dict[str, tuple[str, str, int | None]] = {
    # the annotated form, text alone (the manifest is not read)
    "seed-09MOSCOW2723": ("annotated", "annotated/000_615657d95461bb59.txt", None),
    "annotated-00HARARE5461": ("annotated", "annotated/00001_3da1b3bfca444ac1.txt", None),
    "annotated-00THEHAGUE1695-teaser": ("annotated", "annotated/00003_893165d069822992.txt", None),
    "annotated-02ANKARA8305-lost-breaks": ("annotated", "annotated/00008_d03e742104395b1e.txt", None),
    "annotated-05SANJOSE2101-sbu": ("annotated", "annotated/00399_a9174ad2a0901804.txt", None),
    "annotated-06LONDON4338-class-key": ("annotated", "annotated/00685_cc3b578d821c2c79.txt", None),
    "annotated-06QUITO2529-id-block": ("annotated", "annotated/00799_93b5d4b8953e1ae9.txt", None),
    "annotated-08BEIJING1141-date-line": ("annotated", "annotated/01599_620892b92cdf9357.txt", None),
    "annotated-08TRIPOLI829-no-anchors": ("annotated", "annotated/02652_1a581c87c41d6892.txt", None),
    "annotated-09KUWAIT110-noforn": ("annotated", "annotated/03406_0928ad9413602f48.txt", None),
    # the annotated form with its folder's manifest.jsonl merged by the loader
    "manifest-09MOSCOW2723": ("manifest", "annotated/000_615657d95461bb59.txt", None),
    # full cablegate pages
    "html-05ROME902": ("html", "html/05ROME902.html", None),
    "html-04ANKARA7106": ("html", "html/04ANKARA7106.html", None),
    "html-08TRIPOLI4": ("html", "html/08TRIPOLI4.html", None),
    "html-09LONDON2445": ("html", "html/09LONDON2445.html", None),
    # rows of a cables.csv dump
    "csv-97WELLINGTON1656": ("csv", "cables.csv", 1),
    "csv-01STATE176819": ("csv", "cables.csv", 2),
    "csv-02VATICAN819": ("csv", "cables.csv", 4),
    # plain cable text (routing header + body), named by its reference id
    "plain-09PRAGUE260": ("plain", "plain/09PRAGUE260.txt", None),
    "plain-09CAIRO2115": ("plain", "plain/09CAIRO2115.txt", None),
}


def load_case(name: str) -> Cable:
    form, rel, row = CASES[name]
    path = FIXTURES / rel
    source = f"fixtures/cables/{rel}"
    if form == "csv":
        for raw in iter_csv(str(path)):
            if raw.source.endswith(f":{row}"):
                return load_cable(dataclasses.replace(raw, source=f"{source}:{row}"))[0]
        raise LookupError(f"{rel} has no row {row}")
    if form == "manifest":
        for raw in discover([path.parent]):
            if raw.path == str(path):
                return load_cable(dataclasses.replace(raw, source=source))[0]
        raise LookupError(rel)
    return load_cable(RawCable(source=source, path=str(path)))[0]


def to_json(cable: Cable) -> dict[str, Any]:
    """Every field of a Cable, in JSON types; the body as a list of lines (reviewable diffs)."""

    def when(v: Any) -> str | None:
        return v.isoformat() if v is not None else None

    return {
        "ref": cable.ref,
        "origin": cable.origin,
        "serial": cable.serial,
        "date": when(cable.date),
        "released": when(cable.released),
        "decl": when(cable.decl),
        "classification": {"level": cable.classification.level, "caveats": list(cable.classification.caveats)},
        "tags": list(cable.tags),
        "subject": cable.subject,
        "classified_by": cable.classified_by,
        "reasons": cable.reasons,
        "refs": list(cable.refs),
        "redactions": cable.redactions,
        "source": cable.source,
        "key": cable.key,
        "paragraphs": [{"number": p.number, "marking": p.marking, "text": p.text} for p in cable.paragraphs],
        "entities": [f"{e.type.value}:{e.text}" for e in cable.entities],
        "body": cable.body.split("\n"),
    }


def render(name: str) -> str:
    return json.dumps(to_json(load_case(name)), ensure_ascii=False, indent=1) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    GOLDEN.mkdir(parents=True, exist_ok=True)
    differs = []
    for name in CASES:
        text = render(name)
        target = GOLDEN / f"{name}.json"
        if target.exists() and target.read_text(encoding="utf-8") == text:
            continue
        differs.append(name)
        if not check:
            target.write_text(text, encoding="utf-8")
    for name in differs:
        print(("differs: " if check else "written: ") + name)
    return 1 if (check and differs) else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
