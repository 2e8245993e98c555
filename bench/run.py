"""The issue-7 benchmark suite: build, update, queries, facets, shell and grep, against the targets.

    .venv/bin/python bench/run.py [--sizes 20000,250000] [--work DIR] [--reuse] [--markdown]

For each size: make the synthetic corpus with ``/work/shared/tools/make_corpus.py`` (kept in the work
folder and reused when complete: it is deterministic), build the index with the user's command
(``cablesearch build CORPUS --index DIR``) and the naive baseline (``bench/_baseline.py``), each
measured for wall time and peak RSS of its process tree; time the query mix of
``bench/queries.txt`` per category, the shell's start-up under a pty and its ``org:`` completion,
``grep -r`` against field queries, and an ``--update`` after changing 100 cables. Prints a table
of metric, value, target and pass/fail per size, and keeps every raw figure in
``WORK/results-SIZE.json``. ``--reuse`` keeps an existing index (the build figures then come from
the last results file). Not part of the test suite. See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for p in (str(HERE), str(ROOT)):
    if p not in sys.path:
        sys.path.insert(0, p)

import _proc  # noqa: E402
import _queries  # noqa: E402
import _shell  # noqa: E402

MAKE_CORPUS = Path("/work/shared/tools/make_corpus.py")
GB = 2**30
MB = 2**20
#: Issue 7's build rate: 250,000 cables in 10 minutes.
RATE = 420
#: Facet target: a query with about this many matches (those within a factor 2 count).
FACET_MATCHES = 20_000
UPDATE_CHANGES = 100
PHASES = ("build", "baseline", "queries", "grep", "shell", "update")


# --------------------------------------------------------------------------- rows


class Table:
    """Rows of (metric, value, target, status); status is pass, FAIL or info."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []
        self.notes: list[str] = []

    def check(self, metric: str, value: float, shown: str, target: str, ok: bool | None) -> None:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            ok = None
        self.rows.append((metric, shown, target, "info" if ok is None else ("pass" if ok else "FAIL")))

    def info(self, metric: str, shown: str, target: str = "") -> None:
        self.rows.append((metric, shown, target, "info"))

    def render(self, markdown: bool) -> str:
        head = ("metric", "value", "target", "")
        if markdown:
            lines = ["| " + " | ".join(head) + " |", "|---|---:|---|---|"]
            lines += ["| " + " | ".join(r) + " |" for r in self.rows]
            return "\n".join(lines)
        widths = [max(len(r[i]) for r in [head, *self.rows]) for i in range(4)]

        def fmt(r: tuple[str, ...]) -> str:
            return "  ".join([r[0].ljust(widths[0]), r[1].rjust(widths[1]), r[2].ljust(widths[2]), r[3]]).rstrip()

        lines = [fmt(head), "  ".join("-" * w for w in widths)]
        lines += [fmt(r) for r in self.rows]
        return "\n".join(lines)


def ms(seconds: float) -> str:
    if seconds is None or math.isnan(seconds):
        return "-"
    return f"{seconds * 1000:,.1f} ms" if seconds >= 0.001 else f"{seconds * 1000:.3f} ms"


# --------------------------------------------------------------------------- corpus


def ensure_corpus(work: Path, n: int, log: Any) -> Path:
    """``WORK/corpus-N``, made with make_corpus.py unless it is already complete."""
    out = work / f"corpus-{n}"
    if out.exists():
        files, _ = _proc.files_and_size(out)
        if files == n:
            log(f"corpus {out}: {n:,} files, reused")
            return out
        log(f"corpus {out}: {files:,} files, not {n:,}: making it again")
        shutil.rmtree(out)
    argv = [sys.executable, str(MAKE_CORPUS), "--count", str(n), "--out", str(out)]
    log("making corpus: " + " ".join(argv))
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, stderr=subprocess.DEVNULL)
    log(f"corpus made in {time.perf_counter() - t0:.0f} s")
    return out


# --------------------------------------------------------------------------- phases


