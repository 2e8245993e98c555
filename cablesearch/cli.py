"""The command line: a thin click layer over the Python API.

Exit codes, as grep: 0 when something was found or done, 1 when a search found nothing,
2 for a bad query, bad usage or any other error the user can act on. No traceback ever
reaches the user: errors of ours print their message; anything else prints one line.
"""

from __future__ import annotations

import itertools
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from .indexdir import DEFAULT_INDEX

EXIT_OK, EXIT_NOTHING, EXIT_ERROR = 0, 1, 2

def _trust(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value:
        # One switch for every way this process opens the index (CLI, shell, completion thread).
        from .trust import TRUST_ENV

        os.environ[TRUST_ENV] = "1"
    return value


def index_option(f: Any) -> Any:
    """--index DIR and --trust-index, for every command that opens an index."""
    f = click.option(
        "--trust-index", is_flag=True, expose_value=False, callback=_trust,
        help="Open the index even if another user owns it or others can write it (it can run code: "
        "only for an index you know).",
    )(f)
    return click.option(
        "--index", "index_path", default=DEFAULT_INDEX, show_default=True,
        type=click.Path(file_okay=False, path_type=Path), envvar="CABLESEARCH_INDEX",
        help="Index directory (or set CABLESEARCH_INDEX).",
    )(f)


def _use_color(stream: Any = None) -> bool:
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR"):
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def _fail(message: str, code: int = EXIT_ERROR) -> None:
    from .render import sanitize

    click.echo(f"cablesearch: {sanitize(message)}", err=True)
    raise SystemExit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cablesearch")
def cli() -> None:
    """Search the Cablegate diplomatic cables.

    Start with `cablesearch shell`; `cablesearch help query` explains the query language.
    """


# --------------------------------------------------------------------------- build / stats


class _Progress:
    """Shows build progress: a rich bar with cables/s and ETA on a terminal, plain lines otherwise."""

    def __init__(self, interactive: bool) -> None:
        self.interactive = interactive
        self._bar: Any = None
        self._task: Any = None
        self._last = 0.0
        self._start = time.monotonic()

    def __enter__(self) -> _Progress:
        if self.interactive:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[rate]:>7.0f} cables/s"), TimeElapsedColumn(), TimeRemainingColumn(),
                transient=False, redirect_stdout=False,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task("indexing", total=None, rate=0.0)
        return self

    def __call__(self, event: Any) -> None:
        message = getattr(event, "message", "")
        if message:  # a BuildNotice: e.g. a killed build's lock and leftovers were cleared
            from .render import sanitize

            click.echo(f"cablesearch: {sanitize(message)}", err=True)
            return
        done = getattr(event, "done", 0)
        total = getattr(event, "total", None)
        skipped = getattr(event, "skipped", 0)
        phase = getattr(event, "phase", "indexing")
        elapsed = max(1e-6, time.monotonic() - self._start)
        rate = done / elapsed
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=total, rate=rate, description=phase)
            return
        now = time.monotonic()
        if now - self._last >= 5 or (total and done >= total):
            self._last = now
            of = f"/{total}" if total else ""
            click.echo(f"{phase}: {done}{of} cables, {skipped} skipped, {rate:.0f} cables/s", err=True)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)


@cli.command()
@click.argument("sources", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@index_option
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=None, help="Worker processes (default: all cores).")
@click.option("--update", is_flag=True, help="Add new, replace changed and remove vanished cables; no full rebuild.")
def build(sources: tuple[Path, ...], index_path: Path, jobs: int | None, update: bool) -> None:
    """Build (or --update) the index from SOURCES: folders, cables.csv files, or single cable files.

    A rebuild writes a new index beside the old one and swaps it in only when complete.
    Files that cannot be read are skipped, listed at the end and in the index's report
    file; the exit code is 1 when any were skipped.
    """
    from .index import build_index
    from .render import escape_name, sanitize

    with _Progress(sys.stderr.isatty()) as progress:
        report = build_index([str(s) for s in sources], index_path, jobs=jobs, progress=progress, update=update)
    for source, reason in report.skipped:
        click.echo(f"skipped {escape_name(source)}: {sanitize(reason)}", err=True)
    for source, note in report.noted:
        click.echo(f"note: {escape_name(source)}: indexed, but {sanitize(note)}", err=True)
    click.echo(report.summary())
    raise SystemExit(EXIT_NOTHING if report.skipped else EXIT_OK)


