"""build_index: sources -> a new index generation swapped in whole, or an in-place --update.

Pipeline: ``discover`` (lazy) -> chunks of RawCables -> workers (parse, ``to_document``, analyse,
write a private segment; :mod:`cablesearch.buildworkers`) -> the parent resolves duplicate keys,
adopts the worker segments into the index without re-analysis, checks the document count
against its ledger, and commits.

Guarantees (see the README, "Building and updating the index"):

* every source is accounted for: indexed, unchanged, a duplicate (reported), or skipped (reported
  with its reason); the index's document count is checked against that ledger before the commit
  point, and a mismatch is a BuildError that leaves the previous index as it was;
* a full build writes a new generation folder and makes it live with one atomic rename of
  ``CURRENT`` (:mod:`cablesearch.indexdir`); killed at any moment, the old index stays usable and
  the leftovers are removed by the next build;
* an update commits through whoosh's own atomic step (a new table of contents written to a temp
  file and renamed); killed before it, the old generation stays the readable one.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.writing import MERGE_SMALL

from . import indexdir, wordlists
from .buildworkers import (
    SAME,
    SKIPPED,
    WRITTEN,
    ChunkResult,
    ItemResult,
    Task,
    WorkerOutput,
    make_runner,
    remove_tree,
)
from .codec import new_codec
from .engine import INDEX_NAME, open_whoosh, whoosh_schema, whoosh_storage
from .errors import BuildError, CableParseError, CablesearchError, IndexStateError, UnsafeIndexError
from .indexdir import BUILD_JSON, DEFAULT_INDEX, SKIPPED_TSV
from .ledger import (
    INDEXED,
    BuildProgress,
    BuildReport,
    Candidate,
    Entry,
    Ledger,
    read_sources,
    write_sources,
)
from .model import unsurrogate
from .render import escape_name
from .schema import fields_fingerprint, readable_fingerprints
from .sources import RawCable, discover
from .trust import check_index_trust, trusted_by_env

#: The build's record format (``build.json``): 2 since postings are written by ``codec.py``
#: and ``entity`` has no postings of its own (indexes of format 1 are still read and updated).
FORMAT = 2
#: Skipped sources named in the error of a build that indexed nothing.
SHOW_SKIPPED = 10
#: RawCables per task, reached after a ramp (8, 16, ...) that spreads small builds over the workers.
CHUNK = 250
#: Seconds an update waits for whoosh's own write lock (held only by a live writer: it is an flock,
#: dropped by the kernel when its holder dies, so a killed update never leaves it held).
WRITER_TIMEOUT = 10.0

Sources = Iterable[str | os.PathLike[str] | RawCable] | str | os.PathLike[str] | None


@dataclass(frozen=True, slots=True)
class BuildNotice(BuildProgress):
    """A progress event that carries a message for the user (phase ``"recovered"``: what a killed
    build left was found and cleared). Front ends print ``message``; other callbacks can ignore it."""

    message: str = ""


def build_index(
    sources: Sources,
    path: str | os.PathLike[str] = DEFAULT_INDEX,
    *,
    jobs: int | None = None,
    progress: Callable[[BuildProgress], None] | None = None,
    update: bool = False,
    limitmb: int | None = None,
    trust: bool = False,
) -> BuildReport:
    """Build the index at ``path`` from ``sources``, or update it in place with ``update=True``.

    ``sources``: paths (folders, ``cables.csv`` files, single cable files) and/or RawCables, e.g.
    ``sample_sources()``; None: the paths the live index was built from. ``jobs``: worker
    processes (None: one per core; 1: in this process). ``progress`` gets :class:`BuildProgress`
    events, :class:`BuildNotice` among them. ``limitmb``: posting memory per worker. Raises
    BuildError when the build cannot complete; the previous index is then unchanged. An update
    opens the live index, so it first checks it as ``open_index`` does (UnsafeIndexError; ``trust``
    or ``CABLESEARCH_TRUST_INDEX=1`` skips the check; see :mod:`cablesearch.trust`).
    """
    jobs = max(1, int(jobs or os.cpu_count() or 1))
    root = Path(path)
    kwargs = {"limitmb": limitmb} if limitmb else {}
    return _Build(root, sources, jobs, progress, update, kwargs, trust=trust).run()


@contextlib.contextmanager
def collector_paused(pause: bool = True) -> Iterator[None]:
    """Python's cyclic garbage collector off for the block (when ``pause``), back as it was after.

    An update keeps an entry per source three times over (the old ledger, the candidates, the
    new ledger): 250,000 of each, long-lived, which the collector walks again and again as they
    grow. It finds nothing to free before the update ends: what it collects afterwards is the
    ledger itself, held through a cycle until then (after an update that changed nothing, 11,934
    objects at 5,000 cables, 10,000 of them entries and candidates; 502,058 at 250,000). Not for
    indexing in this process at scale: whoosh's writer leaves about 40 cyclic objects a cable.
    So an update pauses it only when the cables are read by worker processes (which turn it back
    on, see ``buildworkers``), indexing here at most the few duplicates it revives."""
    was = gc.isenabled()
    if pause:
        gc.disable()
    try:
        yield
    finally:
        if was and pause:
            gc.enable()


def update_merge(writer: Any, segments: list[Any]) -> list[Any]:
    """The merge policy of an update's commit: whoosh's ``MERGE_SMALL``, after dropping every
    segment without a live cable (all replaced or removed). whoosh keeps such a segment, and every
    search looks each of its words up: at 250,000 cables, twenty updates had left twelve
    segments, a third of them dead. Merging the small live ones too was tried and dropped: through
    whoosh's ``add_reader`` it took 12-19 s for 290-670 cables (``bench/RESULTS.md``, "Session 8")."""
    return MERGE_SMALL(writer, [s for s in segments if s.doc_count() > 0])


