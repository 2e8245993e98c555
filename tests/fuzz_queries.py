"""Query generators for the fuzz tests (tests/test_fuzz_query.py): seeded, fast, no hypothesis.

``QueryFuzzer(seed).query()`` returns one query text, drawn from a mix of generators:
seeds (the examples of ``cablesearch/query/syntax.md`` and ``tests/golden/queries/*.txt``),
mutations and splices of the seeds, token soup from the grammar's vocabulary, random text,
deep nesting and, rarely, huge inputs near (and over) the length limit.
The same seed gives the same queries, so a failure reported by the test can be replayed.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path

from cablesearch import schema

ROOT = Path(__file__).resolve().parent.parent
SYNTAX_MD = ROOT / "cablesearch" / "query" / "syntax.md"
GOLDEN_QUERIES = ROOT / "tests" / "golden" / "queries"


def seed_queries() -> list[str]:
    """Every example query: the code spans in syntax.md's tables, and the ``q:`` lines of the golden files."""
    seeds: list[str] = []
    for line in SYNTAX_MD.read_text(encoding="utf-8").splitlines():
        if line.startswith("|"):
            seeds += [m.replace("\\|", "|") for m in re.findall(r"`((?:[^`\\]|\\.)+)`", line)]
    for path in sorted(GOLDEN_QUERIES.glob("*.txt")):
        seeds += [line[3:] for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("q: ")]
    return list(dict.fromkeys(s for s in seeds if s.strip()))


FIELD_NAMES = sorted({*schema.ALIASES, "orgg", "x", "_", "FROM", "Date", "label", "serial", "hash", "a1_b"})
WORDS = [
    "intel", "FSB", "moscow", "iran", "nuclear", "waivers", "crypt*", "te?t", "*stan", "*", "?", "a", "the", "of",
    "and", "or", "not", "To", "TO", "2009", "2009-11", "2009-11-03", "2009-13", "2009-02-30", "0000", "99999999999",
    "09MOSCOW2723", "09moscow2723-x", "PREL", "s/nf", "yes", "no", "é", "中文", "Ωmega", "x.y", "a&b", "a|b", "a.b",
    "x" * 70, "beyrle", "naïve", "'quoted'", "1e5", "-1", "+", "=", "%", "#", "@", "$", "`", "\u200b", "\u202e",
]
PHRASES = ['"intel waiver"', '"John Beyrle"', '"secretary of state"', '""', '" "', '"the of"', '"a \\" b"',
           '"\\\\"', '"limited official use"', '"x"', '"iran nuclear program"', '"中文 字"']
SUFFIXES = ["~", "~1", "~2", "~3", "~0", "~5", "~50", "~51", "~999", "~1.5", "~.", "^2", "^0.5", "^0", "^1000",
            "^1001", "^99999999999999999999", "^1.", "^.5"]
RANGES = ["[2008 TO 2009]", "{2008 TO 2010}", "[2008 TO *]", "[* TO *]", "{* TO 2009}", "[2009 TO 2008]",
          "[a TO b]", "[2008 2009]", "[2008 TO 2009 TO 2010]", "[]", "{}", "[2008-02-30 TO 2009]",
          "[0 TO 4294967295]", "[0 TO 4294967296]"]
OPERATORS = ["AND", "OR", "NOT", "&&", "||", "!", "-", "and", "or", "not", "&", "|"]
PUNCT = ["(", ")", "(", ")", ":", "..", ">=", "<=", ">", "<", '"', "[", "]", "{", "}", "\\", "^", "~", "*"]
ALPHABET = (
    "abcxyzABCXYZ0123456789 ()\":^~[]{}<>=.*?-!&|\\\t\n_/'%+#,;@"
    "éßΩ中文\u00a0\u2028\u200b\u202e\ufeff\x00\x07\x1b\x7f\x9b"
)
CONTROLS = ["\x00", "\x07", "\x08", "\x1b", "\x1b[2J", "\x9b", "\x7f", "\r", "\n", "\t", "\u2028", "\ud800"]