@cli.command()
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def stats(index_path: Path, as_json: bool) -> None:
    """Figures about the index: cables by classification and year, top tags and origins, size."""
    from .index import open_index
    from .render import render_stats

    with open_index(index_path) as ix:
        figures = ix.stats()
    if as_json:
        import json

        click.echo(json.dumps(figures, indent=2, default=str))
    else:
        click.echo(render_stats(figures))


# --------------------------------------------------------------------------- search / show


@cli.command()
@click.argument("query")
@index_option
@click.option("--limit", "-n", type=click.IntRange(1, 10_000), default=10, show_default=True)
@click.option("--page", "-p", type=click.IntRange(1), default=1, show_default=True)
@click.option("--sort", type=click.Choice(["relevance", "date", "-date"]), default="relevance", show_default=True)
@click.option("--facets", "facet_fields", default="", help="Comma-separated fields to count, e.g. tag,class,year.")
@click.option("--json", "fmt", flag_value="json", help="One JSON document with the page of results.")
@click.option("--jsonl", "fmt", flag_value="jsonl",
              help="Every match, one JSON object a line (streamed); with -n or -p, that page only.")
@click.option("--csv", "fmt", flag_value="csv", help="Every match as CSV (streamed); with -n or -p, that page only.")
@click.option("--count", "count_only", is_flag=True, help="Print only the number of matches.")
@click.option("--explain", is_flag=True, help="Print the parse tree, canonical query and whoosh query; search nothing.")
def search(
    query: str, index_path: Path, limit: int, page: int, sort: str, facet_fields: str,
    fmt: str | None, count_only: bool, explain: bool,
) -> None:
    """Search the cables with QUERY (see `cablesearch help query`)."""
    from . import render

    if count_only and fmt in ("jsonl", "csv"):
        raise click.UsageError(f"--count prints a number, not the matches: use it without --{fmt}")
    if explain and (count_only or fmt or facet_fields):
        raise click.UsageError("--explain shows how the query is read and searches nothing: "
                               "use it without --count, --json, --jsonl, --csv or --facets")
    if explain:
        from .engine import whoosh_schema
        from .query import explain as explain_query

        click.echo(explain_query(query, whoosh_schema()))
        return
    from .index import open_index

    by = tuple(f.strip() for f in facet_fields.split(",") if f.strip())
    with open_index(index_path) as ix:
        if count_only or fmt in ("jsonl", "csv"):  # no page to carry them: warn before the output
            from .search import prepare_query

            s = ix.searcher()
            warnings = prepare_query(query, s.schema, s.reader())[2]
            for w in warnings:
                click.echo(f"warning: {render.sanitize(str(w))}", err=True)
        if count_only:
            n = ix.count(query)
            counts = ix.facets(query, by=by) if by else None
            if fmt == "json":
                click.echo(render.render_count_json(query, n, warnings, counts))
            else:
                click.echo(n)
                if counts:
                    click.echo(render.render_facets(counts))
            raise SystemExit(EXIT_OK if n else EXIT_NOTHING)
        if fmt in ("jsonl", "csv"):
            lines = render.iter_jsonl if fmt == "jsonl" else render.iter_csv
            seen = [0]

            def counted(hits: Any) -> Any:
                for hit in hits:
                    seen[0] += 1
                    yield hit

            hits: Any = ix.iter_search(query, sort=sort)
            ctx = click.get_current_context()
            if any(ctx.get_parameter_source(p) is not ParameterSource.DEFAULT for p in ("limit", "page")):
                hits = itertools.islice(hits, (page - 1) * limit, page * limit)
            for line in lines(counted(hits)):
                click.echo(line, nl=False)
            raise SystemExit(EXIT_OK if seen[0] else EXIT_NOTHING)
        res = ix.search(query, limit=limit, page=page, sort=sort)
        facets = ix.facets(query, by=by) if by else None
    for w in res.warnings:
        click.echo(f"warning: {render.sanitize(str(w))}", err=True)
    if fmt == "json":
        click.echo(render.render_json(res, facets=facets))
    else:
        color = _use_color()
        width = min(shutil.get_terminal_size().columns, 120) if color else 80
        click.echo(render.render_hits_text(res, color=color, width=width), nl=False)
        if facets:
            click.echo(render.render_facets(facets))
    raise SystemExit(EXIT_OK if res.hits else EXIT_NOTHING)  # a page past the end shows nothing: 1


