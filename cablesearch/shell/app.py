"""``cablesearch shell``: the prompt_toolkit session, and the scripted mode when stdin is not a terminal.

Entry points: :func:`run_shell` (what the CLI calls) and :func:`main` (``python -m cablesearch.shell``).
The work of a line is :class:`~cablesearch.shell.session.Session`'s; this module wires the prompt:
lexer, completer, toolbar, history, keys. Imports stay inside functions so that the command
reaches its prompt fast.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

PROMPT = "cables> "

STYLE = {
    "prompt": "ansigreen bold",
    "query.field": "ansiblue bold",
    "query.field.unknown": "ansired underline",
    "query.and": "ansimagenta bold",
    "query.or": "ansimagenta bold",
    "query.not": "ansimagenta bold",
    "query.amps": "ansimagenta bold",
    "query.pipes": "ansimagenta bold",
    "query.bang": "ansimagenta bold",
    "query.minus": "ansimagenta bold",
    "query.phrase": "ansiyellow",
    "query.fuzzy": "ansicyan",
    "query.boost": "ansicyan",
    "query.cmp": "ansicyan",
    "query.dotdot": "ansicyan",
    "query.range": "ansicyan",
    "query.date": "ansicyan",
    "query.number": "ansicyan",
    "query.error": "bg:ansired ansiwhite",
    "query.warning": "underline",
    "command": "ansigreen bold",
    "command.arg": "",
    "bottom-toolbar": "noreverse bg:#303030 #d0d0d0",
    "bottom-toolbar.error": "bg:ansired ansiwhite bold",
    "bottom-toolbar.warning": "ansiyellow",
    "bottom-toolbar.key": "bold",
    "completion-menu.meta.completion": "bg:#444444 #aaaaaa",
    "completion-menu.meta.completion.current": "bg:#888888 #000000",
}


def history_path() -> Path:
    """Where the history is kept: ``$XDG_DATA_HOME/cablesearch/history`` (``~/.local/share`` by default)."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "cablesearch" / "history"


def ensure_index(path: str | os.PathLike[str], notify: Callable[[str], None],
                 progress: Callable[[Any], None] | None = None) -> Any:
    """Open the index at ``path``; when there is none, build one there from the shipped sample first.

    ``notify`` receives a line saying so (and one when the build is done); ``progress`` is handed
    to ``build_index``. Returns the open index.
    """
    from ..errors import IndexNotFoundError
    from ..index import build_index, open_index

    try:
        return open_index(path)
    except IndexNotFoundError:
        pass
    from ..sources import sample_sources

    notify(f"No index at {os.fspath(path)}: building one from the sample cables shipped with cablesearch...")
    t0 = time.perf_counter()
    report = build_index(sample_sources(), path, progress=progress)
    indexed = getattr(report, "indexed", None)
    what = f"{indexed} cables" if indexed is not None else "done"
    done = f"Indexed {what} in {time.perf_counter() - t0:.1f} s. Index your own with: cablesearch build DIR"
    notify(("\r\x1b[K" if progress is not None else "") + done)
    return open_index(path)


def _is_tty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def run_shell(index_path: str | os.PathLike[str] | None = None, *, input: Any = None, output: Any = None) -> int:
    """Run the shell on the index at ``index_path`` (built from the sample when missing); the exit code.

    ``input``/``output`` default to stdin/stdout. When both are terminals the shell is interactive;
    otherwise it reads ``input`` line by line and prints plain results (scripted mode), exiting
    with 0, or 1 when any line failed (as sqlite3 does). A prompt_toolkit ``Input`` (e.g.
    ``create_pipe_input()``) as ``input`` forces the interactive shell on it, for tests; then
    ``output`` may be a prompt_toolkit ``Output`` for the prompt, and results go to stdout.
    """
    from ..errors import CablesearchError
    from .session import Console, Session

    stdin = input if input is not None else sys.stdin
    stdout = output if output is not None else sys.stdout
    pt_input = stdin if _is_pt(stdin, "input", "Input") else None
    interactive = pt_input is not None or (_is_tty(stdin) and _is_tty(stdout))
    stream: TextIO = stdout if hasattr(stdout, "write") and not _is_pt_output(stdout) else sys.stdout
    color = interactive and pt_input is None and not os.environ.get("NO_COLOR")
    # Interactive: errors on the screen with the results. Scripted: on stderr, stdout stays data.
    console = Console(stream, err=stream if interactive else None, color=color,
                      interactive=interactive and pt_input is None)
    path = index_path if index_path is not None else default_index_path()
    try:
        index = ensure_index(path, console.error, _progress(console) if interactive else None)
    except CablesearchError as e:
        console.error(f"cablesearch: {e}")
        return 2
    except OSError as e:
        console.error(f"cablesearch: {e.strerror or e}: {path}")
        return 2
    except Exception as e:  # the last guard: no traceback reaches the screen
        console.error(f"cablesearch: internal error: {type(e).__name__}: {e}")
        return 2
    try:
        session = Session(index, console)
        if interactive:
            return _interactive(session, pt_input=pt_input, pt_output=stdout if _is_pt_output(stdout) else None)
        return _scripted(session, stdin)
    finally:
        close = getattr(index, "close", None)
        if callable(close):
            close()


