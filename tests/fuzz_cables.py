"""Cable mutators for the fuzz tests (tests/test_fuzz_cable.py): seeded, bytes in, bytes out.

``CableFuzzer(seed).mutate(data)`` returns ``(name, bytes)``: a real cable file broken in one or
more of the ways files break in the wild: cut short, stray bytes, broken ``[ORG ...]`` marks,
unbalanced ``<a`` tags and HTML, mixed encodings (latin-1, cp1252, UTF-16), a 10,000-line
paragraph, NULs, huge lines, control characters, a CSV or HTML head glued on.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path

FIXTURE_CABLES = Path(__file__).resolve().parent / "fixtures" / "cables"
SUFFIXES = (".txt", ".html", ".htm")

BROKEN_MARKS = [
    "[ORG ", "[ORG", "[ORG Intel", "[PER John [LOC Moscow  ]", "[ORG [ORG FSB  ]  ]", "]]]", "[[[", "[MISC  ]",
    "[LOC ]", "[ORG \n  ]", "[ORG " + "X" * 5000, "[PER  ]  ]  ]", "[ORG FSB  ][ORG KGB  ][ORG", "[org fsb  ]",
]
BROKEN_TAGS = [
    "<a", "<a ", "<a id='par1' href='#par1'>", "<a id='par1' href='#par1'>¶</a", "</a></a></a>", "<a<a<a<a",
    "<a href='", '<a href="/tag/PREL_0.html">PREL', "<table class='cable'>", "<pre>", "</pre>", "<code><pre>",
    "<!--", "<![CDATA[", "<script>", "<td>", "</table>", "<br", "&amp", "&#x1b;", "&#0;", "&#xD800;", "&nbsp;" * 50,
    "<div class='paginator'>", "<h3>", "<" * 1000, ">" * 1000,
]
CONTROL_BYTES = [b"\x00", b"\x07", b"\x08", b"\x1b", b"\x1b[2J", b"\x1b]0;pwned\x07", b"\x9b", b"\xc2\x9b31m",
                 b"\x7f", b"\x0c", b"\x0b", b"\r", b"\xe2\x80\xa8", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"]
HEADS = [b'"1","', b'"1","2009-11-03 13:01","09MOSCOW2723","Embassy Moscow","CONFIDENTIAL","","', b"<html>",
         b"<!DOCTYPE html>", b"<code><pre>", b"VZCZCXRO2539\nRR RUEHBZ\nDE RUEHEG #2115 3121508\n",
         b"FM AMEMBASSY CAIRO\nTO RUEHC/SECSTATE WASHDC 4166\n", b"\xef\xbb\xbf", b"SUBJECT: " * 2000,
         b"TAGS: " + b"PREL, " * 5000, b"REF: " + b"A. 09MOSCOW1234 " * 3000, b"1. (C) " * 5000]


def fixture_files() -> list[Path]:
    """The real cables of tests/fixtures/cables (annotated, HTML, plain), sorted."""
    return sorted(p for p in FIXTURE_CABLES.rglob("*") if p.suffix in SUFFIXES and p.is_file())


class CableFuzzer:
    """Seeded mutations of cable files. ``mutate(data)`` -> ``(what was done, new bytes)``."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self._mutators: list[tuple[str, Callable[[bytes], bytes]]] = [
            ("truncate", self.truncate),
            ("random-bytes", self.random_bytes),
            ("broken-marks", self.broken_marks),
            ("broken-tags", self.broken_tags),
            ("mixed-encodings", self.mixed_encodings),
            ("long-paragraph", self.long_paragraph),
            ("nuls", self.nuls),
            ("huge-line", self.huge_line),
            ("controls", self.controls),
            ("head", self.head),
            ("shuffle-lines", self.shuffle_lines),
            ("repeat", self.repeat),
        ]

    def mutate(self, data: bytes) -> tuple[str, bytes]:
        names = []
        for _ in range(self.r.choice([1, 1, 1, 2, 3])):
            name, fn = self.r.choice(self._mutators)
            names.append(name)
            data = fn(data)
        return "+".join(names), data

    def _at(self, data: bytes) -> int:
        return self.r.randint(0, len(data))

    # -- mutators -------------------------------------------------------------------------------

    def truncate(self, data: bytes) -> bytes:
        return data[: self._at(data)]

    def random_bytes(self, data: bytes) -> bytes:
        for _ in range(self.r.randint(1, 40)):
            i = self._at(data)
            data = data[:i] + bytes(self.r.randrange(256) for _ in range(self.r.randint(1, 8))) + data[i:]
        return data

    def broken_marks(self, data: bytes) -> bytes:
        text = data.decode("utf-8", "replace")
        marks = [m.start() for m in re.finditer(r"\[(?:ORG|PER|LOC|MISC) ", text)]
        for _ in range(self.r.randint(1, 10)):
            if marks and self.r.random() < 0.5:
                i = self.r.choice(marks)
                j = text.find("]", i)
                text = text[:i] + self.r.choice(BROKEN_MARKS) + (text[j + 1:] if j > 0 and self.r.random() < 0.5
                                                                 else text[i + 5:])
            else:
                i = self.r.randint(0, len(text))
                text = text[:i] + self.r.choice(BROKEN_MARKS) + text[i:]
        return text.encode("utf-8", "surrogatepass")

    def broken_tags(self, data: bytes) -> bytes:
        text = data.decode("utf-8", "replace")
        for _ in range(self.r.randint(1, 10)):
            i = self.r.randint(0, len(text))
            if self.r.random() < 0.3 and "</a>" in text:
                text = text.replace("</a>", "", 1)
            else:
                text = text[:i] + self.r.choice(BROKEN_TAGS) + text[i:]
        return text.encode("utf-8")

    def mixed_encodings(self, data: bytes) -> bytes:
        text = data.decode("utf-8", "replace")
        cuts = sorted(self.r.randint(0, len(text)) for _ in range(self.r.randint(1, 6)))
        out, last = [], 0
        for cut in [*cuts, len(text)]:
            piece = text[last:cut]
            enc = self.r.choice(["utf-8", "latin-1", "cp1252", "utf-16", "utf-16-le", "utf-16-be", "mac-roman",
                                 "koi8-r", "shift_jis"])
            out.append(piece.encode(enc, "replace"))
            last = cut
        return b"".join(out)

    def long_paragraph(self, data: bytes) -> bytes:
        line = self.r.choice([b"THE EMBASSY REPORTS THAT", b"word", b"", b"-", b"1.", b"[ORG X  ]", b"XXXXXXXXXXXX"])
        block = b"\xc2\xb65. (C) " + b"\n".join(line + b" %d" % n for n in range(10_000)) + b"\n"
        i = self._at(data)
        return data[:i] + block + data[i:]

    def nuls(self, data: bytes) -> bytes:
        for _ in range(self.r.randint(1, 20)):
            i = self.r.randint(len(data) // 2, len(data)) if self.r.random() < 0.5 else self._at(data)
            data = data[:i] + b"\x00" * self.r.choice([1, 1, 2, 100]) + data[i:]
        return data

    def huge_line(self, data: bytes) -> bytes:
        unit = self.r.choice([b"A", b"WORD ", b"-", b"=", b"X", b"\xc2\xb6", b"1. ", b"(C) ", b"[", b"<", b"\t"])
        size = self.r.choice([100_000, 1_000_000, 2_000_000])
        i = self._at(data)
        return data[:i] + unit * (size // len(unit)) + data[i:]

    def controls(self, data: bytes) -> bytes:
        for _ in range(self.r.randint(1, 30)):
            i = self._at(data)
            data = data[:i] + self.r.choice(CONTROL_BYTES) + data[i:]
        return data

    def head(self, data: bytes) -> bytes:
        return self.r.choice(HEADS) + data

    def shuffle_lines(self, data: bytes) -> bytes:
        lines = data.split(b"\n")
        self.r.shuffle(lines)
        return b"\n".join(lines)

    def repeat(self, data: bytes) -> bytes:
        i = self._at(data)
        j = min(len(data), i + self.r.randint(1, 2000))
        return data[:i] + data[i:j] * self.r.randint(2, 50) + data[j:]