class QueryFuzzer:
    """Seeded source of query texts. ``query()`` draws one; ``kind`` tells which generator made it."""

    def __init__(self, seed: int, seeds: list[str] | None = None, *, huge_rate: float = 0.0005) -> None:
        self.r = random.Random(seed)
        self.seeds = seeds if seeds is not None else seed_queries()
        self.huge_rate = huge_rate
        self.kind = ""
        self._generators: list[tuple[float, str, Callable[[], str]]] = [
            (0.05, "seed", self.seed),
            (0.35, "mutation", self.mutation),
            (0.08, "splice", self.splice),
            (0.25, "tokens", self.tokens),
            (0.15, "random", self.random_text),
            (0.08, "nesting", self.nesting),
        ]
        self._weights = [w for w, _, _ in self._generators]

    # -- building blocks ----------------------------------------------------------------------

    def seed(self) -> str:
        return self.r.choice(self.seeds)

    def field(self) -> str:
        name = self.r.choice(FIELD_NAMES)
        return (name.upper() if self.r.random() < 0.1 else name) + ":"

    def value(self) -> str:
        r = self.r
        roll = r.random()
        if roll < 0.45:
            v = r.choice(WORDS)
        elif roll < 0.6:
            v = r.choice(PHRASES)
        elif roll < 0.7:
            v = r.choice(RANGES)
        elif roll < 0.8:
            v = r.choice([">=", "<=", ">", "<"]) + r.choice(["2009", "2009-06-01", "5", "x", ""])
        elif roll < 0.88:
            v = r.choice(["2008", "2005", "1", "x", "*"]) + ".." + r.choice(["2009-06", "2007", "0", "", "*"])
        else:
            v = "".join(r.choice("abcxyz019*?-./&|'é") for _ in range(r.randint(1, 8)))
        if r.random() < 0.2:
            v += r.choice(SUFFIXES)
        return v

    def token(self) -> str:
        roll = self.r.random()
        if roll < 0.45:
            return self.value()
        if roll < 0.65:
            return self.field() + (self.value() if self.r.random() < 0.8 else "")
        if roll < 0.85:
            return self.r.choice(OPERATORS)
        if roll < 0.97:
            return self.r.choice(PUNCT)
        return self.r.choice(CONTROLS)

    def random_char(self) -> str:
        return self.r.choice(ALPHABET)

    # -- generators ---------------------------------------------------------------------------

    def mutation(self) -> str:
        r = self.r
        text = self.seed()
        for _ in range(r.randint(1, 4)):
            n = len(text)
            i = r.randint(0, n)
            j = r.randint(i, min(n, i + 6))
            op = r.randrange(10)
            if op == 0:
                text = text[:i] + self.random_char() + text[i:]
            elif op == 1:
                text = text[:i] + text[j:]
            elif op == 2:
                text = text[:i] + self.random_char() + text[i + 1:]
            elif op == 3:
                text = text[:i] + text[i:j] * r.randint(2, 4) + text[j:]
            elif op == 4:
                text = text[:i] + " " + self.token() + " " + text[i:]
            elif op == 5:
                text = text[:i] + self.token() + text[i:]
            elif op == 6:
                text = text[:i] + text[i:j].swapcase() + text[j:]
            elif op == 7:
                text = text[:i]
            elif op == 8:
                text = text[:i] + r.choice(CONTROLS) + text[i:]
            else:
                text = text[:i] + r.choice(SUFFIXES) + text[i:]
        return text

    def splice(self) -> str:
        a, b = self.seed(), self.seed()
        glue = self.r.choice(["", " ", " OR ", " AND ", "("])
        return a[: self.r.randint(0, len(a))] + glue + b[self.r.randint(0, len(b)):]

    def tokens(self) -> str:
        r = self.r
        parts = [self.token() for _ in range(r.randint(1, 12))]
        sep = r.choice([" ", " ", " ", "", "  ", "\t"])
        return sep.join(parts)

    def random_text(self) -> str:
        return "".join(self.random_char() for _ in range(self.r.randint(0, 40)))

    def nesting(self) -> str:
        r = self.r
        inner = self.seed() if r.random() < 0.5 else self.tokens()
        depth = r.choice([1, 2, 5, 16, 31, 32, 33, 40, 64, r.randint(1, 100)])
        style = r.randrange(8)
        if style == 0:
            return "(" * depth + inner + ")" * depth
        if style == 1:
            return "(" * depth + inner + ")" * r.randint(0, depth + 2)
        if style == 2:
            return r.choice(["-", "!", "NOT ", "- ", "NOT NOT "]) * depth + inner
        if style == 3:
            opening = "".join(r.choice(["(", "-", "NOT ", "!", "org:(", "(a OR "]) for _ in range(depth))
            return opening + inner + ")" * depth
        if style == 4:
            text = inner
            for _ in range(min(depth, 40)):
                text = f"({text}){r.choice(SUFFIXES[9:])}"
            return text
        if style == 5:
            return self.field() + "(" * depth + inner + ")" * depth
        if style == 6:
            return " OR ".join(f"({self.tokens()})" for _ in range(min(depth, 50)))
        return " ".join(r.choice(["-", "NOT ", ""]) + self.token() for _ in range(min(depth, 80)))

    def huge(self) -> str:
        """Inputs near (and over) the 10,000-character limit: many terms, long words, long phrases."""
        r = self.r
        size = r.choice([9_000, 9_999, 10_000, 10_001, 50_000, r.randint(5_000, 10_000)])
        unit = r.choice([
            "a ", "intel ", "org:x ", "-w ", "(", ")", '"', "x", "*", "~", "NOT ", " OR ", "[", "\\", "中",
            self.seed() + " ", self.tokens() + " ", "date:2009..2010 ", "w~2 ", "a^2 ", "crypt* ",
        ])
        text = unit * (size // max(1, len(unit)) + 1)
        return text[:size]

    # -- the mix ------------------------------------------------------------------------------

    def query(self) -> str:
        if self.huge_rate and self.r.random() < self.huge_rate:
            self.kind = "huge"
            return self.huge()
        _, self.kind, gen = self.r.choices(self._generators, weights=self._weights)[0]
        return gen()
