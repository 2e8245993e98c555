"""Terminal safety (issue 8): nothing from a cable can drive the terminal.

Cables whose body, subject, tags, origin, entities and file names hold ``ESC[2J`` (clear
screen), ``ESC]0;pwned BEL`` (retitle the window), ``0x9b 31m`` (C1 CSI), BEL, BS, DEL, C1
controls and a bidi override are built into an index; then every way the CLI and the shell
print cable text (search as text, JSON, JSONL, CSV, counts, facets; show, with and without
highlighting; stats; build's skipped-file listing; errors that quote the query) is run:

- without colour (NO_COLOR, not a terminal): no control character but ``\\n`` and ``\\t`` in
  stdout or stderr, no ESC at all, no C1 control, no bidi override;
- with colour forced (and on a real pseudo-terminal): only our own SGR colour codes (``ESC[...m``).

A file named with control characters is shown escaped (``bad\\x1b[2Jname.txt``) in the build's
skipped list and in ``show``'s Source line.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cablesearch.index import CableIndex

ROOT = Path(__file__).resolve().parent.parent

HOSTILE = "\x1b[2J\x1b]0;pwned\x07\x9b31m\x07\x08\x7f\x85\x90evil\x9c\u202e\x1bc\r"
#: The same without brackets, which would end an entity mark (``[ORG ...  ]``) early.
IN_MARK = "\x9b2J\x07\x08\x1bc\x1b7\x7f\x85\x90evil\x9c\u202e"
#: Everything a terminal may act on: C0 but tab and newline, DEL, C1, bidi embeddings/overrides/isolates.
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
#: Our own colour codes: SGR only.
SGR = re.compile(r"\x1b\[[0-9;]*m")

HOSTILE_NAME = "bad\x1b[2Jname.txt"  # an empty file: skipped, listed by build
GOOD_HOSTILE_NAME = "evil\x1b]0;pwned\x07\x9bname.txt"  # a good cable: its name is its Source



def unsafe(text: str) -> list[str]:
    return sorted({repr(c) for c in UNSAFE.findall(text)})


def assert_clean(text: str, what: str) -> None:
    assert "\x1b" not in text, (what, _around(text, "\x1b"))
    assert not unsafe(text), (what, unsafe(text), _around(text, UNSAFE.search(text).group()))


def assert_only_our_colours(text: str, what: str) -> None:
    rest = SGR.sub("", text).replace("\r\n", "\n")
    assert_clean(rest, what)


def _around(text: str, needle: str) -> str:
    i = text.find(needle)
    return repr(text[max(0, i - 60): i + 60])


# --------------------------------------------------------------------------- the hostile corpus

ANNOTATED = (
    "<code><pre>S E C R E T SECTION 01 OF 02 MOSCOW 004321 SIPDIS E.O. 12958: DECL: 11/04/2019 "
    f"TAGS: PREL{HOSTILE}, RS SUBJECT: HOSTILE {HOSTILE} SUBJECT REF: A. 09MOSCOW1 Classified By: Mr. X{HOSTILE}. "
    "<a id='par1' href='#par1'>¶</a>1 . ( S ) The [ORG " + IN_MARK + "Federal Security Service  ] met "
    "[PER John" + IN_MARK + " Beyrle  ] in [LOC Moscow" + IN_MARK + "  ] about the cookies waiver "
    + HOSTILE + " and [MISC Russian" + IN_MARK + "  ] cookies . "
    "<a id='par2' href='#par2'>¶</a>2 . ( C ) More cookies" + HOSTILE + "here . BEYRLE</pre></code>"
)
MANIFEST_ENTRY = {
    "file": "hostile.txt", "refid": "09MOSCOW4321", "created": "2009-11-03 13:01", "released": "2010-12-01 21:09",
    "classification": "SECRET//NOFORN", "origin": f"Embassy Mos{HOSTILE}cow",
    "tags": [f"PREL{HOSTILE}", "\x9b31mRS", "KCOOKIE"], "subject": f"HOSTILE {HOSTILE} COOKIES SUBJECT",
}
PLAIN = (
    "VZCZCXRO2539\nRR RUEHBZ\nDE RUEHEG #2115 3121508\nZNR UUUUU ZZH\nR 081508Z NOV 09\n"
    f"FM AMEMBASSY CAIRO{HOSTILE}\nTO RUEHC/SECSTATE WASHDC 4166\n\nUNCLAS CAIRO 009999\n\nSENSITIVE\n\n"
    f"E.O. 12958: N/A\nTAGS: KFRD{HOSTILE} CVIS\nSUBJECT: COOKIES {HOSTILE} STUDY\n\n"
    f"1. The cookies study {HOSTILE} found nothing.\n\n2. Cookies\x1b[31m red\x1b[0m and\x9b2J more.\n"
)


def _csv_row(*cells: str) -> str:
    return ",".join('"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in cells) + "\n"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile") / "cables"
    folder.mkdir()
    (folder / "hostile.txt").write_text(ANNOTATED, encoding="utf-8")
    (folder / "manifest.jsonl").write_text(json.dumps(MANIFEST_ENTRY) + "\n", encoding="utf-8")
    (folder / "09CAIRO9999.txt").write_text(PLAIN, encoding="utf-8")
    (folder / GOOD_HOSTILE_NAME).write_text(PLAIN.replace("009999", "008888"), encoding="utf-8")
    (folder / HOSTILE_NAME).write_bytes(b"")
    os.close(os.open(os.fsencode(folder) + b"/undecodable\xff\x1bname.txt", os.O_CREAT | os.O_WRONLY, 0o644))
    page = (ROOT / "tests" / "fixtures" / "cables" / "html" / "05ROME902.html").read_text(encoding="utf-8")
    page = page.replace("Embassy Rome</a>", "Embassy &#x1b;[2JRome&#7;&#x9b;31m</a>").replace(
        "SUBJECT: IRAQ/ITALY", "SUBJECT: IRAQ&#27;]0;pwned&#x07;/ITALY&#x202e;&#0;&#xd800;").replace(
        "PM Berlusconi's", f"PM &#x1b;[2J&#x1B;c&#155;31m&#8;{HOSTILE}Berlusconi's")
    (folder / "05ROME902.html").write_text(page, encoding="utf-8")
    (folder / "cables.csv").write_text(_csv_row(
        "1", "11/03/2009 13:01", f"09ROME{HOSTILE}77", f"Embassy Rome{HOSTILE}", f"SECRET{HOSTILE}", "",
        f"R 031301Z NOV 09\nFM AMEMBASSY ROME{HOSTILE}\nTO SECSTATE WASHDC",
        f"SECRET ROME 000077\n\nTAGS: PREL{HOSTILE}\nSUBJECT: ROMAN COOKIES {HOSTILE}\n\n"
        f"1. (S) Cookies {HOSTILE} in Rome.",
    ), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def index_path(corpus: Path) -> Path:
    from cablesearch.index import build_index

    path = corpus.parent / "index"
    report = build_index([str(corpus)], path, jobs=1)
    assert report.indexed == 5, report.to_dict()
    return path


@pytest.fixture(scope="module")
def keys(index_path: Path) -> list[str]:
    from cablesearch.index import open_index

    with open_index(index_path) as ix:
        return ix.refs()


def test_the_hostile_text_reached_the_index(index_path, keys):
    """The test is worth something only if the index really holds control characters."""
    from cablesearch.index import open_index

    assert len(keys) == 5
    with open_index(index_path) as ix:
        stored = [ix.get_stored(k) for k in keys]
    raw = json.dumps(stored, default=str, ensure_ascii=True)
    for escape in ("\\u009b", "\\u202e"):
        assert escape in raw
    assert any("\\u001b" in json.dumps(s.get("path"), ensure_ascii=True) for s in stored)


# --------------------------------------------------------------------------- the CLI, in process


def run_cli(args: list[str], capsys, monkeypatch, *, color: bool = False) -> tuple[int, str, str]:
    from cablesearch import cli

    monkeypatch.setenv("NO_COLOR", "" if color else "1")
    if color:
        monkeypatch.setattr(cli, "_use_color", lambda stream=None: True)
    try:
        cli.main(args)
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 0
    out, err = capsys.readouterr()
    return code, out, err


SEARCHES = [
    ["cookies"], ["cookies", "--json"], ["cookies", "--jsonl"], ["cookies", "--csv"], ["cookies", "--count"],
    ["*", "--facets", "tag,origin,class,org,per,loc"], ["*", "--sort", "date", "-n", "10"], ["org:federal"],
    ["per:beyrle"], ["loc:moscow"], ["tag:*"], ["evil"], ["pwned"], [f'cookies "{HOSTILE}"'],
]


@pytest.mark.parametrize("args", SEARCHES, ids=[" ".join(a)[:30] for a in SEARCHES])
def test_cli_search_prints_no_control_characters(index_path, capsys, monkeypatch, args):
    code, out, err = run_cli(["search", *args, "--index", str(index_path)], capsys, monkeypatch)
    assert code in (0, 1), err
    if "--csv" in args:
        out = out.replace("\r\n", "\n")  # RFC 4180 line ends
    assert_clean(out + err, f"search {args}")


def test_cli_search_finds_the_hostile_cables(index_path, capsys, monkeypatch):
    code, out, err = run_cli(["search", "cookies", "--index", str(index_path), "-n", "10"], capsys, monkeypatch)
    assert code == 0, err
    assert "4 cables match" in out
    assert "HOSTILE" in out and "COOKIES" in out


@pytest.mark.parametrize("args", [["cookies"], ["*", "--facets", "tag,origin"], ["org:federal"]])
def test_cli_search_in_colour_prints_only_our_colours(index_path, capsys, monkeypatch, args):
    code, out, err = run_cli(["search", *args, "--index", str(index_path)], capsys, monkeypatch, color=True)
    assert code == 0, err
    assert_only_our_colours(out + err, f"search {args} in colour")


@pytest.mark.parametrize("query", [f"{HOSTILE}(", f"orgg{HOSTILE}:x", f'"{HOSTILE}', f"date:{HOSTILE}", "\x9b"])
def test_query_errors_quoting_the_query_print_no_control_characters(index_path, capsys, monkeypatch, query):
    for args in (["search", query], ["search", query, "--json"], ["search", query, "--explain"],
                 ["show", "09MOSCOW4321", "--highlight", query]):
        code, out, err = run_cli([*args, "--index", str(index_path)], capsys, monkeypatch)
        assert code in (1, 2), (args, out, err)
        assert_clean(out + err, f"{args}")


def test_cli_explain_prints_no_control_characters(index_path, capsys, monkeypatch):
    code, out, err = run_cli(["search", f'cookies OR "{HOSTILE}"', "--explain", "--index", str(index_path)], capsys,
                             monkeypatch)
    assert code == 0, err
    assert_clean(out + err, "explain")


@pytest.mark.parametrize("color", [False, True])
def test_cli_show_prints_no_control_characters(index_path, keys, capsys, monkeypatch, color):
    seen = ""
    for key in keys:
        for extra in ([], ["--highlight", "cookies OR beyrle OR org:federal"]):
            code, out, err = run_cli(["show", key, "--index", str(index_path), *extra], capsys, monkeypatch,
                                     color=color)
            assert code == 0, (key, err)
            (assert_only_our_colours if color else assert_clean)(out + err, f"show {key} {extra}")
            seen += out
    assert "HOSTILE" in seen and "COOKIES" in seen


def test_cli_show_of_a_hostile_ref_prints_no_control_characters(index_path, capsys, monkeypatch):
    code, out, err = run_cli(["show", HOSTILE, "--index", str(index_path)], capsys, monkeypatch)
    assert code == 1
    assert_clean(out + err, "show HOSTILE")


def test_cli_show_shows_a_hostile_file_name_escaped(index_path, keys, capsys, monkeypatch):
    sources = []
    for key in keys:
        _, out, _ = run_cli(["show", key, "--index", str(index_path)], capsys, monkeypatch)
        sources += [line for line in out.splitlines() if line.startswith("Source:")]
    assert any(line.endswith("evil\\x1b]0;pwned\\x07\\x9bname.txt") for line in sources), sources


@pytest.mark.parametrize("args", [[], ["--json"]])
def test_cli_stats_prints_no_control_characters(index_path, capsys, monkeypatch, args):
    code, out, err = run_cli(["stats", "--index", str(index_path), *args], capsys, monkeypatch)
    assert code == 0, err
    assert_clean(out + err, f"stats {args}")
    if not args:
        assert "KCOOKIE" in out


def test_cli_build_lists_hostile_file_names_escaped(corpus, tmp_path, capsys, monkeypatch):
    code, out, err = run_cli(["build", str(corpus), "--index", str(tmp_path / "index"), "--jobs", "1"], capsys,
                             monkeypatch)
    assert code == 1, err  # some files were skipped
    assert_clean(out + err, "build")
    assert "bad\\x1b[2Jname.txt: empty" in err, err
    assert "undecodable\\xff\\x1bname.txt: empty" in err, err
    assert "5 cables indexed" in out


# --------------------------------------------------------------------------- the CLI and the shell, as processes


def run_process(args: list[str], stdin: str = "", env: dict[str, str] | None = None) -> tuple[int, str, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "cablesearch", *args], input=stdin.encode("utf-8", "surrogateescape"),
        capture_output=True, cwd=ROOT, timeout=120,
        env={**os.environ, "NO_COLOR": "1", "PYTHONIOENCODING": "utf-8", **(env or {})},
    )
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")


def test_a_real_build_and_show_through_pipes(corpus, index_path, tmp_path):
    code, out, err = run_process(["build", str(corpus), "--index", str(tmp_path / "index"), "--jobs", "1"])
    assert code == 1, err
    assert_clean(out + err, "build process")
    assert "bad\\x1b[2Jname.txt" in err
    code, out, err = run_process(["show", "09MOSCOW4321", "--index", str(index_path), "--highlight", "cookies"])
    assert code == 0, err
    assert_clean(out + err, "show process")
    assert "HOSTILE" in out


SHELL_SCRIPT = "\n".join([
    "cookies", ":show 1", ":show 2", ":more", ":facets", ":facets tag origin class org per loc misc", ":stats",
    ":explain cookies", f":explain {HOSTILE}", f"{HOSTILE}(", f"orgg{HOSTILE}:x", ":show 99", f":show {HOSTILE}",
    ":show 09MOSCOW4321", ":sort date", ":limit 3", "org:federal", "per:beyrle", "*", ":show 3", f":sort {HOSTILE}",
    f":limit {HOSTILE}", f":{HOSTILE}", ":help", ":quit",
]) + "\n"


def test_the_shell_piped_prints_no_control_characters(index_path):
    code, out, err = run_process(["shell", "--index", str(index_path)], stdin=SHELL_SCRIPT)
    assert code == 1, err  # some lines fail on purpose
    assert_clean(out + err, "shell piped")
    assert "cables match" in out and "HOSTILE" in out and "COOKIES" in out
    assert "line 10:" in err


def test_the_shell_scripted_in_process_prints_no_control_characters(index_path, capsys):
    from cablesearch.shell.app import run_shell

    out = io.StringIO()
    run_shell(index_path, input=io.StringIO(SHELL_SCRIPT), output=out)
    err = capsys.readouterr().err
    assert_clean(out.getvalue() + err, "shell scripted")
    assert "cables match" in out.getvalue()


# --------------------------------------------------------------------------- the renderers, with colour


@pytest.fixture(scope="module")
def results(index_path: Path):
    """Pages of hits for hostile queries, from the engine (what CableIndex.search returns)."""
    from cablesearch import search as engine
    from cablesearch.index import open_index

    with open_index(index_path) as ix:
        out = [engine.search(ix, q, limit=10) for q in ("cookies", "*", "org:federal", "per:beyrle OR loc:moscow")]
        facets = engine.facets(ix, "*", by=("tag", "origin", "class", "org", "per", "loc", "misc"), top=0)
        cables = [ix.get(k) for k in ix.refs()]
        stats = ix.stats()
    assert all(r.total for r in out)
    return {"results": out, "facets": facets, "cables": cables, "stats": stats}


@pytest.mark.parametrize("color", [False, True])
def test_the_renderers_print_only_our_colours(results, color, index_path):
    from cablesearch import render
    from cablesearch.index import open_index
    from cablesearch.shell.view import render_results

    check = assert_only_our_colours if color else assert_clean
    for res in results["results"]:
        check(render.render_hits_text(res, color=color, width=60), "render_hits_text")
        check(render_results(res, color=color, width=60, interactive=True), "shell render_results")
        check(render_results(res, color=color, width=200), "shell render_results wide")
        check(render.render_json(res, facets=results["facets"]), "render_json")
        check("".join(render.iter_jsonl(res.hits)), "iter_jsonl")
        check("".join(render.iter_csv(res.hits)).replace("\r\n", "\n"), "iter_csv")  # RFC 4180 line ends
    check(render.render_facets(results["facets"], color=color), "render_facets")
    check(render.render_stats(results["stats"]), "render_stats")
    with open_index(index_path) as ix:
        for cable in results["cables"]:
            for hl in (None, "cookies OR beyrle OR org:federal OR evil"):
                check(render.render_cable_text(cable, highlight_query=hl, color=color, index=ix, width=50),
                      "render_cable_text")


def test_shell_completions_offer_no_control_characters(index_path):
    """Values offered by the completer come from the index: tags, origins, entities."""
    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.document import Document

    from cablesearch.index import open_index
    from cablesearch.shell.completer import ShellCompleter
    from cablesearch.shell.values import IndexValues, ValueCache

    with open_index(index_path) as ix:
        source = IndexValues(ix)
        try:
            completer = ShellCompleter(ValueCache(source))
            offered = []
            for text in ("tag:", "origin:", "org:", "per:", "loc:", "misc:", "class:", "tag:P", "org:f"):
                offered += list(completer.get_completions(Document(text), CompleteEvent(completion_requested=True)))
        finally:
            source.close()
    shown = [(c.text, c.display_text, c.display_meta_text) for c in offered]
    assert any("COOKIE" in t.upper() for t, _, _ in shown), shown
    for text, display, meta in shown:
        assert_clean(text + display + meta, f"completion {text!r}")


# --------------------------------------------------------------------------- a real terminal


def test_on_a_pseudo_terminal_only_our_colours_reach_the_screen(index_path, keys):
    pexpect = pytest.importorskip("pexpect")
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.update(TERM="xterm-256color", PYTHONIOENCODING="utf-8")
    for args in (["search", "cookies"], ["search", "*", "--facets", "tag,org"], ["show", "09MOSCOW4321",
                                                                                "--highlight", "cookies"]):
        child = pexpect.spawn(sys.executable, ["-m", "cablesearch", *args, "--index", str(index_path)], cwd=str(ROOT),
                              env=env, dimensions=(50, 120), timeout=60, encoding="utf-8", codec_errors="replace")
        child.expect(pexpect.EOF)
        text = child.before
        child.close()
        assert child.exitstatus == 0, text
        assert SGR.search(text), f"no colour on a terminal: {text[:200]!r}"
        assert_only_our_colours(text, f"pty {args}")


def test_the_interactive_shell_on_a_pseudo_terminal_shows_no_cable_controls(index_path, tmp_path):
    """prompt_toolkit draws with its own CSI sequences (and a backspace); none of the cable's
    sequences, no OSC, no C1 control, no BEL, no bidi override may reach the screen."""
    pexpect = pytest.importorskip("pexpect")
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.update(TERM="xterm-256color", PAGER="", XDG_DATA_HOME=str(tmp_path), PYTHONIOENCODING="utf-8")
    child = pexpect.spawn(sys.executable, ["-m", "cablesearch", "shell", "--index", str(index_path)], cwd=str(ROOT),
                          env=env, dimensions=(40, 120), timeout=60, encoding="utf-8", codec_errors="replace")
    child.logfile_read = screen = io.StringIO()
    child.expect("cables> ")
    for line in ["cookies", ":show 1", ":show 2", "org:federal", ":facets tag origin org per", ":stats"]:
        child.sendline(line)
        child.expect("cables> ")
    child.sendline(":quit")
    child.expect(pexpect.EOF)
    text = screen.getvalue()
    assert "HOSTILE" in text and "cables match" in text
    for needle in ("\x1b[2J", "\x1b]", "\x1bc", "\x1b7", "\x07", "\x9b", "\x85", "\x90", "\x9c", "\u202e", "\x7f"):
        assert needle not in text, (needle, _around(text, needle))
    assert not re.search(r"\x1b[^\[]", text), _around(text, re.search(r"\x1b[^\[]", text).group())


def test_a_query_of_undecodable_bytes_is_a_clean_error(index_path):
    """argv bytes that are not UTF-8 arrive as lone surrogates (surrogateescape): whoosh cannot encode
    them (UnicodeEncodeError before the parser refused them); now a query error, exit code 2."""
    for extra in (["--explain"], ["--index", str(index_path)]):
        proc = subprocess.run([sys.executable, "-m", "cablesearch", "search", b"ab\xff\x1b[2Jc", *extra],
                              capture_output=True, cwd=ROOT, timeout=120, env={**os.environ, "NO_COLOR": "1"})
        err = proc.stderr.decode("utf-8", "replace")
        if "--index" in extra and not hasattr(CableIndex, "search"):
            continue  # the parse happens inside CableIndex.search (not there yet)
        assert proc.returncode == 2, err
        assert "undecodable character" in err, err
        assert_clean(proc.stdout.decode("utf-8", "replace") + err, "undecodable query")


def test_the_skipped_list_holds_no_control_characters(tmp_path):
    """`cat index/gen-*/skipped.tsv` must not drive the terminal: a skipped file whose name
    carries escape sequences is listed with them escaped (found in a new user's review)."""
    from cablesearch.build import SKIPPED_TSV, build_index

    src = tmp_path / "src"
    src.mkdir()
    seed = Path(__file__).resolve().parent / "fixtures" / "cables" / "plain"
    good = next(p for p in sorted(seed.glob("*.txt")))
    (src / good.name).write_text(good.read_text(encoding="utf-8"), encoding="utf-8")
    hostile = "evil\x1b]0;pwned\x07\x9bname.txt"
    try:
        (src / hostile).write_text("", encoding="utf-8")  # empty: skipped, with its name listed
    except OSError:  # pragma: no cover - a file system that refuses such names
        pytest.skip("this file system refuses control characters in names")
    report = build_index([str(src)], tmp_path / "index", jobs=1)
    assert len(report.skipped) == 1
    listed = (tmp_path / "index" / report.generation / SKIPPED_TSV).read_text(encoding="utf-8")
    assert not unsafe(listed), unsafe(listed)
    assert "evil\\x1b]0;pwned\\x07\\x9bname.txt\tempty file" in listed
