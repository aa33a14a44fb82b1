"""The parts of a split rebuild (`projections rebuild --jobs N`), each in its own process.

Each process opens the same database from the same settings, reads the whole log and applies
the events of its share of the cases into the rebuild's fresh tables
(`ProjectionRunner.rebuild_part`). Processes are spawned, not forked: a forked child would
share the parent's database connections."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor

from ..events.settings import StoreSettings


class ProcessPartLauncher:
    def __init__(self, settings: StoreSettings) -> None:
        self.settings = settings
        self._pool: ProcessPoolExecutor | None = None

    def start(self, names: list[str], jobs: int, head: int) -> list[Future[None]]:
        context = multiprocessing.get_context("spawn")
        self._pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context)
        return [
            self._pool.submit(rebuild_part, self.settings, names, part, jobs, head)
            for part in range(jobs)
        ]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def rebuild_part(
    settings: StoreSettings, names: list[str], part: int, jobs: int, head: int
) -> None:
    """Part `part` of `jobs`, in a process of its own."""
    from ..bootstrap import bootstrap

    ledger = bootstrap(settings)
    try:
        ledger.runner.rebuild_part(names, part, jobs, head)
    finally:
        ledger.close()
