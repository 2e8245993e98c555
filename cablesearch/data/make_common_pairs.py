"""Make ``common_pairs.txt``: the pairs of neighbouring words an index keeps as terms (not imported at run time).

    .venv/bin/python cablesearch/data/make_common_pairs.py /work/shared/corpus/annotated

For each field with ``Field.pairs``: every two neighbouring words, as the field's analyzer indexes
them (in the body: stems, stop words left out, so ``secretary of state`` is ``secretari state``;
in a name field: words of one mention), found in at least ``SHARE`` of the real cables, most
common first, ties by the pair. One line a pair: ``field first second``. A phrase of such a pair
(``"human rights"``, ``"prime minister"``, ``loc:"Costa Rica"``) holds in tens of thousands of
cables at full scale, and both its words in more; the index keeps each listed pair as one term
(``engine.WordPairs``), so the phrase is one posting list to read instead of every position of
both words. Any other phrase is matched from positions, as before: the list decides speed, never
answers. A new build takes the list as it is then and keeps it in its schema; an index keeps
using the list it was built with.
"""

from __future__ import annotations

import sys
from collections import Counter
from itertools import pairwise
from pathlib import Path

#: The least share of the cables a listed pair is in: a body pair 1% (the index grows about 1%
#: at 20,000 cables), a name pair 0.2% (names are few words a cable: a smaller list at that).
SHARE = {"text": 0.01, "entity": 0.002}
OUT = Path(__file__).resolve().parent / "common_pairs.txt"


def main(folder: str) -> None:
    from cablesearch.engine import to_whoosh, whoosh_schema
    from cablesearch.errors import CableParseError
    from cablesearch.schema import FIELDS, to_document
    from cablesearch.sources import discover, load_cable

    schema = whoosh_schema()
    paired = [f for f in FIELDS if f.pairs]
    found: dict[str, Counter[str]] = {f.name: Counter() for f in paired}
    cables = 0
    for raw in discover([folder]):
        try:
            cable, _ = load_cable(raw)
        except CableParseError:
            continue
        cables += 1
        doc = to_whoosh(to_document(cable))
        for f in paired:
            if f.name not in doc:
                continue
            tokens = [(t.pos, t.text) for t in schema[f.name].analyzer(doc[f.name], positions=True)]
            found[f.name].update({f"{a} {b}" for (p, a), (q, b) in pairwise(tokens) if q == p + 1})
    lines = [f"# field first second: pairs of neighbouring words in at least {SHARE} (by field kind) of "
             f"{cables} cables; made by make_common_pairs.py"]
    for f in paired:
        least = max(1, round(SHARE[f.kind] * cables))
        top = sorted(((pair, n) for pair, n in found[f.name].items() if n >= least), key=lambda kv: (-kv[1], kv[0]))
        lines.extend(f"{f.name} {pair}" for pair, _ in top)
        print(f"{f.name}: {len(top)} pairs in {least} or more cables")
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
