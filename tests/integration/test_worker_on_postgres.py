"""`provledger worker` on a real Postgres: woken by NOTIFY, one owner per kind of work, and a
killed owner's work taken over by another worker with nothing lost or done twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from provledger.adapters.bootstrap import bootstrap
from provledger.adapters.service.worker import build_worker, lease_owners
from provledger.adapters.settings import Settings
from provledger.application.ledger import Ledger
from provledger.application.persist_records import record_key
from provledger.domain.execution import Execution
from tests.unit.records import make_record


@pytest.fixture
def pg_settings(pg_url: str, tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path / "home",
        database_url=pg_url,
        archive_url=(tmp_path / "archive").as_uri(),
        persist_interval=30.0,  # a poll would take 30 s: only NOTIFY wakes it sooner
        archive_interval=0.5,
    )


@pytest.fixture
def pg_ledger(pg_settings: Settings) -> Iterator[Ledger]:
    ledger = bootstrap(pg_settings)
    try:
        yield ledger
    finally:
        ledger.close()


def persisted_locations(ledger: Ledger) -> Counter[str]:
    seen: Counter[str] = Counter()
    position = 0
    while batch := ledger.events.read(position, 1000):
        position = batch[-1].position
        seen.update(
            e.event.location for e in batch if isinstance(e.event, Execution.RecordPersisted)
        )
    return seen


def eventually(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout} s")
        time.sleep(0.05)


def test_a_worker_wakes_on_notify_long_before_its_poll_interval(
    pg_ledger: Ledger, pg_settings: Settings
) -> None:
    writer = bootstrap(pg_settings)  # another process's connection, as far as Postgres knows
    worker = build_worker(bootstrap(pg_settings), pg_settings, jobs=("catch-up", "persist"))
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        time.sleep(1.0)  # the worker did its first round and sleeps (30 s poll)
        writer.record([make_record("n1")], catch_up=False)
        started = time.monotonic()
        archive = Path(pg_settings.home.parent / "archive")
        key = archive / record_key("default", "ocean", "n1")
        eventually(key.exists, timeout=10)
        assert time.monotonic() - started < 5  # woken by NOTIFY, not the 30 s poll
    finally:
        stop.set()
        thread.join(timeout=15)
        writer.close()
    assert not thread.is_alive()


def _worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "provledger", "worker", "--log-format", "json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _pid_of(owner: str | None) -> int | None:
    return int(owner.rsplit(" ", 1)[1]) if owner else None


def test_two_workers_have_one_owner_per_job_and_a_killed_owner_is_taken_over(
    pg_ledger: Ledger, pg_settings: Settings
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVLEDGER_")}
    env |= {
        "PROVLEDGER_HOME": str(pg_settings.home),
        "PROVLEDGER_DATABASE_URL": str(pg_settings.database_url),
        "PROVLEDGER_ARCHIVE_URL": str(pg_settings.archive_url),
        "PROVLEDGER_PERSIST_INTERVAL": "1",
        "PROVLEDGER_ARCHIVE_INTERVAL": "0.5",
    }
    workers = [_worker(env), _worker(env)]
    try:
        pg_ledger.record([make_record(f"a{i}", case=f"c{i % 3}", minutes=i) for i in range(50)])
        eventually(lambda: all(lease_owners(pg_ledger).values()))
        owners = {k: _pid_of(v) for k, v in lease_owners(pg_ledger).items()}
        pids = {w.pid for w in workers}
        assert set(owners.values()) <= pids  # each job owned by one of the two workers
        victim = next(w for w in workers if w.pid == owners["persist"])
        survivor = next(w for w in workers if w is not victim)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        pg_ledger.record(
            [make_record(f"b{i}", case=f"c{i % 3}", minutes=100 + i) for i in range(50)]
        )
        eventually(lambda: _pid_of(lease_owners(pg_ledger)["persist"]) == survivor.pid)
        eventually(lambda: _pid_of(lease_owners(pg_ledger)["ship"]) == survivor.pid)
        expected = {
            f"{pg_settings.archive_url}/{record_key('default', f'c{i % 3}', f'{p}{i}')}"
            for p in "ab"
            for i in range(50)
        }
        eventually(lambda: set(persisted_locations(pg_ledger)) == expected)
        assert set(persisted_locations(pg_ledger).values()) == {1}  # none persisted twice
        head = pg_ledger.events.max_position()  # every record persisted: nothing more comes

        def archived_and_caught_up() -> bool:
            status = pg_ledger.runner.status()
            manifests = sorted(
                (pg_settings.home.parent / "archive" / "log" / "manifests").glob("*")
            )
            last = json.loads(manifests[-1].read_text())["last"] if manifests else 0
            return bool(last == head and all(s.position >= head for s in status))

        eventually(archived_and_caught_up)
        survivor.send_signal(signal.SIGTERM)
        assert survivor.wait(timeout=30) == 0
        audit = subprocess.run(
            [sys.executable, "-m", "provledger", "audit"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert audit.returncode == 0, audit.stdout + audit.stderr
        assert "no discrepancies" in audit.stdout
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait()
