"""The parser against the answer key: every annotated cable of the shared corpus, text alone.

Each file is parsed WITHOUT its manifest entry; the manifest (the site's own metadata) is then
the answer key for classification level, tags and subject. Disagreements are sorted into the
classes of known faults of the site's metadata (the README, "Known limits"), decided by
mechanical rules printed below, and the rest. Run with ``-s`` to see the report.

Skipped when the corpus is not there (``../shared/corpus`` beside the repository).
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from pathlib import Path

import pytest

from cablesearch.cable import parse_cable
from cablesearch.model import Cable, Classification

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
ANNOTATED = CORPUS / "annotated"

pytestmark = pytest.mark.skipif(not (ANNOTATED / "manifest.jsonl").is_file(), reason="shared corpus not present")

_RUNNING_HEADER = re.compile(r"\d{8} \d{3}(?:\.\d)? OF \d{3}")
_SBU_NOTICE = re.compile(r"SENS?I?TIVE BUT UNCLASSIFIED", re.IGNORECASE)
_REFID = re.compile(r"^(\d\d)([A-Z]+?)(\d+)$")
_SUBJECT_LINE = re.compile(r"\bSUBJ(?:ECT)?\s*:", re.IGNORECASE)


def _norm(s: str | None) -> str:
    return " ".join((s or "").split()).casefold()


def _dedup(values: list[str] | tuple[str, ...]) -> list[str]:
    return list(dict.fromkeys(values))


def _another_cables_body(entry: dict, cable: Cable) -> bool:
    """The page carries the body of another cable (a known fault of the site): the serial line of
    the text names another post or number than the page's reference id."""
    m = _REFID.match(entry["refid"])
    if not m or not cable.origin or not cable.serial:
        return False
    post = cable.origin.replace(" ", "").replace("SECSTATE", "STATE")
    return not (m.group(2).endswith(post) or post.endswith(m.group(2))) or int(m.group(3)) != int(cable.serial)


def _subject_fault(entry: dict, cable: Cable, raw: str) -> str | None:
    """Why the manifest's subject is not the cable's, when it is a known fault of the site."""
    want, got = _norm(entry["subject"]), _norm(cable.subject)
    if _RUNNING_HEADER.search(entry["subject"]):
        return "site kept the page's running header in the subject"
    if _SBU_NOTICE.search(entry["subject"]):
        return "site kept the SBU handling notice in the subject"
    if not want and got and _SUBJECT_LINE.search(raw):
        return "site has no subject although the text has a SUBJECT line"
    if want and got.startswith(want):
        rest = got[len(want) :].lstrip()
        marks = _norm(re.sub(r"\[(?:ORG|PER|LOC|MISC) |  \]", "", raw))
        if marks.find(want.rstrip(".") + "...") >= 0 or marks.find(want + " ...") >= 0:
            return "site took the subject of the page's teaser, cut with '...'"
        if rest.startswith("ref"):
            return "site cut the subject at a word starting with REF (REFORM, REFUGEE...)"
    if _another_cables_body(entry, cable):
        return "page carries the body of another cable"
    return None


def test_agreement_with_the_manifest(capsys: pytest.CaptureFixture[str]) -> None:
    entries = [json.loads(line) for line in (ANNOTATED / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
               if line.strip()]
    assert len(entries) >= 1000
    agree = Counter()
    accepted: dict[str, Counter[str]] = {"level": Counter(), "tags": Counter(), "subject": Counter()}
    unexplained: dict[str, list[str]] = {"level": [], "tags": [], "subject": []}
    linked = 0
    elapsed = 0.0
    for entry in entries:
        raw = (ANNOTATED / entry["file"]).read_text(encoding="utf-8")
        start = time.perf_counter()
        cable = parse_cable(raw, source=entry["file"])  # the text alone: the manifest is the answer key
        elapsed += time.perf_counter() - start
        ref = entry["refid"]

        level = Classification.from_label(entry["classification"]).level
        if cable.classification.level == level:
            agree["level"] += 1
        elif _another_cables_body(entry, cable):
            accepted["level"]["page carries the body of another cable"] += 1
        else:
            unexplained["level"].append(f"{ref}: site {level}, text {cable.classification.level}")

        has_links = "<a href='/tag/" in raw
        linked += has_links
        if _dedup(cable.tags) == _dedup(entry["tags"]):
            agree["tags"] += 1
            agree["tags_linked"] += has_links
        elif not entry["tags"] and not has_links:
            accepted["tags"]["site lists no tags for a page without tag links (text has a plain TAGS line)"] += 1
        else:
            unexplained["tags"].append(f"{ref}: site {entry['tags']}, text {list(cable.tags)}")

        if _norm(cable.subject) == _norm(entry["subject"]):
            agree["subject"] += 1
        elif reason := _subject_fault(entry, cable, raw):
            accepted["subject"][reason] += 1
        else:
            unexplained["subject"].append(f"{ref}: site {entry['subject']!r}, text {cable.subject!r}")

    n = len(entries)
    raw_pct = {k: 100 * agree[k] / n for k in ("level", "tags", "subject")}
    explained_pct = {k: 100 * (agree[k] + sum(accepted[k].values())) / n for k in raw_pct}
    linked_pct = 100 * agree["tags_linked"] / max(1, linked)
    with capsys.disabled():
        print(f"\n{n} annotated cables parsed (text alone) in {elapsed:.1f} s = {n / elapsed:.0f} cables/s")
        for k in raw_pct:
            print(f"  {k:8s} agree {raw_pct[k]:6.2f}%   with the accepted site faults {explained_pct[k]:6.2f}%")
        print(f"  tags on pages with tag links: {linked_pct:.2f}% of {linked}")
        for k in accepted:
            for reason, count in accepted[k].most_common():
                print(f"  accepted {k}: {count:4d} {reason}")
        for k in unexplained:
            print(f"  not explained, {k}: {len(unexplained[k])}")
            for line in unexplained[k][:12]:
                print(f"      {line}")
    assert raw_pct["level"] >= 99.0
    assert linked_pct >= 99.0 and explained_pct["tags"] >= 99.0
    assert explained_pct["subject"] >= 97.0 and raw_pct["subject"] >= 95.0
