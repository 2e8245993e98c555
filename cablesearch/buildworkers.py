"""The parallel half of a build: workers that parse cables and write whoosh segments.

Each worker (a process, or the caller itself when ``jobs == 1``) owns one private whoosh index in
its own folder and one plain single-process ``SegmentWriter`` with a bounded posting pool
(``limitmb``). It reads, parses and analyses the cables of the chunks it is given, writes them,
and at the end commits exactly one segment. The parent then moves the segment files into the new
index and lists them in its table of contents: no second analysis, no posting merge.

Why not whoosh's own ``writer(procs=N)``: when one of its sub-writers fails, whole batches vanish
and ``commit()`` still succeeds. Here every cable is accounted for: each chunk's result lists
every item as written (with its document number), unchanged, or skipped with a reason, and the
parent checks the final document count against that ledger.

Only :mod:`cablesearch.build` uses this module.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing as mp
import os
import queue
import shutil
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .codec import new_codec
from .engine import INDEX_NAME, to_whoosh, whoosh_schema, whoosh_storage
from .errors import BuildError, CableParseError
from .schema import to_document
from .segwriter import WorkerWriter
from .sources import RawCable, load_cable

#: Cables per segment a worker writes before it starts another (bounds the memory of its flush:
#: whoosh holds an open segment's term table in memory). Fewer segments, fewer term lookups and
#: array set-ups for each word of a search: 250,000 cables on 2 workers make 4 segments, not 8.
SEGMENT_DOCS = 64_000
#: Unit numbers: worker * UNITS_PER_WORKER + the worker's segment number.
UNITS_PER_WORKER = 100_000
#: Posting memory per worker (as ``segwriter.TermPool`` estimates it) before it spills a run to disk.
DEFAULT_LIMITMB = 96

# Item statuses in a chunk result.
WRITTEN = "written"  # parsed and written: docnum is its number in the worker's segment
SAME = "same"  # parsed; same content hash as the indexed version: not written
SKIPPED = "skipped"  # could not be read, parsed or indexed: reason says why


@dataclass(frozen=True, slots=True)
class Task:
    """A chunk of work: ``(seq, raw, old_hash)`` triples; ``old_hash`` is the indexed version's."""

    number: int
    items: tuple[tuple[int, RawCable, str | None], ...]


@dataclass(frozen=True, slots=True)
class ItemResult:
    seq: int
    source: str
    stamp: str
    status: str
    key: str = ""
    sha1: str = ""
    docnum: int = -1
    reason: str = ""
    #: For a written cable: what its source had that could not be used (``Cable.notes``).
    note: str = ""
    #: The segment the document went into (see ``SegmentBuilder``); with ``docnum``, where it is.
    unit: int = -1


@dataclass(frozen=True, slots=True)
class ChunkResult:
    task: int
    worker: int
    items: tuple[ItemResult, ...]


@dataclass(frozen=True, slots=True)
class WorkerOutput:
    """One segment a worker left: its unit number, its folder (a whoosh index of that one
    segment) and how many cables went into it."""

    worker: int
    unit: int
    folder: str
    written: int


