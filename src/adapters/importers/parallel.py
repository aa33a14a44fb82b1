"""Parse E3SM execution directories in worker processes, yielding items in walk order.

Reading an execution is ~9 small files and 3 XML documents: CPU-bound Python, so threads do not
help. Past `SERIAL_FIRST` executions (small ingests never start a pool), chunks of directories go
to a spawn-context process pool while the caller records the previous ones. At most `WINDOW`
chunks are in flight, so memory stays flat; results come back in submission order, so the outcome
(and the canonical choices) are the same as a serial read.

A job that raises, or a chunk whose worker died, becomes an error item per job naming it (a job's
last element is the name shown), so one hostile input never stops the rest of an ingest.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ...application.ingest import ReadItem

SERIAL_FIRST = 256
CHUNK = 32
WINDOW = 8

Job = tuple[Any, ...]
Reader = Callable[[Job], ReadItem]
InFlight = tuple["Future[list[ReadItem]]", list[Job], ProcessPoolExecutor]


class Barrier:
    """Everything submitted before it is finished before the job stream is resumed (an
    upload's extraction directory is removed only after its executions were read)."""


def default_workers() -> int:
    """PROVLEDGER_IMPORT_WORKERS, else the CPUs available (at most 4); 0 or 1 = serial."""
    configured = os.environ.get("PROVLEDGER_IMPORT_WORKERS", "").strip()
    if configured.isdigit():
        return int(configured)
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return min(4, cpus)


def _shown(job: Job) -> str:
    return str(job[-1]) if job else "<job>"


def _guarded(reader: Reader, job: Job) -> ReadItem:
    """`reader(job)`, or an error item naming the job when it raises."""
    try:
        return reader(job)
    except RecursionError:
        where = _shown(job)
        return ReadItem(where, error=f"{where}: nested too deeply to read (recursion limit)")
    except Exception as e:
        where = _shown(job)
        return ReadItem(where, error=f"{where}: cannot read: {type(e).__name__}: {e}")


def _read_chunk(reader: Reader, jobs: list[Job]) -> list[ReadItem]:
    return [_guarded(reader, job) for job in jobs]


def _failed_chunk(jobs: list[Job], error: BaseException) -> list[ReadItem]:
    reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return [
        ReadItem(_shown(job), error=f"{_shown(job)}: cannot read: worker failed: {reason}")
        for job in jobs
    ]


def ordered(
    jobs: Iterable[Job | ReadItem | Barrier],
    reader: Reader,
    workers: int | None = None,
    serial_first: int | None = None,
) -> Iterator[ReadItem]:
    """`reader(job)` for each job (items passed through as they are), in order."""
    workers = default_workers() if workers is None else workers
    serial_first = SERIAL_FIRST if serial_first is None else serial_first
    pool: ProcessPoolExecutor | None = None
    pending: deque[InFlight | list[ReadItem]] = deque()
    chunk: list[Job] = []
    seen = 0

    def submit() -> None:
        nonlocal pool, chunk
        if not chunk:
            return
        if pool is None:
            pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        try:
            pending.append((pool.submit(_read_chunk, reader, chunk), chunk, pool))
        except BrokenProcessPool as e:
            pending.append(_failed_chunk(chunk, e))
        chunk = []

    def drain(limit: int) -> Iterator[ReadItem]:
        nonlocal pool
        while len(pending) > limit:
            head = pending.popleft()
            if isinstance(head, list):
                yield from head
                continue
            future, jobs_of_chunk, owner = head
            try:
                items = future.result()
            except Exception as e:  # the worker died (or could not send its result back)
                items = _failed_chunk(jobs_of_chunk, e)
                if isinstance(e, BrokenProcessPool) and owner is pool:
                    owner.shutdown(wait=False, cancel_futures=True)
                    pool = None  # a fresh pool for the chunks still to come
            yield from items

    try:
        for job in jobs:
            if isinstance(job, Barrier):
                submit()
                yield from drain(0)
                continue
            if isinstance(job, ReadItem):
                submit()
                pending.append([job])
            elif workers <= 1 or seen < serial_first:
                seen += 1
                submit()
                pending.append([_guarded(reader, job)])
            else:
                chunk.append(job)
                if len(chunk) >= CHUNK:
                    submit()
            yield from drain(WINDOW)
        submit()
        yield from drain(0)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
