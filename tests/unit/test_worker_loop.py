"""The worker loop (application/worker.py) with fakes: jobs, leases, wakeups, a clock."""

from __future__ import annotations

import threading

from provledger.adapters.archive.memory import InMemoryArchive, InMemoryRawLog
from provledger.application.archive_log import MANIFESTS
from provledger.application.persist_records import RecordPersister, record_key
from provledger.application.worker import (
    Job,
    Worker,
    catch_up_job,
    persist_job,
    scheduled_job,
    ship_job,
)
from provledger.domain.context import correlation_var
from tests.fakes import memory_ledger
from tests.unit.archive_support import raw_log_of
from tests.unit.records import make_record


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class LeaseTable:
    """One lease table shared by several fake workers, as Postgres is."""

    def __init__(self) -> None:
        self.owners: dict[str, object] = {}

    def leases(self) -> FakeLeases:
        return FakeLeases(self)


class FakeLeases:
    def __init__(self, table: LeaseTable) -> None:
        self.table = table
        self.closed = False

    def hold(self, kind: str) -> bool:
        return self.table.owners.setdefault(kind, self) is self

    def close(self) -> None:
        self.closed = True
        for kind in [k for k, v in self.table.owners.items() if v is self]:
            del self.table.owners[kind]


class CountingWakeup:
    def __init__(self) -> None:
        self.waits: list[float] = []
        self.closed = False

    def wait(self, timeout: float, stop: threading.Event) -> bool:
        self.waits.append(timeout)
        return False

    def close(self) -> None:
        self.closed = True


def countdown(n: int, seen: list[int]) -> Job:
    """A job with `n` units of work, one per step."""
    left = {"n": n}

    def step() -> int:
        seen.append(left["n"])
        if left["n"] == 0:
            return 0
        left["n"] -= 1
        return 1

    return Job("count", step)


def test_a_job_runs_again_while_it_finds_work_and_stops_when_it_finds_none() -> None:
    seen: list[int] = []
    worker = Worker([countdown(3, seen)], CountingWakeup(), LeaseTable().leases())
    assert worker.round() == 3
    assert seen == [3, 2, 1, 0]
    assert worker.round() == 0


def test_an_exclusive_job_runs_only_in_the_worker_holding_its_lease_and_moves_on_its_death() -> (
    None
):
    table = LeaseTable()
    first_seen: list[int] = []
    second_seen: list[int] = []
    first = Worker([countdown(2, first_seen)], CountingWakeup(), table.leases())
    second = Worker([countdown(2, second_seen)], CountingWakeup(), table.leases())
    first.round()
    second.round()
    assert first_seen == [2, 1, 0]
    assert second_seen == []  # not its lease
    first.leases.close()  # the owner dies: its session (and lease) goes with it
    second.round()
    assert second_seen == [2, 1, 0]


def test_an_unleased_job_runs_in_every_worker() -> None:
    table = LeaseTable()
    runs: list[str] = []
    for name in ("a", "b"):

        def step(name: str = name) -> int:
            runs.append(name)
            return 0

        Worker([Job("catch-up", step, exclusive=False)], CountingWakeup(), table.leases()).round()
    assert runs == ["a", "b"]


def test_a_failing_step_is_retried_after_a_backoff_while_other_jobs_go_on() -> None:
    clock = Clock()
    errors: list[tuple[str, float]] = []
    calls = {"flaky": 0}

    def flaky() -> int:
        calls["flaky"] += 1
        if calls["flaky"] <= 2:
            raise OSError("archive unreachable")
        return 0

    other: list[int] = []
    worker = Worker(
        [Job("flaky", flaky), countdown(1, other)],
        CountingWakeup(),
        LeaseTable().leases(),
        clock=clock,
        on_error=lambda job, e, delay: errors.append((job, delay)),
    )
    worker.round()
    assert errors == [("flaky", 0.5)]
    assert other == [1, 0]  # the other job was not held up
    worker.round()
    assert calls["flaky"] == 1  # not due yet
    clock.now += 0.5
    worker.round()
    assert errors == [("flaky", 0.5), ("flaky", 1.0)]  # backing off
    clock.now += 1.0
    worker.round()
    assert calls["flaky"] == 3
    assert len(errors) == 2