def iter_raw(sources: Sources) -> Iterator[RawCable]:
    """RawCables from paths (via ``discover``) and RawCables given as they are, in order."""
    if sources is None:
        return
    if isinstance(sources, str | os.PathLike | RawCable):
        sources = [sources]
    for item in sources:
        if isinstance(item, RawCable):
            yield item
        else:
            yield from discover([item])


def _recorded_paths(sources: Sources) -> list[str] | None:
    if isinstance(sources, str | os.PathLike):
        return [os.fspath(sources)]
    if isinstance(sources, list | tuple) and all(isinstance(s, str | os.PathLike) for s in sources):
        return [os.fspath(s) for s in sources]
    return None


class _Build:
    def __init__(self, root: Path, sources: Sources, jobs: int, progress: Callable[[BuildProgress], None] | None,
                 update: bool, runner_kwargs: dict[str, Any], *, trust: bool = False) -> None:
        self.root = root
        self.trust = trust
        self.sources = sources
        self.jobs = jobs
        self.progress = progress
        self.update = update
        self.runner_kwargs = runner_kwargs
        self.report = BuildReport(path=str(root), update=update, jobs=jobs)
        self.started = time.monotonic()
        self._done = 0
        self._total: int | None = None
        self._last_event = 0.0

    # -- entry ---------------------------------------------------------------------------------

    def run(self) -> BuildReport:
        try:
            if self.update:
                self._check_trust()  # before the lock, which makes the folder private (0700)
            indexdir.check_build_target(self.root)  # nor among someone's files
            with indexdir.build_lock(self.root, "update" if self.update else "build") as killed:
                self._recover(killed, indexdir.clean_leftovers(self.root))
                live = indexdir.read_current(self.root)
                if self.sources is None:  # the sources the live index was built from
                    recorded = _read_json(self.root / live / BUILD_JSON).get("sources") if live else None
                    if not recorded:
                        raise BuildError("no sources given, and the index records none")
                    # as the build saw them: relative to the folder it ran in (build.json "cwd")
                    ran_in = _read_json(self.root / live / BUILD_JSON).get("cwd") or os.getcwd()
                    self.sources = [os.path.join(ran_in, s) for s in recorded]
                if self.update and live is not None:
                    with collector_paused(self.jobs > 1):
                        return self._run_update(self.root / live)
                self.report.update = False
                return self._run_full()
        except UnsafeIndexError:
            raise  # the same refusal as every command that opens the index; nothing was touched
        except CablesearchError as e:
            if isinstance(e, BuildError):
                raise
            raise BuildError(f"{e}; the previous index is unchanged") from e
        except whoosh_index.LockError as e:  # whoosh's own write lock, held by a live writer
            raise BuildError(f"the index in {self.root} is being written by another program (whoosh's write "
                             "lock is held); the index is unchanged") from e
        except OSError as e:
            where = f" ({e.filename})" if getattr(e, "filename", None) else ""
            raise BuildError(f"cannot build the index in {self.root}: {e.strerror or e}{where}; "
                             "the previous index is unchanged") from e

    def _check_trust(self) -> None:
        """An update unpickles the live index: refuse one that someone else could have written."""
        if self.trust or trusted_by_env():
            return
        try:
            live = indexdir.read_current(self.root) if self.root.is_dir() else None
        except IndexStateError:
            return  # damaged: the update fails on it with its own message, before unpickling
        if live is not None and (self.root / live).is_dir():
            check_index_trust(self.root, self.root / live)

    def _recover(self, killed: indexdir.LockHolder | None, removed: list[str]) -> None:
        """Say what a killed build left (its lock record, its folders), now cleared."""
        if killed is None and not removed:
            return
        what = f" ({', '.join(removed[:3])}{', ...' if len(removed) > 3 else ''})" if removed else ""
        if killed is None:
            message = f"removed what an interrupted build left in {self.root}{what}"
        else:
            who = f"a previous {killed.action} ({killed.describe()})" if killed.pid > 0 else "a previous build"
            left = f"its leftovers removed{what}" if removed else "it left nothing else behind"
            message = f"{who} of {self.root} was killed; its lock is cleared and {left}"
        self.report.notes.append(message)
        if self.progress is not None:
            self.progress(BuildNotice("recovered", 0, None, 0, message))

    def _run_full(self) -> BuildReport:
        number = indexdir.next_generation(self.root)
        temp = indexdir.new_temp_generation(self.root, number)
        try:
            ledger = Ledger({})
            segments = self._index(ledger, self.sources, temp / "work", temp)
            if ledger.expected_count() == 0:
                what = f"none of the {ledger.seen:,} sources could be indexed" if ledger.seen else "no cables found"
                why = "".join(f"\n  {escape_name(src)}: {reason}" for src, reason in ledger.skipped[:SHOW_SKIPPED])
                more = len(ledger.skipped) - SHOW_SKIPPED
                why += f"\n  ... and {more:,} more" if more > 0 else ""
                raise BuildError(f"{what}; nothing was written (the previous index, if any, is unchanged){why}")
            self._emit("merging", force=True, ledger=ledger)
            ix = whoosh_storage(temp).create_index(whoosh_schema(), indexname=INDEX_NAME)
            writer = ix.writer(codec=new_codec())
            count = sum(s.doc_count() for s in segments)
            if count != ledger.expected_count():
                writer.cancel()
                raise BuildError(self._mismatch(count, ledger))
            # Losing duplicates stay in their segment marked deleted (as whoosh's update_document leaves
            # replaced documents): rewriting a segment to drop them costs as much as building it.
            writer.commit(mergetype=lambda _w, segs: [*segs, *segments])
            self._check_count(ix, ledger)
            wordlists.write_missing(ix)
            remove_tree(temp / "work")
            self._finish_report(ledger)
            self._write_meta(temp, ix, ledger, built_at=_now(), updated_at=None)
            final = indexdir.publish(self.root, temp, number)
        except BaseException:
            remove_tree(temp)
            raise
        indexdir.clean_leftovers(self.root)
        self.report.generation = final.name
        return self._done_report()

    def _run_update(self, live: Path) -> BuildReport:
        meta = _read_json(live / BUILD_JSON)
        if meta.get("fields") not in (None, *readable_fingerprints()):
            raise BuildError("the index was built with a different field table; rebuild it without --update")
        if not isinstance(self.sources, list | tuple | str | os.PathLike):
            self.sources = list(self.sources)  # read twice when a duplicate must be revived
        ix = open_whoosh(live)
        old = read_sources(live, ix.latest_generation()) or _sources_from_stored(ix)
        work = live.parent / f"{live.name}.tmp-{os.getpid()}-update"
        adopted: list[str] = []
        try:
            ledger = Ledger(old, base=meta.get("cwd"))
            segments = self._index(ledger, self.sources, work, live, ix.schema)
            adopted = [n for s in segments for n in _segment_files(live, s)]  # listed nowhere yet
            if ledger.expected_count() == 0 and any(e.state == INDEXED for e in old.values()):
                raise BuildError("the update would remove every cable (are these the sources of the build?); "
                                 "the index is unchanged")
            self._emit("merging", force=True, ledger=ledger)
            writer = ix.writer(timeout=WRITER_TIMEOUT, codec=new_codec())
            try:
                ref_field = writer.schema["ref"]
                for key in ledger.old_docs_to_delete():
                    for token in ref_field.process_text(key, mode="index"):
                        writer.delete_by_term("ref", token)
                count = sum(s.doc_count() for s in writer.segments) + sum(s.doc_count() for s in segments)
                if count != ledger.expected_count():
                    raise BuildError(self._mismatch(count, ledger))
            except BaseException:
                writer.cancel()
                raise
            # The commit point: whoosh writes the new table of contents to a temp file and renames it.
            writer.commit(mergetype=lambda w, segs: [*update_merge(w, segs), *segments])
            adopted = []
            self._check_count(ix, ledger, committed=True)
            with contextlib.suppress(OSError):  # without them, leading-wildcard words are only slower
                wordlists.write_missing(ix)
            self._finish_report(ledger)
            try:
                self._write_meta(live, ix, ledger, built_at=meta.get("built_at"), updated_at=_now())
            except OSError as e:  # after the commit point: the update is in, only its records are not
                raise BuildError(f"the update of {self.root} is committed, but its records (build.json, "
                                 f"sources.marshal) could not be written: {e.strerror or e}; the next "
                                 "update reads every source again") from e
        finally:
            for name in adopted:  # segment files moved in but never committed
                (live / name).unlink(missing_ok=True)
            remove_tree(work)
        self.report.generation = live.name
        return self._done_report()

    # -- the parallel part ---------------------------------------------------------------------

    def _index(self, ledger: Ledger, sources: Sources, workdir: Path, dest: Path, schema: Any = None) -> list[Any]:
        """Run the workers over ``sources``; fill the ledger; move the worker segments into ``dest``.
        ``schema``: the one to write the segments with (an update's: the live index's own, whose
        positions an older version may have encoded as whoosh does)."""
        tasks = self._tasks(ledger, iter_raw(sources))
        # An update's pool starts before the walk, its first worker reading the changed cables as
        # the walk finds them; more take tasks only if it falls behind (``ProcessRunner``).
        runner = make_runner(self.jobs, workdir, schema=schema, ramp=self.report.update, **self.runner_kwargs)
        reviver: Any = None
        try:
            for result in runner.run(tasks):
                self._take(ledger, result)
            runner.stop()  # the workers write their segments while this process settles the ledger
            ledger.add_unchanged()
            while revive := ledger.resolve():
                # A duplicate whose winner is gone: read it again and index it (updates only), here,
                # into a segment of its own (the workers may be done).
                wanted = {c.source for c in revive}
                raws = (r for r in iter_raw(sources) if r.source in wanted)
                tasks = (Task(-1 - i, ((ledger.seq_of(r.source), r, None),)) for i, r in enumerate(raws))
                if reviver is None:
                    reviver = make_runner(1, workdir, schema=schema, worker=self.jobs, **self.runner_kwargs)
                for result in reviver.run(tasks):
                    self._take(ledger, result, revived=True)
                ledger.drop_unrevived(wanted)
            outputs = runner.finish() + (reviver.finish() if reviver is not None else [])
        except BaseException as e:
            runner.abort()
            if reviver is not None:
                reviver.abort()
            if isinstance(e, CableParseError):
                raise BuildError(f"cannot read the sources: {e}") from e
            raise
        return self._adopt(outputs, ledger, dest)

    def _tasks(self, ledger: Ledger, raws: Iterator[RawCable]) -> Iterator[Task]:
        chunk: list[tuple[int, RawCable, str | None]] = []
        size, number = 8, 0
        for raw in raws:
            old = ledger.discovered(raw)
            if old is False:
                continue
            chunk.append((ledger.seq_of(raw.source), raw, old))
            if len(chunk) >= size:
                yield Task(number, tuple(chunk))
                chunk, number, size = [], number + 1, min(2 * size, CHUNK)
        if chunk:
            yield Task(number, tuple(chunk))
        self._total = ledger.seen

    def _take(self, ledger: Ledger, result: ChunkResult | None, revived: bool = False) -> None:
        if result is not None:
            for item in result.items:
                self._done += not revived
                if item.status == SKIPPED:
                    ledger.skip(item.source, item.reason)
                elif item.status == WRITTEN:
                    ledger.add(_candidate(item, (item.unit, item.docnum)))
                    if item.note:
                        self.report.noted.append((item.source, item.note))
                elif item.status == SAME:
                    ledger.add_same(_candidate(item, None))
        self._emit("indexing", force=False, ledger=ledger)

    def _adopt(self, outputs: list[WorkerOutput], ledger: Ledger, dest: Path) -> list[Any]:
        """Move each worker's segment into ``dest`` (not yet listed: invisible) and mark losers deleted."""
        segments = []
        for out in outputs:
            if not out.written:
                continue
            storage = whoosh_storage(out.folder)
            found = whoosh_index.TOC.read(storage, INDEX_NAME).segments
            if len(found) != 1 or found[0].doc_count_all() != out.written:
                raise BuildError(f"worker {out.worker} wrote {out.written} cables into segment {out.unit}, which holds "
                                 f"{sum(s.doc_count_all() for s in found)}; the previous index is unchanged")
            seg = found[0]
            for name in os.listdir(out.folder):
                if name.startswith(seg.segment_id() + "."):
                    os.rename(os.path.join(out.folder, name), dest / name)
            for docnum in ledger.deleted_docs(out.unit):
                seg.delete_document(docnum)
            segments.append(seg)
        return segments

    # -- checks, report, files -----------------------------------------------------------------

    def _check_count(self, ix: Any, ledger: Ledger, committed: bool = False) -> None:
        with ix.reader() as reader:
            count = reader.doc_count()
        if count != ledger.expected_count():
            if committed:  # checked before the commit too: this is a bug, say so plainly
                raise BuildError(f"the updated index holds {count:,} cables, {ledger.expected_count():,} expected; "
                                 "rebuild it")
            raise BuildError(self._mismatch(count, ledger))

    def _mismatch(self, count: int, ledger: Ledger) -> str:
        return (f"the index would hold {count:,} cables but {ledger.expected_count():,} were accepted; "
                "the previous index is unchanged")

    def _finish_report(self, ledger: Ledger) -> None:
        r = self.report
        r.seen = ledger.seen
        r.skipped = ledger.skipped
        r.duplicates = ledger.duplicates()
        r.noted = list(dict.fromkeys(r.noted))  # a duplicate revived is read twice
        r.added, r.replaced, r.removed, r.unchanged = ledger.changes()
        r.accepted = r.added + r.replaced
        r.indexed = ledger.expected_count()

    def _write_meta(self, gen: Path, ix: Any, ledger: Ledger, *, built_at: str | None, updated_at: str | None) -> None:
        r = self.report
        r.seconds = time.monotonic() - self.started
        write_sources(gen, ledger.entries(), ix.latest_generation())
        lines = ["source\treason\n"]
        lines += [f"{_tsv(s)}\t{_tsv(reason)}\n" for s, reason in r.skipped]
        lines += [f"{_tsv(s)}\t{_tsv(f'duplicate key {k} (kept: {kept})')}\n" for s, k, kept in r.duplicates]
        lines += [f"{_tsv(s)}\t{_tsv(f'indexed, but {note}')}\n" for s, note in r.noted]
        # _tsv writes a file name's undecodable bytes as \xNN; the fallback only guards the rest.
        indexdir.write_atomic(gen / SKIPPED_TSV, "".join(lines), errors="backslashreplace")
        recorded = _recorded_paths(self.sources)
        meta = {
            "format": FORMAT, "fields": fields_fingerprint(), "built_at": built_at or _now(),
            "updated_at": updated_at, "sources": recorded, "cwd": os.getcwd(),
            "last_run": {k: v for k, v in r.to_dict().items() if k not in ("skipped", "duplicates", "noted")},
            "skipped": len(r.skipped), "duplicates": len(r.duplicates),
        }
        indexdir.write_atomic(gen / BUILD_JSON, json.dumps(meta, indent=1) + "\n")

    def _done_report(self) -> BuildReport:
        self.report.seconds = time.monotonic() - self.started
        self._done, self._total = self.report.seen, self.report.seen
        self._emit("done", force=True)
        return self.report

    def _emit(self, phase: str, *, force: bool, ledger: Ledger | None = None) -> None:
        if self.progress is None:
            return
        now = time.monotonic()
        if not force and now - self._last_event < 0.1:
            return
        self._last_event = now
        done = self._done + (ledger.unchanged_by_stamp if ledger is not None else 0)
        skipped = len(ledger.skipped) if ledger is not None else len(self.report.skipped)
        self.progress(BuildProgress(phase, done, self._total, skipped))