def build(corpus: Path, index: Path, jobs: int, env: dict[str, str]) -> dict[str, Any]:
    if index.exists():
        shutil.rmtree(index)
    argv = _proc.cablesearch_argv("build", str(corpus), "--index", str(index), "--jobs", str(jobs))
    m = _proc.measure(argv, env=env)
    _proc.check(m, "build")
    from cablesearch import indexdir

    meta = json.loads((indexdir.live_generation(index) / "build.json").read_text(encoding="utf-8"))
    return {"command": m.command, "seconds": m.seconds, "cpu": m.cpu, "peak_rss": m.peak_rss,
            "size": _proc.dir_size(index), "summary": m.stdout.strip().splitlines()[-1:],
            "run": meta.get("last_run", {})}


def baseline(corpus: Path, out: Path, limit: int, env: dict[str, str]) -> dict[str, Any]:
    if out.exists():
        shutil.rmtree(out)
    argv = [sys.executable, str(HERE / "_baseline.py"), str(corpus), str(out)]
    if limit:
        argv += ["--limit", str(limit)]
    m = _proc.measure(argv, env=env)
    _proc.check(m, "baseline")
    got = json.loads(m.stdout.strip().splitlines()[-1])
    size = _proc.dir_size(out)
    shutil.rmtree(out)
    return {"command": m.command, "seconds": m.seconds, "cpu": m.cpu, "peak_rss": m.peak_rss, "size": size, **got}


def queries(index: Path, lines: list[_queries.Line], repeat: int, log: Any) -> dict[str, Any]:
    from cablesearch.index import open_index

    timed: list[_queries.Timed] = []
    default_snippets: list[_queries.Timed] = []
    with open_index(index) as ix:
        runner = _queries.Runner(ix, repeat)
        for i, line in enumerate(x for x in lines if x.category != "grep"):
            timed.append(runner.run(line))
            if line.category == "snippets":
                default_snippets.append(runner.run(line, snippets=3))
            if i % 50 == 49:
                log(f"  {i + 1} queries timed")
    out: dict[str, Any] = {"per_query": [
        {"category": t.line.category, "query": t.line.query, "total": t.total, "cold": t.cold,
         "median": t.median, "runs": t.runs, "error": t.error} for t in timed]}
    for cat in _queries.CATEGORIES[:-1]:
        out[cat] = _queries.summarise(timed, cat)
    out["snippets3"] = _queries.summarise(
        [_queries.Timed(_queries.Line("snippets3", t.line.query), t.total, t.cold, t.runs, t.error)
         for t in default_snippets], "snippets3")
    facets = [t for t in timed if t.line.category == "facets" and not t.error]
    near = [t for t in facets if FACET_MATCHES / 2 <= t.total <= FACET_MATCHES * 2]
    if not near and facets:
        near = [min(facets, key=lambda t: abs(math.log(max(t.total, 1) / FACET_MATCHES)))]
    out["facets_near"] = {"queries": [(t.line.query, t.total, t.median) for t in near],
                          "median": _queries.percentile([t.median for t in near], 50)}
    return out


def grep(index: Path, corpus: Path, lines: list[_queries.Line], repeat: int) -> list[dict[str, Any]]:
    from cablesearch.index import open_index

    rows = []
    with open_index(index) as ix:
        runner = _queries.Runner(ix, repeat)
        for line in (x for x in lines if x.category == "grep"):
            runner.count(line.query)  # warm
            n, t = runner.time_count(line.query)
            gn, gt, cmd = _queries.run_grep(line.grep, corpus)
            rows.append({"query": line.query, "matches": n, "seconds": t, "grep_files": gn, "grep_seconds": gt,
                         "grep_command": cmd, "speedup": gt / t if t > 0 else math.inf})
    return rows


def shell(index: Path, env: dict[str, str]) -> dict[str, Any]:
    argv = _proc.cablesearch_argv("shell", "--index", str(index))
    got = subprocess.run([sys.executable, str(HERE / "_shell.py"), str(index), "120"], capture_output=True,
                         text=True, check=False, env=env, timeout=1800)
    if got.returncode != 0:
        raise SystemExit(f"completion benchmark failed: {got.stderr[-2000:]}")
    return {"startup": _shell.startup(argv, env), "completion": json.loads(got.stdout.strip().splitlines()[-1])}