def test_a_scheduled_job_runs_at_most_once_per_interval_and_the_wait_ends_when_it_is_due() -> None:
    clock = Clock()
    runs: list[float] = []

    def ship() -> int:
        runs.append(clock.now)
        return 5

    job = scheduled_job("ship", ship, every=60)
    wakeup = CountingWakeup()
    worker = Worker([job], wakeup, LeaseTable().leases(), poll_interval=1.0, clock=clock)
    worker.round()
    worker.round()
    assert runs == [1000.0]  # did work, yet not repeated: scheduled
    clock.now += 59.5
    worker.round()
    assert worker._sleep_for() == 0.5
    clock.now += 0.5
    worker.round()
    assert runs == [1000.0, 1060.0]


def test_stop_lets_the_step_in_hand_finish_then_run_returns_and_gives_up_its_leases() -> None:
    stop = threading.Event()
    steps: list[str] = []

    def step() -> int:
        steps.append("began")
        stop.set()  # SIGTERM arrives in the middle of the step
        steps.append("finished")
        return 1  # more work, but the worker stops

    leases = LeaseTable().leases()
    wakeup = CountingWakeup()
    Worker([Job("persist", step)], wakeup, leases).run(stop)
    assert steps == ["began", "finished"]
    assert leases.closed
    assert wakeup.closed


def test_run_sleeps_on_the_wakeup_between_rounds() -> None:
    stop = threading.Event()
    rounds = {"n": 0}

    def step() -> int:
        rounds["n"] += 1
        if rounds["n"] == 3:
            stop.set()
        return 0

    wakeup = CountingWakeup()
    Worker([Job("j", step)], wakeup, LeaseTable().leases(), poll_interval=2.0).run(stop)
    assert wakeup.waits == [2.0, 2.0]


def test_each_step_runs_under_its_own_correlation_id() -> None:
    ids: list[str | None] = []

    def step() -> int:
        ids.append(correlation_var.get())
        return 0

    worker = Worker([Job("a", step), Job("b", step)], CountingWakeup(), LeaseTable().leases())
    worker.round()
    assert all(ids)
    assert len(set(ids)) == 2
    assert correlation_var.get() is None


def test_catch_up_steps_bring_the_read_models_to_the_log_a_chunk_at_a_time() -> None:
    ledger, views = memory_ledger()
    ledger.record([make_record(f"r{i}", minutes=i) for i in range(30)], catch_up=False)
    head = ledger.events.max_position()
    job = catch_up_job(lambda: ledger.runner, chunk=10)
    sizes: list[int] = []
    worker = Worker(
        [job],
        CountingWakeup(),
        LeaseTable().leases(),
        on_step=lambda name, done, _s: sizes.append(done),
    )
    # building the read side catches up once; later appends go chunk by chunk
    worker.round()
    ledger.record([make_record(f"s{i}", minutes=100 + i) for i in range(30)], catch_up=False)
    more = ledger.events.max_position() - head
    sizes.clear()
    worker.round()
    assert all(s <= 10 for s in sizes)
    assert sum(sizes) == more
    assert min(views.positions().values()) == ledger.events.max_position()


def test_persist_and_ship_jobs_write_every_final_record_and_the_log_to_the_archive() -> None:
    ledger, _ = memory_ledger()
    ledger.record([make_record(f"r{i}", minutes=i) for i in range(12)])
    archive, state = InMemoryArchive(), InMemoryRawLog()
    persister = RecordPersister(ledger.events, state, archive, batch_size=5)
    reports: list[int] = []
    jobs = [persist_job(persister, state, ledger.events, 5, lambda s: reports.append(s.records))]
    Worker(jobs, CountingWakeup(), LeaseTable().leases()).round()
    assert sorted(k for k in archive.objects if k.startswith("experiments/")) == sorted(
        record_key("default", "ocean", f"r{i}") for i in range(12)
    )
    assert sum(reports) == 12
    log = raw_log_of(ledger)  # now with the RecordPersisted events
    shipped: list[tuple[int, int]] = []
    ship = ship_job(
        log,
        archive,
        "L",
        segment_events=10,
        every=60,
        report=lambda n, last: shipped.append((n, last)),
    )
    Worker([ship], CountingWakeup(), LeaseTable().leases()).round()
    assert shipped == [(log.head(), log.head())]
    assert any(k.startswith(MANIFESTS) for k in archive.objects)