@cli.command()
@click.argument("ref")
@index_option
@click.option("--highlight", "highlight", default=None, metavar="QUERY", help="Highlight what QUERY matches.")
def show(ref: str, index_path: Path, highlight: str | None) -> None:
    """Print the whole cable REF: metadata, then the body with its paragraphs."""
    from .index import open_index
    from .render import render_cable_text, sanitize

    with open_index(index_path) as ix:
        cable = ix.get(ref)
        if cable is None:
            _fail(f"no cable {sanitize(ref)!r} in {index_path}", EXIT_NOTHING)
        text = render_cable_text(cable, highlight_query=highlight, color=_use_color(), index=ix)
    click.echo(text)


# --------------------------------------------------------------------------- shell / help


@cli.command()
@index_option
def shell(index_path: Path) -> None:
    """The interactive shell (reads queries line by line when stdin is not a terminal)."""
    from .shell.app import run_shell

    raise SystemExit(run_shell(index_path))


@cli.command(name="help")
@click.argument("topic", required=False, type=click.Choice(["query", "fields"]))
@click.pass_context
def help_(ctx: click.Context, topic: str | None) -> None:
    """Help on a TOPIC: `query` (the query language) or `fields` (what can be searched)."""
    from .helptext import field_help, query_help

    if topic == "query":
        click.echo(query_help())
    elif topic == "fields":
        click.echo(field_help())
    else:
        click.echo(ctx.parent.get_help() if ctx.parent else "")
        click.echo("\nTopics: cablesearch help query | cablesearch help fields")


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the CLI; turns our errors into messages and anything else into one line."""
    from .errors import CablesearchError, QueryError

    try:
        cli.main(args=argv, prog_name="cablesearch", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        raise SystemExit(130) from None
    except click.exceptions.NoSuchOption as e:
        e.show()
        word = next((a for a in (argv if argv is not None else sys.argv[1:]) if a.startswith(e.option_name)), "")
        if e.ctx is not None and e.ctx.command.name == "search" and len(word) > 2 and not word.startswith("--"):
            # `cablesearch search -tag:PREL`: a query starting with '-' read as options.
            click.echo(f"A query that starts with '-' goes after '--': cablesearch search -- '{word}' "
                       f"(or write NOT: 'NOT {word[1:]}')", err=True)
        raise SystemExit(EXIT_ERROR) from None
    except click.ClickException as e:
        e.show()
        raise SystemExit(EXIT_ERROR) from None
    except QueryError as e:
        _fail(str(e), EXIT_ERROR)
    except CablesearchError as e:
        _fail(str(e), EXIT_ERROR)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        raise SystemExit(130) from None
    except BrokenPipeError:
        # `cablesearch search ... | head`: the reader went away; that is not an error. Point stdout
        # at devnull so the interpreter's final flush does not complain.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(EXIT_OK) from None
    except OSError as e:
        _fail(f"{e.strerror or e}: {e.filename}" if getattr(e, "filename", None) else str(e), EXIT_ERROR)
    except Exception as e:  # the last guard: no traceback reaches a user
        _fail(f"internal error: {type(e).__name__}: {e}", EXIT_ERROR)
    raise SystemExit(EXIT_OK)
