"""Use case: one long-running loop doing the ledger's background work as the log grows.

Each kind of work is a `Job` whose `step()` does one bounded unit (a batch) and says how much
it did; the loop repeats a job while it finds work, runs it at most every `every` seconds when
asked to, and between rounds sleeps on a `Wakeup` (Postgres LISTEN/NOTIFY, or a poll). A job
marked `exclusive` runs only in the worker that holds its lease (`Leases`: a Postgres session
advisory lock, or a file lock on one host), so several workers never persist or ship twice at
once; when the owner dies its lease is released and another worker takes it over.

Stopping (`stop` set, e.g. by SIGTERM) lets the step in hand finish and returns: every step
commits its own progress, so a worker killed at any point loses nothing either.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ..domain.context import correlation_var
from .archive_log import ship_log
from .persist_records import POSITION_KEY, PersistSummary, RecordPersister, backoff_delays
from .ports import Archive, EventStore
from .stored_log import RawLog


class Wakeup(Protocol):
    """Waits for the log to grow."""

    def wait(self, timeout: float, stop: threading.Event) -> bool:
        """Block until new events may have been appended (True), `timeout` seconds passed or
        `stop` was set (False)."""
        ...

    def close(self) -> None: ...


class Leases(Protocol):
    """Ownership of each kind of exclusive work among the workers of one ledger."""

    def hold(self, kind: str) -> bool:
        """Whether this process owns `kind` now, taking it if nobody does."""
        ...

    def close(self) -> None:
        """Give up every lease held."""
        ...


class ProjectionPosition(Protocol):
    @property
    def position(self) -> int: ...

    @property
    def head(self) -> int: ...


class Projections(Protocol):
    """The part of the projection runner the worker drives."""

    def status(self) -> Sequence[ProjectionPosition]: ...

    def catch_up(self, until: int | None = None) -> int: ...


@dataclass
class Job:
    """One kind of background work."""

    name: str
    step: Callable[[], int]  # one bounded unit of work; how much it did (0: nothing to do)
    exclusive: bool = True  # one owner at a time across workers
    every: float = 0.0  # at most this often (seconds); 0: on every wake
    repeat: bool = True  # run again at once while a step did something
    last_run: float = -math.inf
    retry_at: float = -math.inf
    delays: Iterator[float] = field(default_factory=backoff_delays)


StepObserver = Callable[[str, int, float], None]  # (job, units done, seconds)
ErrorObserver = Callable[[str, BaseException, float], None]  # (job, error, retry in seconds)
OwnerObserver = Callable[[str, bool], None]  # (job, whether this worker owns it now)


class Worker:
    def __init__(
        self,
        jobs: list[Job],
        wakeup: Wakeup,
        leases: Leases,
        *,
        poll_interval: float = 1.0,
        on_step: StepObserver | None = None,
        on_error: ErrorObserver | None = None,
        on_owner: OwnerObserver | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.jobs = jobs
        self.wakeup = wakeup
        self.leases = leases
        self.poll_interval = poll_interval
        self.on_step = on_step
        self.on_error = on_error
        self.on_owner = on_owner
        self.clock = clock
        self._owned: dict[str, bool] = {}

    def run(self, stop: threading.Event) -> None:
        """Work until `stop` is set; the step in hand when it is set finishes first."""
        try:
            while not stop.is_set():
                self.round(stop)
                if not stop.is_set():
                    self.wakeup.wait(self._sleep_for(), stop)
        finally:
            self.leases.close()
            self.wakeup.close()

    def round(self, stop: threading.Event | None = None) -> int:
        """Run every job that is due, each while it finds work; how much was done."""
        total = 0
        for job in self.jobs:
            while not (stop is not None and stop.is_set()):
                now = self.clock()
                if now < job.retry_at or now - job.last_run < job.every:
                    break
                if job.exclusive and not self._holds(job.name):
                    break
                done = self._step(job, now)
                total += done
                if done <= 0 or not job.repeat:
                    break
        return total

    def _holds(self, name: str) -> bool:
        owned = self.leases.hold(name)
        if self._owned.get(name) != owned:
            self._owned[name] = owned
            if self.on_owner is not None:
                self.on_owner(name, owned)
        return owned

    def _step(self, job: Job, now: float) -> int:
        started = time.perf_counter()
        token = correlation_var.set(str(uuid.uuid4()))  # events and log lines of this step
        try:
            done = job.step()
        except Exception as error:  # a service keeps going: S3 down, database restarting
            delay = next(job.delays)
            job.retry_at = self.clock() + delay
            if self.on_error is not None:
                self.on_error(job.name, error, delay)
            return 0
        finally:
            correlation_var.reset(token)
        job.delays = backoff_delays()
        job.last_run = now
        if self.on_step is not None:
            self.on_step(job.name, done, time.perf_counter() - started)
        return done

    def _sleep_for(self) -> float:
        """Until the next poll, or sooner when a scheduled or retried job falls due."""
        now = self.clock()
        wait = self.poll_interval
        for job in self.jobs:
            due = max(job.retry_at, job.last_run + job.every)
            if job.every or job.retry_at > now:
                wait = min(wait, max(0.0, due - now))
        return wait


# -- the jobs ------------------------------------------------------------------------------


def catch_up_job(projections: Callable[[], Projections], chunk: int) -> Job:
    """Keep the read models up to the log, about `chunk` events per step. Catch-up serialises
    itself across processes (the runner's lock), so it runs in every worker, unleased."""

    def step() -> int:
        runner = projections()
        status = runner.status()
        if not status:
            return 0
        head = max(s.head for s in status)
        low = min(s.position for s in status)
        if low >= head:
            return 0
        return max(0, runner.catch_up(until=min(head, low + chunk)) - low)

    return Job("catch-up", step, exclusive=False)


def persist_job(
    persister: RecordPersister,
    log: RawLog,
    events: EventStore,
    chunk: int,
    report: Callable[[PersistSummary], None] | None = None,
) -> Job:
    """Write final records to the archive, `chunk` events of the log per step (exclusive)."""

    def step() -> int:
        position = int(log.get_state(POSITION_KEY) or 0)
        head = events.max_position()
        if position >= head:
            return 0
        summary = persister.run(until=min(head, position + chunk))
        if report is not None and (summary.records or summary.side_files or summary.conflicts):
            report(summary)
        return max(0, summary.position - position)

    return Job("persist", step)


def ship_job(
    log: RawLog,
    archive: Archive,
    ledger_id: str,
    *,
    segment_events: int,
    every: float,
    report: Callable[[int, int], None] | None = None,
) -> Job:
    """Ship the log not yet archived as segments, every `every` seconds (exclusive)."""

    def step() -> int:
        summary = ship_log(log, archive, ledger_id, segment_events=segment_events)
        if report is not None and summary.events:
            report(summary.events, summary.head.last)
        return summary.events

    return Job("ship", step, every=every, repeat=False)


def scheduled_job(name: str, work: Callable[[], int], every: float) -> Job:
    """Any other periodic work (read-model snapshots): exclusive, at most every `every` s."""
    return Job(name, work, every=every, repeat=False)
