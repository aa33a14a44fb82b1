"""Parse E3SM execution directories in worker processes, yielding items in walk order.

Reading an execution is ~9 small files and 3 XML documents: CPU-bound Python, so threads do not
help. Past `SERIAL_FIRST` executions (small ingests never start a pool), chunks of directories go
to a spawn-context process pool while the caller records the previous ones. At most `WINDOW`
chunks are in flight, so memory stays flat; results come back in submission order, so the outcome
(and the canonical choices) are the same as a serial read.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from ...application.ingest import ReadItem

SERIAL_FIRST = 256
CHUNK = 32
WINDOW = 8

Job = tuple[Any, ...]
Reader = Callable[[Job], ReadItem]


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


def _read_chunk(reader: Reader, jobs: list[Job]) -> list[ReadItem]:
    return [reader(job) for job in jobs]


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
    pending: deque[Future[list[ReadItem]] | list[ReadItem]] = deque()
    chunk: list[Job] = []
    seen = 0

    def submit() -> None:
        nonlocal pool, chunk
        if not chunk:
            return
        if pool is None:
            pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        pending.append(pool.submit(_read_chunk, reader, chunk))
        chunk = []

    def drain(limit: int) -> Iterator[ReadItem]:
        while len(pending) > limit:
            head = pending.popleft()
            yield from head if isinstance(head, list) else head.result()

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
                pending.append([reader(job)])
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
