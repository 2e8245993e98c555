"""The ``:commands``: one registry drives running them, ``:help`` and completion.

Like litecli's ``COMMANDS`` (``litecli/packages/special/main.py``): each command is registered
once with its usage, its help and the kind of argument it takes (a type from ``suggest.py``,
which tells the completer what to offer after it). the README lists the same
commands and keys, and a test keeps them in step.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from .session import MAX_LIMIT, SORTS, QuitShell, Session, ShellUsageError
from .suggest import ArgKind, ChoiceArg, FieldsArg, NoArg, NumberArg, PathArg, QueryArg

Handler = Callable[[Session, str], None]


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    usage: str
    help: str
    run: Handler
    arg: ArgKind = field(default_factory=NoArg)
    aliases: tuple[str, ...] = ()


#: The keys of the interactive shell, for ``:help keys`` and the docs: (keys, what they do).
KEYS: tuple[tuple[str, str], ...] = (
    ("Enter", "run the query or command; on an empty line, the next page of results"),
    ("Tab", "complete a field, a value from the index (with its count) or a command"),
    ("Ctrl-R", "search the history (saved between sessions)"),
    ("Up / Down", "previous / next line of the history"),
    ("Ctrl-C", "clear the line (or stop a long search)"),
    ("Ctrl-D", "quit (on an empty line)"),
)


class Registry:
    """The commands by name; a unique prefix or an alias also finds one (``:q``, ``:sh 1``)."""

    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}
        self._aliases: dict[str, str] = {}

    def command(self, usage: str, help: str, *, arg: ArgKind | None = None,
                aliases: tuple[str, ...] = ()) -> Callable[[Handler], Handler]:
        """Register the decorated function as ``:name`` (the first word of ``usage``)."""

        def register(fn: Handler) -> Handler:
            name = usage.split()[0].lstrip(":")
            self._commands[name] = Command(name, usage, help, fn, arg or NoArg(), aliases)
            for a in aliases:
                self._aliases[a] = name
            return fn

        return register

    def __iter__(self) -> Iterator[Command]:
        return iter(self._commands.values())

    def names(self) -> list[str]:
        return list(self._commands)

    def lookup(self, name: str) -> Command | None:
        name = name.lower().lstrip(":")
        if name in self._commands:
            return self._commands[name]
        if name in self._aliases:
            return self._commands[self._aliases[name]]
        starts = [c for n, c in self._commands.items() if n.startswith(name)] if name else []
        return starts[0] if len(starts) == 1 else None

    def not_found(self, name: str) -> str:
        """Why ``:name`` is no command: a prefix of several (named), or nothing known."""
        starts = sorted(n for n in self._commands if name and n.startswith(name))
        if len(starts) > 1:
            return f"':{name}' could be " + ", ".join(f":{n}" for n in starts) + ": type more of it"
        return f"unknown command ':{name}' -- :help lists the commands"

    def run(self, session: Session, line: str) -> None:
        name, *rest = line.strip().lstrip(":").split(maxsplit=1) or [""]
        arg = rest[0] if rest else ""
        cmd = self.lookup(name)
        if cmd is None:
            raise ShellUsageError(self.not_found(name))
        cmd.run(session, arg.strip())


REGISTRY = Registry()
command = REGISTRY.command


def help_topics() -> tuple[tuple[str, str], ...]:
    """What ``:help`` takes: the query syntax, the fields, the keys, and every command."""
    return (
        ("syntax", "the query language"),
        ("fields", "the fields you can search"),
        ("keys", "the keys of the shell"),
        *((c.name, c.help) for c in REGISTRY),
    )


# --------------------------------------------------------------------------- the commands


@command(":more", "the next page of results (Enter on an empty line does the same)", aliases=("next", "n"))
def _more(s: Session, arg: str) -> None:
    s.more()


@command(":show N", "the whole cable N of the results (or a ref), matches highlighted", arg=NumberArg())
def _show(s: Session, arg: str) -> None:
    if not arg:
        raise ShellUsageError("usage: :show N (a number from the results, or a ref)")
    if arg.isdigit():
        ref = s.hit(int(arg)).ref
    else:
        ref = arg
    cable = s.index.get(ref)
    if cable is None:
        raise ShellUsageError(f"no cable {ref!r} in the index")
    from ..render import render_cable_text

    s.console.page(render_cable_text(cable, highlight_query=s.query, color=s.console.color, index=s.index,
                                     width=s.console.width))


@command(":facets [FIELD ...]", "count the last query's matches by field (default: tag class origin year)",
         arg=FieldsArg())
def _facets(s: Session, arg: str) -> None:
    from ..render import render_facets
    from ..schema import resolve_field

    if s.query is None:
        raise ShellUsageError("no query yet: run one, then :facets")
    names = [w for w in arg.replace(",", " ").split() if w]
    by = []
    for n in names or ["tag", "class", "origin", "year"]:
        canon = resolve_field(n)
        if canon is None:
            raise ShellUsageError(f"unknown field {n!r} -- :help fields lists them")
        by.append(canon)
    s.console.echo(render_facets(s.index.facets(s.query, by=tuple(by))))


@command(":sort [date|-date|relevance]", "order of the results; runs the last query again",
         arg=ChoiceArg(SORTS))
def _sort(s: Session, arg: str) -> None:
    if not arg:
        s.console.echo(f"sort: {s.sort}")
        return
    if arg not in dict(SORTS):
        raise ShellUsageError(f"unknown sort {arg!r}: choose one of {', '.join(k for k, _ in SORTS)}")
    s.sort = arg
    if s.query is not None:
        s.search(s.query)
    else:
        s.console.echo(f"sort: {s.sort}")


@command(":limit [N]", "results per page; runs the last query again", arg=NumberArg())
def _limit(s: Session, arg: str) -> None:
    if not arg:
        s.console.echo(f"limit: {s.limit}")
        return
    if not arg.isdigit() or not 1 <= int(arg) <= MAX_LIMIT:
        raise ShellUsageError(f"usage: :limit N, with N from 1 to {MAX_LIMIT}")
    s.limit = int(arg)
    if s.query is not None:
        s.search(s.query)
    else:
        s.console.echo(f"limit: {s.limit}")


@command(":export FILE", "write every match of the last query to FILE: .jsonl (or .json) or .csv",
         arg=PathArg())
def _export(s: Session, arg: str) -> None:
    from .. import render

    if not arg:
        raise ShellUsageError("usage: :export FILE.jsonl or :export FILE.csv")
    if s.query is None:
        raise ShellUsageError("no query yet: run one, then :export FILE")
    path = os.path.expanduser(arg)
    ext = os.path.splitext(path)[1].lower()
    if ext in (".jsonl", ".json", ".ndjson"):
        lines = render.iter_jsonl
    elif ext == ".csv":
        lines = render.iter_csv
    else:
        raise ShellUsageError(f"cannot tell the format of {arg!r}: name it .jsonl or .csv")
    count = 0

    def counted(hits):
        nonlocal count
        for h in hits:
            count += 1
            yield h

    tmp = path + ".part"
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            for line in lines(counted(s.index.iter_search(s.query, sort=s.sort))):
                fh.write(line)
        os.replace(tmp, path)
    except OSError as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise ShellUsageError(f"cannot write {arg}: {e.strerror or e}") from e
    s.console.echo(f"exported {count} cable{'s' if count != 1 else ''} to {arg}")


@command(":explain [QUERY]", "how a query is read: parse tree, canonical form, engine query", arg=QueryArg())
def _explain(s: Session, arg: str) -> None:
    from ..engine import whoosh_schema
    from ..query import explain

    text = arg or s.query
    if not text:
        raise ShellUsageError("usage: :explain QUERY")
    s.console.echo(explain(text, whoosh_schema()))


@command(":stats", "figures about the index: cables by classification and year, top tags and origins")
def _stats(s: Session, arg: str) -> None:
    from ..render import render_stats

    s.console.echo(render_stats(s.index.stats()))


@command(":help [TOPIC]", "this help; :help syntax, :help fields, :help keys, :help COMMAND",
         arg=ChoiceArg(help_topics), aliases=("h", "?"))
def _help(s: Session, arg: str) -> None:
    s.console.page(help_text(arg))


@command(":quit", "leave the shell (Ctrl-D does the same)", aliases=("q", "exit"))
def _quit(s: Session, arg: str) -> None:
    raise QuitShell


def help_text(topic: str = "") -> str:
    """The text of ``:help [topic]``, from the registry, KEYS, the field table and query/syntax.md."""
    topic = topic.strip().lstrip(":").lower()
    if topic in ("syntax", "query"):
        from ..helptext import query_help

        return query_help()
    if topic == "fields":
        from ..helptext import field_help

        return field_help()
    if topic == "keys":
        return "Keys:\n" + _table(KEYS)
    if topic:
        cmd = REGISTRY.lookup(topic)
        if cmd is None:
            raise ShellUsageError(f"no help on {topic!r}: try :help, :help syntax, :help fields, :help keys")
        aka = f"\n  also: {', '.join(':' + a for a in cmd.aliases)}" if cmd.aliases else ""
        return f"{cmd.usage}\n  {cmd.help}{aka}"
    return (
        "Type a query (e.g. tag:WTO moscow, or :help syntax) and press Enter.\n\n"
        "Commands:\n" + _table(tuple((c.usage, c.help) for c in REGISTRY)) + "\n\n"
        "Keys:\n" + _table(KEYS) + "\n\n"
        "More: :help syntax | :help fields | :help keys | :help COMMAND"
    )


def commands_markdown() -> str:
    """The commands and keys as the docs show them (a test keeps the README in step)."""
    rows = ["| command | what it does |", "|---|---|"]
    for c in REGISTRY:
        aka = f"; aliases {', '.join('`:' + a + '`' for a in c.aliases)}" if c.aliases else ""
        usage = c.usage.replace("|", "\\|")
        rows.append(f"| `{usage}` | {c.help}{aka} |")
    rows += ["", "| key | what it does |", "|---|---|"]
    rows += [f"| {k} | {v} |" for k, v in KEYS]
    return "\n".join(rows)


def _table(rows: tuple[tuple[str, str], ...], width: int = 79) -> str:
    """Two columns in ``width``: a key longer than the first column gets a line of its own."""
    import textwrap

    col = min(18, max(len(k) for k, _ in rows))
    out: list[str] = []
    for key, text in rows:
        body = textwrap.wrap(text, max(20, width - col - 4)) or [""]
        if len(key) > col:
            out.append(f"  {key}")
            out.extend(f"  {'':<{col}}  {b}" for b in body)
        else:
            out.append(f"  {key:<{col}}  {body[0]}")
            out.extend(f"  {'':<{col}}  {b}" for b in body[1:])
    return "\n".join(out)


__all__ = ["KEYS", "REGISTRY", "Command", "Registry", "commands_markdown", "help_text", "help_topics"]
