"""Make ``common_pairs.txt``: the pairs of neighbouring body words an index keeps as terms (not imported at run time).

    .venv/bin/python cablesearch/data/make_common_pairs.py /work/shared/corpus/annotated

Every two neighbouring words (as the body analyzer indexes them: stems, stop words left out, so
``secretary of state`` is ``secretari state``) found in at least ``SHARE`` of the real cables,
most common first, ties by the pair. A phrase of such a pair (``"human rights"``, ``"prime
minister"``) holds in tens of thousands of cables at full scale, and both its words in more; the
index keeps each listed pair as one term (``engine.WordPairs``), so the phrase is one posting list
to read instead of every position of both words. Any other phrase is matched from positions, as
before: the list decides speed, never answers. A new build takes the list as it is then and keeps
it in its schema; an index keeps using the list it was built with.
"""

from __future__ import annotations

import sys
from collections import Counter
from itertools import pairwise
from pathlib import Path

SHARE = 0.01
OUT = Path(__file__).resolve().parent / "common_pairs.txt"


def main(folder: str) -> None:
    from cablesearch.engine import text_analyzer
    from cablesearch.errors import CableParseError
    from cablesearch.sources import discover, load_cable

    analyzer = text_analyzer()
    found: Counter[str] = Counter()
    cables = 0
    for raw in discover([folder]):
        try:
            cable, _ = load_cable(raw)
        except CableParseError:
            continue
        cables += 1
        tokens = [(t.pos, t.text) for t in analyzer(cable.body, positions=True)]
        found.update({f"{a} {b}" for (p, a), (q, b) in pairwise(tokens) if q == p + 1})
    least = max(1, round(SHARE * cables))
    top = sorted(((pair, n) for pair, n in found.items() if n >= least), key=lambda kv: (-kv[1], kv[0]))
    lines = [f"# {len(top)} pairs of neighbouring body stems, each in {least} or more of {cables} cables; "
             "made by make_common_pairs.py", *(pair for pair, _ in top)]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(top)} pairs")


if __name__ == "__main__":
    main(sys.argv[1])
