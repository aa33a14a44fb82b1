"""The service under load, for tests/integration/test_service_under_load.py and
benchmarks/bench_service.py: two `provledger serve` processes and one `provledger worker` on one
Postgres and an S3 endpoint; writers post executions over HTTP, readers read them back from the
*other* API process with the position the write returned; the worker is killed with SIGKILL
midway and a new one started; then everything must be persisted, shipped and audit clean."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

CLI = str(Path(sys.executable).with_name("provledger"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


@dataclass
class Service:
    """The processes of one deployment, started from one environment."""

    env: dict[str, str]
    apis: list[subprocess.Popen[bytes]] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    worker: subprocess.Popen[bytes] | None = None
    logs: Path | None = None

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [CLI, *args], env=self.env, capture_output=True, text=True, timeout=300, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"provledger {' '.join(args)}: {done.stdout}{done.stderr}")
        return done.stdout.strip()

    def _log(self, name: str) -> Any:
        if self.logs is None:
            return subprocess.DEVNULL
        self.logs.mkdir(parents=True, exist_ok=True)
        return (self.logs / f"{name}.log").open("ab")

    def start_api(self, *extra: str) -> str:
        port = free_port()
        proc = subprocess.Popen(
            [CLI, "serve", "--port", str(port), "--log-level", "warning", *extra],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=self._log(f"api-{port}"),
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"provledger serve on {port} did not start")
            time.sleep(0.1)
        self.apis.append(proc)
        self.urls.append(url)
        return url

    def start_worker(self, *extra: str) -> subprocess.Popen[bytes]:
        self.worker = subprocess.Popen(
            [CLI, "worker", "--log-format", "json", *extra],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=self._log("worker"),
        )
        return self.worker

    def kill_worker(self) -> None:
        if self.worker is not None:
            os.kill(self.worker.pid, signal.SIGKILL)
            self.worker.wait()

    def stop(self) -> None:
        procs = [*self.apis, *([self.worker] if self.worker else [])]
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@dataclass
class LoadResult:
    seconds: float = 0.0
    writes: int = 0
    reads: int = 0
    write_ms: list[float] = field(default_factory=list)
    read_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)  # a read missed a write it waited for
    written: set[str] = field(default_factory=set)

    def summary(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 1),
            "writes": self.writes,
            "reads": self.reads,
            "writes_per_s": round(self.writes / self.seconds, 1) if self.seconds else 0,
            "reads_per_s": round(self.reads / self.seconds, 1) if self.seconds else 0,
            "write_p50_ms": round(percentile(self.write_ms, 50), 1),
            "write_p99_ms": round(percentile(self.write_ms, 99), 1),
            "read_p50_ms": round(percentile(self.read_ms, 50), 1),
            "read_p99_ms": round(percentile(self.read_ms, 99), 1),
            "errors": len(self.errors),
            "read_your_writes_violations": len(self.violations),
        }


def run_load(
    urls: list[str],
    token: str,
    seconds: float,
    *,
    writers: int = 8,
    readers: int = 16,
    midway: Callable[[], None] | None = None,
) -> LoadResult:
    """Writers post executions round-robin over `urls`; readers read the newest writes back
    from another API process, with the position each write returned."""
    result = LoadResult()
    lock = threading.Lock()
    recent: deque[tuple[str, int, int]] = deque(maxlen=1000)  # (id, position, url index)
    auth = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + seconds

    def failed(text: str) -> None:
        with lock:
            result.errors.append(text)

    def write(n: int) -> None:
        with httpx.Client(headers=auth, timeout=30) as client:
            i = 0
            while time.monotonic() < deadline:
                i += 1
                where = (n + i) % len(urls)
                ref = f"w{n}-{i}"
                body = {
                    "execution_id": ref,
                    "case": f"load/case-{i % 25}",
                    "status": "succeeded" if i % 10 else "failed",
                    "started": f"2026-01-01T{n:02d}:00:00+00:00",
                    "params": {"dt": 0.5, "n": i % 7, "writer": n},
                    "metrics": {"energy": [{"value": 1.0 / i, "step": i}]},
                }
                started = time.perf_counter()
                try:
                    answer = client.post(f"{urls[where]}/api/v1/executions", json=body)
                except httpx.HTTPError as e:
                    failed(f"POST {ref}: {e!r}")
                    continue
                took = (time.perf_counter() - started) * 1000
                if answer.status_code != 201:
                    failed(f"POST {ref}: {answer.status_code} {answer.text[:200]}")
                    continue
                with lock:
                    result.writes += 1
                    result.write_ms.append(took)
                    result.written.add(ref)
                    recent.append((ref, int(answer.json()["position"]), where))

    def read(n: int) -> None:
        rng = random.Random(n)
        with httpx.Client(headers=auth, timeout=30) as client:
            while time.monotonic() < deadline:
                with lock:
                    item = recent[-1 - rng.randrange(min(len(recent), 20))] if recent else None
                if item is None:
                    time.sleep(0.01)
                    continue
                ref, position, where = item
                other = urls[(where + 1) % len(urls)]
                if n % 4 == 0:
                    path = "/api/v1/executions?case=load%2Fcase-3&limit=20"
                else:
                    path = f"/api/v1/executions/{ref}"
                started = time.perf_counter()
                try:
                    answer = client.get(
                        f"{other}{path}", headers={"X-Provledger-Min-Position": str(position)}
                    )
                except httpx.HTTPError as e:
                    failed(f"GET {path}: {e!r}")
                    continue
                took = (time.perf_counter() - started) * 1000
                if answer.status_code == 404 and path.endswith(ref):
                    with lock:
                        result.violations.append(f"{ref} at {position} not seen by {other}")
                    continue
                if answer.status_code != 200:
                    failed(f"GET {path}: {answer.status_code} {answer.text[:200]}")
                    continue
                with lock:
                    result.reads += 1
                    result.read_ms.append(took)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    threads += [threading.Thread(target=read, args=(n,)) for n in range(readers)]
    started = time.monotonic()
    for t in threads:
        t.start()
    if midway is not None:
        time.sleep(seconds / 2)
        midway()
    for t in threads:
        t.join()
    result.seconds = time.monotonic() - started
    return result


def wait_until_settled(ledger: Any, archive: Any, timeout: float = 120.0) -> dict[str, int]:
    """Until the worker has applied, persisted and shipped everything (or AssertionError)."""
    import msgspec

    from provledger.adapters.archive import raw_log_of
    from provledger.application.archive_log import state_key
    from provledger.application.persist_records import POSITION_KEY

    raw = raw_log_of(ledger)
    deadline = time.monotonic() + timeout
    while True:
        head = ledger.events.max_position()
        persisted = int(raw.get_state(POSITION_KEY) or 0)
        stored = raw.get_state(state_key(archive))
        shipped = int(msgspec.json.decode(stored)[1]) if stored else 0
        applied = min(_positions(ledger, ("cases", "executions", "search")))
        state = {"head": head, "persisted": persisted, "shipped": shipped, "applied": applied}
        if persisted == shipped == applied == head == ledger.events.max_position():
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"the worker did not settle: {state}")
        time.sleep(0.2)


def _positions(ledger: Any, names: tuple[str, ...]) -> list[int]:
    """The projections' tracked positions, read without catching up (this process must not
    do the worker's job)."""
    datastore = ledger.events.recorder.datastore
    with datastore.transaction(commit=False) as c:
        c.execute("SELECT name, position FROM projection_tracking")
        found = {row["name"]: int(row["position"]) for row in c.fetchall()}
    return [found.get(n, 0) for n in names]