class SegmentBuilder:
    """One worker's private indexes: parse chunks into the current one; every ``segment_docs``
    cables, commit it (one segment) and start the next.

    The roll-over bounds memory whatever the corpus size: whoosh's term table writer keeps about
    140 bytes per distinct term of a segment until the segment is closed, and a synthetic
    corpus's vocabulary grows without end.
    """

    def __init__(self, worker: int, folder: Path, limitmb: int = DEFAULT_LIMITMB,
                 segment_docs: int | None = None, schema: Any = None) -> None:
        self.worker = worker
        #: The schema of the index the segments join (an update keeps the live index's own).
        self.schema = schema if schema is not None else whoosh_schema()
        self.folder = folder
        self.limitmb = limitmb
        self.segment_docs = segment_docs or SEGMENT_DOCS
        self.outputs: list[WorkerOutput] = []
        self.written = 0  # in all segments
        self._start()

    def _start(self) -> None:
        self.unit = self.worker * UNITS_PER_WORKER + len(self.outputs)
        self.part = self.folder / f"s{len(self.outputs)}"
        self.part.mkdir(mode=0o700, parents=True, exist_ok=True)
        ix = whoosh_storage(self.part).create_index(self.schema, indexname=INDEX_NAME)
        # compound=True costs one more copy of the segment (in the workers, in parallel), and buys
        # a segment that is one file, opened when a reader opens: an open index keeps reading it
        # after a rebuild deleted it. Loose segment files are opened lazily: a reader would find
        # them gone.
        self.writer = WorkerWriter(ix, limitmb=self.limitmb, compound=True, codec=new_codec())
        self.in_part = 0

    def _roll(self) -> None:
        self.writer.commit(merge=False)
        self.outputs.append(WorkerOutput(self.worker, self.unit, str(self.part), self.in_part))
        self._start()

    def process(self, task: Task) -> ChunkResult:
        return ChunkResult(task.number, self.worker, tuple(self._one(seq, raw, old) for seq, raw, old in task.items))

    def _one(self, seq: int, raw: RawCable, old_hash: str | None) -> ItemResult:
        source = raw.source
        try:
            cable, sha1 = load_cable(raw)
        except CableParseError as e:
            return ItemResult(seq, source, raw.stamp, SKIPPED, reason=e.reason)
        except Exception as e:  # load_cable promises CableParseError only; report, never lose
            return ItemResult(seq, source, raw.stamp, SKIPPED, reason=f"cannot read: {type(e).__name__}: {e}")
        key = cable.key
        if old_hash is not None and old_hash == sha1:
            return ItemResult(seq, source, raw.stamp, SAME, key=key, sha1=sha1)
        try:
            fields = to_whoosh(to_document(cable, content_hash=sha1), self.schema)
            docnum = self.writer.docnum
            self.writer.add_atomic(fields)
        except OSError:  # the disk (full, read-only), not this cable: fail the build
            raise
        except Exception as e:  # e.g. text the analyzers cannot encode; the writer is untouched
            return ItemResult(seq, source, raw.stamp, SKIPPED, key=key, sha1=sha1,
                              reason=f"cannot index: {type(e).__name__}: {e}")
        self.written += 1
        self.in_part += 1
        unit = self.unit
        if self.in_part >= self.segment_docs:
            self._roll()
        return ItemResult(seq, source, raw.stamp, WRITTEN, key=key, sha1=sha1, docnum=docnum, unit=unit,
                          note="; ".join(cable.notes))

    def finish(self) -> list[WorkerOutput]:
        if self.in_part:
            self.writer.commit(merge=False)
            self.outputs.append(WorkerOutput(self.worker, self.unit, str(self.part), self.in_part))
        else:
            self.writer.cancel()
        return self.outputs

    def cancel(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.cancel()


# ---------------------------------------------------------------------------------------------
# runners: the same tasks, in-process or on a pool of worker processes


class InlineRunner:
    """``jobs == 1``: the caller's process does the work; no pool, no pickling."""

    def __init__(self, workdir: Path, limitmb: int = DEFAULT_LIMITMB, segment_docs: int = SEGMENT_DOCS,
                 schema: Any = None, worker: int = 0) -> None:
        self.builder = SegmentBuilder(worker, workdir / f"w{worker}", limitmb, segment_docs, schema)

    def run(self, tasks: Iterable[Task]) -> Iterator[ChunkResult]:
        for task in tasks:
            yield self.builder.process(task)

    def stop(self) -> None:
        """No more tasks (here, nothing to start: :meth:`finish` writes the segment)."""

    def finish(self) -> list[WorkerOutput]:
        return self.builder.finish()

    def abort(self) -> None:
        self.builder.cancel()


def _worker_main(worker: int, folder: str, limitmb: int, segment_docs: int, schema: Any, tasks: Any,
                 results: Any, active: Any) -> None:
    """A worker process: once ``active`` is set, build its segment from the chunks it gets until
    told to finish."""
    # A forked worker inherits the parent's objects (an update's ledger: 250,000 entries) and its
    # paused collector (build.collector_paused): set them aside, so that collecting this worker's
    # garbage neither walks them nor copies their pages, then collect as usual.
    gc.freeze()
    gc.enable()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    _die_with_parent()
    parent = mp.parent_process()
    builder = None
    try:
        while not active.wait(timeout=1.0):
            if parent is not None and not parent.is_alive():
                os._exit(0)  # the build was killed before it needed this worker
        while True:
            try:
                task = tasks.get(timeout=1.0)
            except queue.Empty:
                if parent is not None and not parent.is_alive():
                    # The build was killed. Exit now: a normal exit would wait to flush results
                    # into a pipe nobody reads. The next build removes our folder.
                    os._exit(0)
                continue
            if task is None:
                break
            if builder is None:  # at the first task: a worker given none leaves no folder
                builder = SegmentBuilder(worker, Path(folder), limitmb, segment_docs, schema)
            results.put(("chunk", worker, builder.process(task)))
        results.put(("done", worker, builder.finish() if builder is not None else []))
    except OSError as e:  # the disk (full, read-only): a message for the user, not a traceback
        if builder is not None:
            builder.cancel()
        where = f" ({e.filename})" if e.filename else ""
        results.put(("error", worker, f"{e.strerror or e}{where}"))
    except BaseException:
        if builder is not None:
            builder.cancel()
        results.put(("error", worker, traceback.format_exc()))


def _die_with_parent() -> None:
    """Linux: have the kernel send SIGKILL to this worker when the build process dies."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - no prctl: the polling above still works
        pass


class ProcessRunner:
    """``jobs`` worker processes fed through a bounded queue (memory stays flat however many cables).

    With ``ramp`` (an update), only the first worker takes tasks at first; the next starts taking
    them when the queue stays full (the workers fall behind the walk). An update of a hundred
    cables then writes one segment, not one a worker: half the terms to write, fewer segments to
    search, and one process less competing with the walk for the cores. All are started at once,
    before the feeder thread (a fork from a threaded process can deadlock); with the ``fork``
    start method (Linux's default before Python 3.14) a worker that is never used costs a few ms.

    A feeder thread pulls tasks from the (lazy) task iterable, so discovery, the workers and the
    parent's bookkeeping overlap. The parent notices a worker that died (e.g. killed for memory)
    and fails the build with BuildError; the workers notice a parent that died and stop.
    """

    def __init__(self, jobs: int, workdir: Path, limitmb: int = DEFAULT_LIMITMB,
                 segment_docs: int = SEGMENT_DOCS, schema: Any = None, ramp: bool = False) -> None:
        ctx = mp.get_context()
        self.tasks = ctx.Queue(maxsize=2 * jobs)
        self.results = ctx.Queue()
        self._active = [ctx.Event() for _ in range(jobs)]
        self.procs = [
            ctx.Process(target=_worker_main, name=f"cablesearch-build-{i}",
                        args=(i, str(workdir / f"w{i}"), limitmb, segment_docs, schema, self.tasks, self.results,
                              self._active[i]),
                        daemon=True)
            for i in range(jobs)
        ]
        self._stop = threading.Event()
        self._stopped = False
        self._finished: set[int] = set()
        for i, p in enumerate(self.procs):
            if not ramp or i == 0:
                self._active[i].set()
            p.start()

    @property
    def active(self) -> int:
        """How many workers take tasks."""
        return sum(e.is_set() for e in self._active)

    def _ramp_up(self) -> None:
        """One more worker takes tasks (the queue stayed full)."""
        for e in self._active:
            if not e.is_set():
                e.set()
                return

    def run(self, tasks: Iterable[Task]) -> Iterator[ChunkResult]:
        state: dict[str, Any] = {"fed": 0, "done": False, "error": None}

        def feed() -> None:
            try:
                for task in tasks:
                    while not self._put(task):
                        if self._stop.is_set():
                            return
                        self._ramp_up()
                    state["fed"] += 1
            except BaseException as e:  # surfaces in the main thread below
                state["error"] = e
            finally:
                state["done"] = True

        feeder = threading.Thread(target=feed, name="cablesearch-feeder", daemon=True)
        feeder.start()
        received = 0
        try:
            while True:
                if state["error"] is not None:
                    raise state["error"]
                if state["done"] and received >= state["fed"]:
                    break
                msg = self._get()
                if msg is None:
                    continue
                kind, worker, payload = msg
                if kind != "chunk":
                    raise BuildError(f"build worker {worker} failed: {payload}")
                received += 1
                yield payload
        finally:
            if state["error"] is None and not state["done"]:
                self._stop.set()
            feeder.join(timeout=5)
        if state["error"] is not None:
            raise state["error"]

    def stop(self) -> None:
        """No more tasks: each worker writes its segment, while the caller goes on."""
        if self._stopped:
            return
        self._stopped = True
        for e in self._active:  # a worker that never took a task takes its None, and writes nothing
            e.set()
        for _ in self.procs:
            self._put(None, block=True)

    def finish(self) -> list[WorkerOutput]:
        """Wait for the workers' segments (after :meth:`stop`, called here if it was not)."""
        self.stop()
        outputs: dict[int, list[WorkerOutput]] = {}
        while len(outputs) < len(self.procs):
            msg = self._get()
            if msg is None:
                continue
            kind, worker, payload = msg
            if kind != "done":
                raise BuildError(f"build worker {worker} failed: {payload}")
            outputs[worker] = payload
            self._finished.add(worker)
        for p in self.procs:
            p.join(timeout=30)
        return [out for i in sorted(outputs) for out in outputs[i]]

    def abort(self) -> None:
        self._stop.set()
        for p in self.procs:
            if p.is_alive():
                p.terminate()
        for p in self.procs:
            p.join(timeout=10)
            if p.is_alive():  # pragma: no cover - ignored SIGTERM
                p.kill()
                p.join(timeout=5)
        for q in (self.tasks, self.results):
            q.cancel_join_thread()
            q.close()

    #: Seconds the feeder waits on a full queue before it looks again (stop? one more worker?).
    put_wait = 0.2

    def _put(self, item: Task | None, block: bool = False) -> bool:
        try:
            self.tasks.put(item, timeout=None if block else self.put_wait)
            return True
        except queue.Full:
            return False

    def _get(self) -> tuple[str, int, Any] | None:
        try:
            return self.results.get(timeout=0.2)
        except queue.Empty:
            pass
        for i, p in enumerate(self.procs):
            if i in self._finished or p.is_alive():
                continue
            if p.exitcode != 0:
                raise BuildError(f"build worker {p.name} died (exit code {p.exitcode}); "
                                 "the previous index is unchanged")
            try:  # a clean exit comes right after its last message: read that first
                return self.results.get(timeout=1.0)
            except queue.Empty:
                raise BuildError(f"build worker {p.name} stopped unexpectedly") from None
        return None


def make_runner(jobs: int, workdir: Path, limitmb: int = DEFAULT_LIMITMB,
                segment_docs: int | None = None, schema: Any = None, *, ramp: bool = False,
                worker: int = 0) -> InlineRunner | ProcessRunner:
    """``schema``: the whoosh schema the segments are written with (default: a new index's);
    ``ramp``: workers take tasks one more at a time (see :class:`ProcessRunner`); ``worker``: the
    number of an in-process runner (its folder and segment units), beside a pool's 0..jobs-1."""
    segment_docs = segment_docs or SEGMENT_DOCS  # read here, in the parent, whatever the start method
    if jobs <= 1:
        return InlineRunner(workdir, limitmb, segment_docs, schema, worker=worker)
    return ProcessRunner(jobs, workdir, limitmb, segment_docs, schema, ramp=ramp)


def remove_tree(path: Path, on_error: Callable[[Exception], None] | None = None) -> None:
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        pass
    except OSError as e:
        if on_error:
            on_error(e)
        shutil.rmtree(path, ignore_errors=True)