def _progress(console: Any) -> Callable[[Any], None]:
    """Build progress on one line of the terminal: ``indexing: 120/300 cables``."""

    def show(event: Any) -> None:
        message = getattr(event, "message", "")
        if message:  # a BuildNotice (a killed build's leftovers cleared): a line of its own
            from ..render import sanitize

            console.stream.write(f"\r{sanitize(message)}\x1b[K\n")
            console.stream.flush()
            return
        done, total = getattr(event, "done", 0), getattr(event, "total", None)
        phase = getattr(event, "phase", "indexing")
        console.stream.write(f"\r{phase}: {done}{f'/{total}' if total else ''} cables\x1b[K")
        console.stream.flush()

    return show


def default_index_path() -> str:
    return os.environ.get("CABLESEARCH_INDEX") or "index"


def _is_pt(obj: Any, module: str, name: str) -> bool:
    """Is ``obj`` a prompt_toolkit ``Input``/``Output``? (Without importing prompt_toolkit for a script.)"""
    if "prompt_toolkit" not in sys.modules:
        return False
    import importlib

    return isinstance(obj, getattr(importlib.import_module(f"prompt_toolkit.{module}"), name))


def _is_pt_output(obj: Any) -> bool:
    return _is_pt(obj, "output", "Output")


# --------------------------------------------------------------------------- scripted


def _scripted(session: Any, stdin: TextIO) -> int:
    """Lines from a file or a pipe: blank lines and ``#`` comments are skipped; 1 when a line failed."""
    failed = False
    reconfigure = getattr(stdin, "reconfigure", None)
    if callable(reconfigure):
        reconfigure(errors="replace")  # a stray byte that is not UTF-8 must not stop the script
    for lineno, line in enumerate(stdin, 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        session.console.where = f"line {lineno}: "
        try:
            outcome = session.run_line(text, blank_is_more=False)
        except BrokenPipeError:
            _quiet_stdout()
            return 0 if not failed else 1
        except KeyboardInterrupt:
            session.console.error("interrupted")
            return 130
        if not outcome.ok:
            failed = True
        if outcome.quit:
            break
    return 1 if failed else 0


def _quiet_stdout() -> None:
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass


# --------------------------------------------------------------------------- interactive


def _interactive(session: Any, *, pt_input: Any = None, pt_output: Any = None) -> int:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.completion import ThreadedCompleter
    from prompt_toolkit.history import FileHistory, InMemoryHistory
    from prompt_toolkit.shortcuts import CompleteStyle
    from prompt_toolkit.styles import Style

    from .completer import ShellCompleter
    from .lexer import QueryLexer
    from .toolbar import Toolbar
    from .values import ValueCache

    values = ValueCache.for_index(session.index).start(delay=0.3, before=_warm_up)
    history: Any
    try:
        hp = history_path()
        hp.parent.mkdir(parents=True, exist_ok=True)
        history = FileHistory(str(hp))
    except OSError:
        history = InMemoryHistory()
    prompt = PromptSession(
        message=[("class:prompt", PROMPT)],
        lexer=QueryLexer(),
        completer=ThreadedCompleter(ShellCompleter(values)),
        complete_while_typing=True,
        complete_style=CompleteStyle.COLUMN,
        reserve_space_for_menu=6,
        history=history,
        enable_history_search=False,  # Ctrl-R searches; prefix search would turn completion off
        search_ignore_case=True,
        bottom_toolbar=Toolbar(session),
        style=Style.from_dict(STYLE),
        include_default_pygments_style=False,
        input=pt_input,
        output=pt_output,
        mouse_support=False,
    )
    session.console.echo(_banner(session))
    default = ""
    failures = 0
    while True:
        try:
            line = prompt.prompt(default=default)
            failures = 0
        except KeyboardInterrupt:  # Ctrl-C clears the line
            default = ""
            continue
        except EOFError:  # Ctrl-D
            break
        except Exception as e:  # the terminal went wrong: say so, try again, give up after three
            failures += 1
            session.console.error(f"internal error: {type(e).__name__}: {e}")
            if failures >= 3:
                return 2
            default = ""
            continue
        default = ""
        try:
            outcome = session.run_line(line)
        except KeyboardInterrupt:
            session.console.error("interrupted")
            continue
        if outcome.quit:
            break
        if outcome.keep:
            default = line
    return 0


def _warm_up() -> None:
    """Build the query parser and load the engine (the search module, which opening the index
    leaves out) before the first keystroke and the first query need them."""
    from ..query import parse_query

    parse_query("warm AND up")
    from ..engine import whoosh_schema

    whoosh_schema()
    from .. import search  # noqa: F401


def _banner(session: Any) -> str:
    try:
        n = f"{len(session.index):,} cables"
    except Exception:
        n = "cablesearch"
    return f"{n}. Type a query, e.g. tag:PREL moscow. :help for help, Ctrl-D to quit."


def main(argv: list[str] | None = None) -> None:
    """``python -m cablesearch.shell [--index DIR]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="cablesearch shell", description="The interactive shell.")
    parser.add_argument("--index", default=default_index_path(), help="index directory (default: %(default)s)")
    args = parser.parse_args(argv)
    raise SystemExit(run_shell(args.index))


__all__ = ["PROMPT", "STYLE", "ensure_index", "history_path", "main", "run_shell"]