def _candidate(item: ItemResult, doc: tuple[int, int] | None) -> Candidate:
    return Candidate(item.seq, item.source, item.stamp, item.sha1, item.key, doc)


def _segment_files(folder: Path, segment: Any) -> list[str]:
    prefix = segment.segment_id() + "."
    return [n for n in os.listdir(folder) if n.startswith(prefix)]


def _sources_from_stored(ix: Any) -> dict[str, Entry]:
    """The ledger rebuilt from the index's stored fields (when ``sources.marshal`` is stale or missing).

    Stamps are unknown, so the next update reads every file once and compares content hashes.
    """
    out: dict[str, Entry] = {}
    with ix.reader() as reader:
        for _docnum, stored in reader.iter_docs():
            source = stored.get("path")
            if source:
                out[source] = Entry(source, "", stored.get("hash", ""), stored["ref"], INDEXED)
    return out


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


#: Control characters a terminal would act on (`cat skipped.tsv`): written as ``\\xNN``.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _tsv(value: str) -> str:
    out = value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return unsurrogate(_CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", out))  # a non-UTF-8 name: \\xff


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


__all__ = ["BUILD_JSON", "DEFAULT_INDEX", "SKIPPED_TSV", "BuildNotice", "BuildProgress", "BuildReport", "build_index",
           "iter_raw"]
