"""Wires the worker use case (application/worker.py) to a ledger and its settings: LISTEN and
advisory-lock leases on Postgres; polling and file locks on SQLite (one host)."""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ...application.persist_records import PersistSummary, RecordPersister
from ...application.ports import Archive
from ...application.worker import (
    ErrorObserver,
    Job,
    Leases,
    OwnerObserver,
    StepObserver,
    Wakeup,
    Worker,
    catch_up_job,
    persist_job,
    ship_job,
)

if TYPE_CHECKING:
    from ...application.ledger import Ledger
    from ..settings import Settings

JOBS = ("catch-up", "persist", "ship", "snapshot")  # snapshot: when PROVLEDGER_SNAPSHOT_INTERVAL
PERSIST_CHUNK = 2000  # log events the persister reads per step
CATCH_UP_CHUNK_BATCHES = 4  # projection batches per catch-up step


class PollWakeup:
    """Wakeup by polling: SQLite has no notifications."""

    def wait(self, timeout: float, stop: threading.Event) -> bool:
        stop.wait(timeout)
        return False

    def close(self) -> None:
        pass


class FileLeases:
    """Leases as `flock`s on files beside the SQLite database; the kernel releases them when
    the process dies."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files: dict[str, IO[bytes]] = {}

    def hold(self, kind: str) -> bool:
        if kind in self.files:
            return True
        self.folder.mkdir(parents=True, exist_ok=True)
        f = (self.folder / f"worker-{kind}.lock").open("ab")
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            return False
        self.files[kind] = f
        return True

    def close(self) -> None:
        for f in self.files.values():
            f.close()  # releases the lock
        self.files.clear()


class SoleLeases:
    """Leases when only this process can use the store (the in-memory one)."""

    def hold(self, kind: str) -> bool:
        return True

    def close(self) -> None:
        pass


def _datastore(ledger: Ledger) -> Any:
    return ledger.events.recorder.datastore  # type: ignore[attr-defined]


def wakeup_and_leases(ledger: Ledger, settings: Settings) -> tuple[Wakeup, Leases]:
    backend = str(getattr(ledger.events, "backend", ""))
    if backend == "postgres":
        from ..postgres.worker import PgAdvisoryLeases, PgListener, connect_kwargs

        kwargs = connect_kwargs(_datastore(ledger))
        channel = ledger.events.recorder.channel_name  # type: ignore[attr-defined]
        return PgListener(kwargs, channel), PgAdvisoryLeases(kwargs)
    if backend == "sqlite":
        return PollWakeup(), FileLeases(settings.home / "locks")
    return PollWakeup(), SoleLeases()


def build_worker(
    ledger: Ledger,
    settings: Settings,
    *,
    jobs: Sequence[str] = JOBS,
    archive: Archive | None = None,
    extra: Sequence[Job] = (),
    on_persisted: Callable[[PersistSummary], None] | None = None,
    on_shipped: Callable[[int, int], None] | None = None,
    on_step: StepObserver | None = None,
    on_error: ErrorObserver | None = None,
    on_owner: OwnerObserver | None = None,
) -> Worker:
    """A worker doing `jobs` (catch-up, persist, ship) plus `extra` ones (snapshots)."""
    from ..archive import archive_for, raw_log_of

    unknown = sorted(set(jobs) - set(JOBS))
    if unknown:
        raise ValueError(f"unknown job {', '.join(unknown)} (known: {', '.join(JOBS)})")
    chosen: list[Job] = []
    if "catch-up" in jobs:
        chunk = settings.projection_batch_size * CATCH_UP_CHUNK_BATCHES
        chosen.append(catch_up_job(lambda: ledger.runner, chunk))
    if "persist" in jobs or "ship" in jobs:
        archive = archive or archive_for(settings, defer_sync=True)  # one sync per batch
        log = raw_log_of(ledger)
        if "persist" in jobs:
            persister = RecordPersister(ledger.events, log, archive)
            chosen.append(persist_job(persister, log, ledger.events, PERSIST_CHUNK, on_persisted))
        if "ship" in jobs:
            chosen.append(
                ship_job(
                    log,
                    archive,
                    ledger.ledger_id,
                    segment_events=settings.archive_segment_events,
                    every=settings.archive_interval,
                    report=on_shipped,
                )
            )
    if "snapshot" in jobs and settings.snapshot_interval > 0:
        chosen.append(_snapshot_job(ledger, settings, archive))
    chosen.extend(extra)
    wakeup, leases = wakeup_and_leases(ledger, settings)
    return Worker(
        chosen,
        wakeup,
        leases,
        poll_interval=settings.persist_interval,
        on_step=on_step,
        on_error=on_error,
        on_owner=on_owner,
    )


def _snapshot_job(ledger: Ledger, settings: Settings, archive: Archive | None) -> Job:
    """Read-model snapshots every PROVLEDGER_SNAPSHOT_INTERVAL s, when the read models moved."""
    from ...application.snapshots import snapshot_if_moved
    from ...application.worker import scheduled_job
    from ..archive import archive_for, raw_log_of
    from ..sqlviews.snapshots import snapshot_store

    target = archive or archive_for(settings)
    log = raw_log_of(ledger)

    def step() -> int:
        return snapshot_if_moved(
            snapshot_store(ledger),
            target,
            log,
            ledger.ledger_id,
            segment_events=settings.archive_segment_events,
        )

    return scheduled_job("snapshot", step, every=settings.snapshot_interval)


def lease_owners(ledger: Ledger, kinds: Sequence[str] = ("persist", "ship")) -> dict[str, Any]:
    """Who holds each exclusive job now (Postgres only; {} elsewhere)."""
    if str(getattr(ledger.events, "backend", "")) != "postgres":
        return {}
    from ..postgres.worker import connect_kwargs, owners

    return owners(connect_kwargs(_datastore(ledger)), list(kinds))


__all__ = ["JOBS", "FileLeases", "PollWakeup", "build_worker", "lease_owners"]
