"""Sync benchmark (issue 7): push and pull of N executions with their files, next to copying
the same files with boto3 (`aws s3 sync`-style: list, then put/get each missing object) in the
same run.

The remote is a real `provledger serve` process on a throwaway Postgres with its archive on a
moto S3 server (127.0.0.1); the local ledger is the embedded SQLite default. Push and pull run
the same code as the CLI (`push()` / `pull()` over the HTTP client).

    python -m benchmarks.bench_sync [--executions 1000] [--mb 100]
    python -m benchmarks.bench_sync --executions 10000 --mb 1024      # the issue's size
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import ROOT, PgCluster
from provledger.adapters.bootstrap import bootstrap
from provledger.adapters.settings import Settings
from provledger.adapters.sync.client import HttpRemote
from provledger.adapters.sync.registry import RemoteConfig
from provledger.adapters.sync.store import DataStore
from provledger.application.ledger import Ledger
from provledger.application.sync.pull import ReadSpec, pull
from provledger.application.sync.push import TRANSFERS, push
from provledger.domain.context import acting_as
from provledger.domain.execution import Execution
from provledger.domain.record import ExecutionRecord, FileRef, Status
from tests.support.s3server import CREDENTIALS, S3Server

CLI = str(Path(sys.executable).with_name("provledger"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _files(root: Path, n: int, size: int) -> list[tuple[Path, str]]:
    root.mkdir(parents=True)
    out = []
    for i in range(n):
        data = os.urandom(size)
        path = root / f"out-{i:06d}.bin"
        path.write_bytes(data)
        out.append((path, hashlib.sha256(data).hexdigest()))
    return out


def _record_and_commit(ledger: Ledger, files: list[tuple[Path, str]], size: int) -> None:
    records = [
        ExecutionRecord(
            execution_id=f"run-{i:06d}",
            case=f"c{i:06d}",
            namespace="bench",
            status=Status.SUCCEEDED,
            params={"i": i},
            outputs=[FileRef(uri=str(path), sha256=sha, size=size, role="out")],
        )
        for i, (path, sha) in enumerate(files)
    ]
    with acting_as(actor="user:bench", ledger=ledger.ledger_id):
        results = ledger.record(records)
        ids = [ledger.execution(r.execution_id).id for r in results]
        for start in range(0, len(ids), 500):  # bulk commit: the CLI commits one chain at a time
            batch = []
            for key in ids[start : start + 500]:
                execution = ledger.events.get(key)
                assert isinstance(execution, Execution)
                execution.trigger_event(execution.Committed)
                batch.append(execution)
            ledger.events.save(*batch)
        ledger.catch_up()


class Server:
    def __init__(self, env: dict[str, str]) -> None:
        self.url = f"http://127.0.0.1:{_free_port()}"
        port = self.url.rsplit(":", 1)[1]
        self.process = subprocess.Popen(
            [
                CLI,
                "serve",
                "--port",
                port,
                "--log-level",
                "warning",
                "--max-body-bytes",
                str(1 << 30),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("provledger serve did not start") from None
                time.sleep(0.2)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _boto3_copy(s3: S3Server, files: list[tuple[Path, str]], out: Path) -> dict[str, float]:
    """The peer: list the bucket, put each missing object, then get them all back; with as
    many transfers in flight as push and pull use (`aws s3 sync` uses 10 by default)."""
    client = s3.client()
    bucket = s3.new_bucket()
    started = time.perf_counter()
    present = {
        o["Key"]
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for o in page.get("Contents", [])
    }

    def put(item: tuple[Path, str]) -> None:
        if f"files/{item[1]}" not in present:
            client.put_object(Bucket=bucket, Key=f"files/{item[1]}", Body=item[0].read_bytes())

    def get(sha: str) -> None:
        body = client.get_object(Bucket=bucket, Key=f"files/{sha}")["Body"].read()
        (out / sha).write_bytes(body)

    with ThreadPoolExecutor(max_workers=TRANSFERS) as pool:
        list(pool.map(put, files))
    up = time.perf_counter() - started
    out.mkdir()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=TRANSFERS) as pool:
        list(pool.map(get, [sha for _, sha in files]))
    return {"upload_s": up, "download_s": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--executions", type=int, default=1000)
    parser.add_argument("--mb", type=float, default=100.0, help="Total size of the files.")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request log lines
    n = args.executions
    size = max(1, int(args.mb * (1 << 20) / n))
    total_mb = n * size / (1 << 20)
    os.environ.update({k: os.environ.get(k, v) for k, v in CREDENTIALS.items()})
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        root = Path(tmp)
        cluster = PgCluster().start()
        s3 = S3Server().start()
        server: Server | None = None
        try:
            env = {k: v for k, v in os.environ.items() if not k.startswith("PROVLEDGER_")}
            env["PROVLEDGER_HOME"] = str(root / "server")
            env["PROVLEDGER_DATABASE_URL"] = cluster.url(cluster.create_database())
            env["PROVLEDGER_ARCHIVE_URL"] = f"s3://{s3.new_bucket()}/ledger"
            env["PROVLEDGER_S3_ENDPOINT_URL"] = s3.endpoint
            made = subprocess.run(
                [CLI, "token", "create", "--scope", "write", "--name", "bench"],
                env=env,
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            ).stdout
            token = next(w for w in made.split() if w.startswith("plt_"))
            server = Server(env)
            print(f"{n} executions, {total_mb:.0f} MB of files ({size} bytes each)", flush=True)
            files = _files(root / "files", n, size)
            laptop = bootstrap(Settings(home=root / "laptop"))
            _record_and_commit(laptop, files, size)
            remote = HttpRemote(RemoteConfig("origin", server.url, token))

            started = time.perf_counter()
            with acting_as(actor="user:bench", ledger=laptop.ledger_id):
                report = push(laptop, remote)
            push_s = time.perf_counter() - started
            assert (report.created, report.files_uploaded) == (n, n), report
            started = time.perf_counter()
            with acting_as(actor="user:bench", ledger=laptop.ledger_id):
                again = push(laptop, remote)
            again_s = time.perf_counter() - started
            assert again.sent == 0

            desk = bootstrap(Settings(home=root / "desk"))
            started = time.perf_counter()
            with acting_as(actor="user:bench", ledger=desk.ledger_id):
                pulled = pull(desk, remote, [ReadSpec("bench/*")], DataStore(root / "desk"))
            pull_s = time.perf_counter() - started
            assert pulled.downloaded == n, pulled

            peer = _boto3_copy(s3, files, root / "peer")
            result: dict[str, Any] = {
                "executions": n,
                "mb": round(total_mb, 1),
                "push_s": round(push_s, 2),
                "push_exec_per_s": round(n / push_s, 1),
                "push_mb_per_s": round(total_mb / push_s, 1),
                "push_again_s": round(again_s, 2),
                "pull_s": round(pull_s, 2),
                "pull_exec_per_s": round(n / pull_s, 1),
                "pull_mb_per_s": round(total_mb / pull_s, 1),
                "boto3_upload_s": round(peer["upload_s"], 2),
                "boto3_download_s": round(peer["download_s"], 2),
                "push_vs_boto3_upload": round(push_s / peer["upload_s"], 2),
                "pull_vs_boto3_download": round(pull_s / peer["download_s"], 2),
            }
            for key, value in result.items():
                print(f"{key:>24}: {value}")
            remote.close()
            laptop.close()
            desk.close()
        finally:
            if server is not None:
                server.stop()
            s3.stop()
            cluster.stop()


if __name__ == "__main__":
    main()