def _change(text: str, i: int) -> str:
    marker = "</pre></code>"
    line = f"( U ) Benchmark edit {i} : this paragraph was added to change the cable .\n"
    k = text.rfind(marker)
    return text[:k] + line + text[k:] if k >= 0 else text + line


def _replace(path: Path, text: str) -> None:
    """Write ``path`` as a new file (never in place: the corpus may share inodes with a copy)."""
    tmp = path.with_name(path.name + ".bench-tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def update(corpus: Path, index: Path, env: dict[str, str]) -> dict[str, Any]:
    """Change 100 cables, ``cablesearch build --update``; put them back, update again: two samples."""
    from cablesearch import indexdir
    from cablesearch.index import open_index

    with open_index(index) as ix:  # only indexed sources: a duplicate key's loser would change nothing
        indexed = set(ix.term_counts("path"))
    # by their real paths, as the index holds them when it was built from the corpus itself, or
    # through the link ``corpus`` (the update follows either: it compares sources by real path)
    real = str(corpus.resolve())
    files = sorted(str(p) for p in corpus.resolve().rglob("*.txt"))

    def is_indexed(f: str) -> bool:
        return f.lower() in indexed or (str(corpus) + f[len(real):]).lower() in indexed

    step = max(1, len(files) // UPDATE_CHANGES)
    chosen: list[Path] = []
    for start in range(0, len(files), step):
        f = next((f for f in files[start:start + step] if is_indexed(f)), None)
        if f is not None and len(chosen) < UPDATE_CHANGES:
            chosen.append(Path(f))
    originals = {p: p.read_text(encoding="utf-8") for p in chosen}
    argv = _proc.cablesearch_argv("build", "--update", str(corpus), "--index", str(index))
    runs = []
    try:
        for i, p in enumerate(chosen):
            _replace(p, _change(originals[p], i))
        for phase in ("changed", "restored"):
            if phase == "restored":
                for p, text in originals.items():
                    _replace(p, text)
            m = _proc.measure(argv, env=env)
            _proc.check(m, "update")
            meta = json.loads((indexdir.live_generation(index) / "build.json").read_text(encoding="utf-8"))
            run = meta.get("last_run", {})
            runs.append({"phase": phase, "seconds": m.seconds, "peak_rss": m.peak_rss, "replaced": run.get("replaced"),
                         "added": run.get("added"), "removed": run.get("removed"), "unchanged": run.get("unchanged"),
                         "summary": m.stdout.strip().splitlines()[-1:]})
    finally:
        for p, text in originals.items():
            if p.read_text(encoding="utf-8") != text:
                _replace(p, text)
    return {"command": " ".join(argv), "changed": len(chosen), "runs": runs,
            "median": _queries.percentile([r["seconds"] for r in runs], 50)}


# --------------------------------------------------------------------------- the table


def table_for(n: int, res: dict[str, Any]) -> Table:
    t = Table()
    corpus_files, corpus_size = res["corpus_files"], res["corpus_size"]
    b = res.get("build")
    if b:
        seen = b["run"].get("seen") or corpus_files
        rate = seen / b["seconds"]
        when = f" (from {b['at']})" if b.get("reused") else ""
        t.check(f"build: wall for {seen:,} files{when}", b["seconds"], f"{b['seconds']:,.0f} s",
                f"<= {n / RATE:,.0f} s (250k: 600 s)", b["seconds"] <= n / RATE)
        t.check("build: files/s", rate, f"{rate:,.0f}", f">= {RATE}", rate >= RATE)
        t.check("build: peak RSS, process tree", b["peak_rss"], f"{b['peak_rss'] / GB:.2f} GB", "<= 1.5 GB",
                b["peak_rss"] <= 1.5 * GB)
        ratio = b["size"] / corpus_size
        t.check("build: index size / corpus size", ratio,
                f"{ratio:.2f} ({b['size'] / MB:,.0f} / {corpus_size / MB:,.0f} MB)", "<= 1.5", ratio <= 1.5)
        t.info("build: cables indexed (duplicate keys dropped)", f"{b['run'].get('indexed', 0):,}")
        if b.get("cpu"):
            t.info("build: CPU time per file (process tree)", f"{b['cpu'] / seen * 1000:.1f} ms",
                   f"{b['cpu'] / b['seconds']:.2f} cores busy on average")
            t.info("build: files/s with 2 free cores (projection: files / (CPU s / 2))",
                   f"{seen / (b['cpu'] / 2):,.0f}", "not a measurement")
        base = res.get("baseline")
        if base:
            brate = base["files"] / base["seconds"]
            t.info(f"baseline: whoosh default writer, {base['files']:,} files", f"{brate:,.0f} files/s",
                   f"{base['seconds']:,.0f} s, peak {base['peak_rss'] / GB:.2f} GB, "
                   f"size {base['size'] / MB:,.0f} MB")
            t.check("build: speed vs baseline", rate / brate, f"{rate / brate:.2f}x", ">= 2x", rate / brate >= 2)
            if base.get("cpu") and b.get("cpu"):
                per = (b["cpu"] / seen) / (base["cpu"] / base["files"])
                t.info("build: CPU per file vs baseline", f"{per:.2f}x", "baseline uses one core")
    u = res.get("update")
    if u:
        each = ", ".join(f"{r['seconds']:.1f}" for r in u["runs"])
        t.check(f"update: {u['changed']} changed cables (median of {len(u['runs'])})", u["median"],
                f"{u['median']:.1f} s", "<= 10 s", u["median"] <= 10)
        t.info("update: each run (replaced)", f"{each} s",
               ", ".join(str(r.get("replaced")) for r in u["runs"]) + " replaced")
    q = res.get("queries")
    if q:
        p, s, w = q["plain"], q["snippets"], q["wildcard"]
        t.check(f"queries, no snippets ({p['queries']}): p50", p["p50"], ms(p["p50"]), "<= 5 ms", p["p50"] <= 0.005)
        t.check("queries, no snippets: p95", p["p95"], ms(p["p95"]), "<= 30 ms", p["p95"] <= 0.030)
        t.check(f"queries, 10 hits x 1 snippet ({s['queries']}): p50", s["p50"], ms(s["p50"]), "<= 25 ms",
                s["p50"] <= 0.025)
        t.check("queries, 10 hits x 1 snippet: p95", s["p95"], ms(s["p95"]), "<= 80 ms", s["p95"] <= 0.080)
        s3 = q["snippets3"]
        t.info("queries, 10 hits x 3 snippets (CLI default): p50 / p95", f"{ms(s3['p50'])} / {ms(s3['p95'])}")
        t.info(f"prefix/wildcard ({w['queries']}): p50", ms(w["p50"]))
        t.check("prefix/wildcard: p95", w["p95"], ms(w["p95"]), "<= 200 ms", w["p95"] <= 0.200)
        f = q["fuzzy"]
        t.info(f"fuzzy ({f['queries']}): p50 / p95", f"{ms(f['p50'])} / {ms(f['p95'])}")
        fn = q["facets_near"]
        which = "; ".join(f"{qq} ({nn:,})" for qq, nn, _ in fn["queries"])
        t.check(f"facets tag/class/origin/year, ~{FACET_MATCHES:,} matches", fn["median"], ms(fn["median"]),
                "<= 150 ms", fn["median"] <= 0.150)
        t.notes.append(f"facet target measured on: {which}")
        fa = q["facets"]
        t.info(f"facets, all {fa['queries']} queries: p50 / p95", f"{ms(fa['p50'])} / {ms(fa['p95'])}")
        t.info("first run in the process (plain): p50 / p95", f"{ms(p['cold_p50'])} / {ms(p['cold_p95'])}")
        errors = [e for cat in _queries.CATEGORIES[:-1] for e in q[cat]["errors"]]
        nohits = [x for cat in _queries.CATEGORIES[:-1] for x in q[cat]["no_hits"]]
        t.info("queries rejected by the product / with no hits", f"{len(errors)} / {len(nohits)}")
        t.notes += [f"rejected: {qq!r}: {err}" for qq, err in errors]
        if nohits:
            t.notes.append("no hits: " + ", ".join(repr(x) for x in nohits))
        for cat in ("plain", "snippets", "wildcard", "fuzzy", "facets"):
            t.notes.append(f"slowest {cat}: " + ", ".join(f"{qq!r} {ms(m)}" for m, qq in q[cat]["slowest"][:3]))
    sh = res.get("shell")
    if sh:
        st, c = sh["startup"], sh["completion"]
        t.check("shell: command to ready prompt (median)", st["median"], f"{st['median']:.2f} s", "<= 0.5 s",
                st["median"] <= 0.5)
        t.info("shell: first start (fills the bytecode cache)", f"{st['first']:.2f} s")
        t.check(f"shell: org: completion, values loaded (median of {len(c['per_prefix'])} prefixes)", c["median"],
                ms(c["median"]), "<= 50 ms", c["median"] <= 0.050)
        t.info("shell: org: completion p95 / max", f"{ms(c['p95'])} / {ms(c['max'])}")
        t.check("shell: first org: completion (before org values are loaded)", c["cold"], ms(c["cold"]), "<= 50 ms",
                c["cold"] <= 0.05)
        if c.get("cold_prefixes"):
            shown = ", ".join(f"{p} {ms(v)}" for p, v in c["cold_prefixes"].items())
            t.info("shell: org: completions while the values load", shown)
            t.info("shell: org: values loaded (the rest of the wait)", ms(c["field_load"]))
        t.check("shell: values offered after org:", c["cold_offered"], f"{c['cold_offered']}", "> 0",
                c["cold_offered"] > 0)
        t.notes += [f"completion values of {f!r} failed to load: {err}" for f, err in c.get("errors", {}).items()]
        loaded = f"{c['load_all']:.1f} s" if c.get("load_all") is not None else f"> {c['load_timeout']:.0f} s"
        t.info("shell: background load of all completion values", loaded)
    g = res.get("grep")
    if g:
        speed = sorted(r["speedup"] for r in g)
        med = _queries.percentile(speed, 50)
        t.check(f"grep -r / field query, all matches (median of {len(g)})", med, f"{med:,.0f}x", ">= 100x",
                med >= 100)
        t.info("grep -r / field query: min / max", f"{speed[0]:,.0f}x / {speed[-1]:,.0f}x")
        for r in g:
            t.notes.append(f"grep: {r['query']!r}: index {r['matches']:,} matches in {ms(r['seconds'])}; "
                           f"grep {r['grep_files']:,} files in {r['grep_seconds']:.2f} s")
    if res.get("carried"):
        t.notes.append("not measured in this run, carried from the last results: " + "; ".join(res["carried"]))
    t.info("machine", res["machine"])
    t.info("code measured (at the start)", res.get("code", "?"))
    t.info("load average (1/5/15 min), start -> end", f"{res['load_start']} -> {res.get('load_end', '?')}")
    return t


# --------------------------------------------------------------------------- main


def code_state() -> str:
    """What was measured: git HEAD, and a hash and the newest change time of the package's files
    (the tree may hold uncommitted work)."""
    import hashlib

    h = hashlib.sha1()
    newest = 0.0
    for p in sorted([*(ROOT / "cablesearch").rglob("*.py"), *(ROOT / "grammar").rglob("*.lark")]):
        h.update(p.read_bytes())
        newest = max(newest, p.stat().st_mtime)
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=False).stdout.strip() or "?"
    except OSError:
        head = "?"
    changed = datetime.fromtimestamp(newest, UTC).strftime("%H:%M:%S UTC")
    return f"HEAD {head}; files {h.hexdigest()[:10]}, newest change {changed}"



def run_size(n: int, args: argparse.Namespace, lines: list[_queries.Line], log: Any) -> dict[str, Any]:
    work: Path = args.work
    env = _proc.bench_env(work)
    results_path = work / f"results-{n}.json"
    previous = json.loads(results_path.read_text()) if results_path.exists() else {}
    corpus = ensure_corpus(work, n, log)
    files, size = _proc.files_and_size(corpus)
    res: dict[str, Any] = {
        "size": n, "at": datetime.now(UTC).isoformat(timespec="seconds"), "corpus": str(corpus),
        "corpus_files": files, "corpus_size": size, "load_start": _proc.load(), "argv": sys.argv,
        "machine": f"{os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}",
        "code": code_state(),
    }
    index = work / f"index-{n}"
    skip = set(args.skip)

    def save() -> None:  # after every phase: a run stopped midway keeps what it measured (see --report)
        res["load_end"] = _proc.load()
        results_path.write_text(json.dumps(res, indent=1, default=str), encoding="utf-8")

    reuse = args.reuse and (index / "CURRENT").exists()
    if "build" not in skip:
        if reuse and previous.get("build"):
            res["build"] = {**previous["build"], "reused": True, "at": previous.get("at")}
            if previous.get("baseline"):
                res["baseline"] = previous["baseline"]
            log(f"index {index}: reused")
        elif reuse:
            log(f"index {index}: reused (no earlier build figures)")
        else:
            log(f"building {index} (load {_proc.load()})")
            res["build"] = build(corpus, index, args.jobs, env)
            save()
            log(f"  built in {res['build']['seconds']:.0f} s")
            if "baseline" not in skip:
                log(f"baseline (load {_proc.load()})")
                res["baseline"] = baseline(corpus, work / f"baseline-{n}", args.baseline_limit, env)
                save()
                log(f"  baseline in {res['baseline']['seconds']:.0f} s")
    for phase in ("queries", "grep", "shell", "update"):
        if phase in skip and phase in previous:
            res[phase] = previous[phase]  # not measured now: the last run's figures
            res.setdefault("carried", []).append(f"{phase} from {previous.get('at')}")
    if not (index / "CURRENT").exists():
        raise SystemExit(f"no index at {index}: run without --skip build")
    if "queries" not in skip:
        log(f"queries (load {_proc.load()})")
        res["queries"] = queries(index, lines, args.repeat, log)
        save()
    if "grep" not in skip:
        log(f"grep (load {_proc.load()})")
        res["grep"] = grep(index, corpus, lines, args.repeat)
        save()
    if "shell" not in skip:
        log(f"shell (load {_proc.load()})")
        res["shell"] = shell(index, env)
        save()
    if "update" not in skip:
        log(f"update (load {_proc.load()})")
        res["update"] = update(corpus, index, env)
    save()
    log(f"raw figures: {results_path}")
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="20000", help="corpus sizes, comma-separated (default: %(default)s)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/cablesearch-bench"), help="work folder (%(default)s)")
    ap.add_argument("--reuse", action="store_true", help="keep an existing index (build figures from the last run)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="build workers (default: %(default)s)")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per query (default: %(default)s)")
    ap.add_argument("--skip", default="", help=f"phases to leave out, comma-separated: {','.join(PHASES)}")
    ap.add_argument("--baseline-limit", type=int, default=0, help="baseline on the first N files only (0: all)")
    ap.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    ap.add_argument("--report", action="store_true", help="measure nothing: print the tables of the last results")
    args = ap.parse_args()
    args.skip = [s for s in args.skip.split(",") if s]
    if bad := set(args.skip) - set(PHASES):
        ap.error(f"unknown phase(s): {', '.join(sorted(bad))}")
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s]
    args.work.mkdir(parents=True, exist_ok=True)
    lines = _queries.load_queries()

    def log(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    log(f"{len(lines)} queries from {_queries.QUERIES}")
    for n in sizes:
        if args.report:
            res = json.loads((args.work / f"results-{n}.json").read_text(encoding="utf-8"))
        else:
            res = run_size(n, args, lines, log)
        t = table_for(n, res)
        title = f"{n:,} cables ({res['corpus_files']:,} files, {res['corpus_size'] / MB:,.0f} MB)"
        print(f"\n{'### ' if args.markdown else ''}{title}\n")
        print(t.render(args.markdown))
        if t.notes:
            print()
            print("\n".join(("- " if args.markdown else "  ") + note for note in t.notes))
        commands = [res[k]["command"] for k in ("build", "baseline", "update") if res.get(k, {}).get("command")]
        if res.get("shell"):
            commands.append(res["shell"]["startup"]["command"])
        if commands:
            print("\n" + ("Commands timed:\n" if not args.markdown else "Commands timed:\n\n")
                  + "\n".join(("- `" + c + "`") if args.markdown else "  " + c for c in commands))


if __name__ == "__main__":
    main()
