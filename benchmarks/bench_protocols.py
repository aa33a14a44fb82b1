"""The protocols users already emit, measured next to their peer in one run.

MLflow: the real MLflow client (`MlflowClient`, its own virtualenv) logs the same runs, each
create_run + one log_batch (24 params, 5 metric points, 1 tag) + set_terminated, to a real
`mlflow server` (Postgres backend store) and to `provledger serve` (Postgres), both one server
process on the same throwaway cluster. Reported: runs/s and p50/p99 of log_batch, and the
ratios (target: provledger >= 3x MLflow's server).

OpenLineage: START + COMPLETE RunEvents posted by the real openlineage-python client
(HttpTransport) to `POST /api/v1/lineage`, from one and from four client processes: events/s
accepted, and the four-to-one ratio. No OpenLineage server is installable here to be a peer.

    .venv/bin/python -m benchmarks.bench_protocols [--runs 300] [--events 400]

The full `mlflow` package (the server needs Flask and friends, which mlflow-skinny lacks) is
installed once into `.mlflow-venv-server` beside the repository (`--mlflow-venv` to choose).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


# -- children (run by other interpreters: import nothing of provledger) -----------------------
def mlflow_client(url: str, runs: int, budget_s: float) -> None:
    """Run by the MLflow venv's python: log `runs` runs, time each log_batch."""
    import random

    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=url)
    experiment = client.create_experiment(f"bench-{time.time_ns()}")
    batch_ms: list[float] = []
    done = 0
    start = time.perf_counter()
    for i in range(runs):
        rng = random.Random(i)
        run = client.create_run(experiment, tags={"campaign": f"c{i % 11}"})
        now = int(time.time() * 1000)
        t0 = time.perf_counter()
        client.log_batch(
            run.info.run_id,
            params=[Param(f"param_{k}", str(rng.random())) for k in range(24)],
            metrics=[Metric("sypd", rng.uniform(1, 30), now, s) for s in range(3)]
            + [
                Metric("throughput", rng.uniform(100, 900), now, 0),
                Metric("cost_pe_hrs", rng.uniform(1e3, 1e5), now, 0),
            ],
            tags=[RunTag("experiment", "historical")],
        )
        batch_ms.append((time.perf_counter() - t0) * 1000)
        client.set_terminated(run.info.run_id, "FINISHED")
        done += 1
        if time.perf_counter() - start > budget_s:
            break
    elapsed = time.perf_counter() - start
    batch_ms.sort()
    print(
        "RESULT "
        + json.dumps(
            {
                "runs": done,
                "seconds": elapsed,
                "runs_per_s": done / elapsed,
                "p50_ms": batch_ms[len(batch_ms) // 2],
                "p99_ms": batch_ms[min(len(batch_ms) - 1, int(len(batch_ms) * 0.99))],
            }
        ),
        flush=True,
    )


def lineage_client(url: str, token: str, runs: int, seed: int) -> None:
    """Post START + COMPLETE for `runs` runs through the real HttpTransport."""
    from datetime import UTC, datetime

    from openlineage.client import OpenLineageClient
    from openlineage.client.event_v2 import (
        InputDataset,
        Job,
        OutputDataset,
        Run,
        RunEvent,
        RunState,
    )
    from openlineage.client.transport.http import HttpConfig, HttpTransport
    from openlineage.client.uuid import generate_new_uuid

    config = HttpConfig.from_dict({"url": url, "auth": {"type": "api_key", "apiKey": token}})
    client = OpenLineageClient(transport=HttpTransport(config))
    start = time.perf_counter()
    sent = 0
    for i in range(runs):
        run = Run(runId=str(generate_new_uuid()))
        job = Job(namespace="bench", name=f"job-{seed}-{i % 20}")
        source = InputDataset(namespace="s3://raw", name=f"part-{i % 50}.csv")
        table = OutputDataset(namespace="postgres://db:5432", name=f"w.t{seed}_{i}")
        for state in (RunState.START, RunState.COMPLETE):
            client.emit(
                RunEvent(
                    eventType=state,
                    eventTime=datetime.now(UTC).isoformat(),
                    run=run,
                    job=job,
                    producer="https://example.com/bench",
                    inputs=[source],
                    outputs=[table],
                )
            )
            sent += 1
    elapsed = time.perf_counter() - start
    print("RESULT " + json.dumps({"events": sent, "seconds": elapsed}), flush=True)


# -- the driver ---------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, process: subprocess.Popen[bytes], what: str) -> None:
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited: {process.returncode}")
    raise RuntimeError(f"{what} did not start in 120 s")


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _result(proc: subprocess.CompletedProcess[str], what: str) -> dict[str, Any]:
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[7:]))
    raise RuntimeError(f"{what} failed:\n{proc.stderr[-3000:]}")


def _server_venv(path: Path) -> Path:
    python = path / "bin" / "python"
    check = [str(python), "-c", "import mlflow.server, psycopg"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    print(f"installing mlflow (full, for `mlflow server`) into {path} …", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
         "mlflow>=3,<4", "psycopg[binary]>=3.1,<4"],
        check=True,
    )  # fmt: skip
    return python


def main(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.support.mlflow_venv import venv_dir
    from tests.support.pgcluster import PgCluster

    server_python = _server_venv(Path(args.mlflow_venv))
    client_python = venv_dir() / "bin" / "python"
    if not client_python.exists():
        client_python = server_python
    cli = str(Path(sys.executable).with_name("provledger"))
    cluster = PgCluster(durable=True).start()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        mlflow_db = cluster.url(cluster.create_database("mlflow"))
        ledger_db = cluster.url(cluster.create_database("ledger"))
        work = Path(tempfile.mkdtemp(prefix="provledger-bench-protocols-"))

        mlflow_port = _free_port()
        store = "postgresql+psycopg://" + mlflow_db.removeprefix("postgresql://")
        mlflow_env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        mlflow_server = subprocess.Popen(
            [str(server_python), "-m", "mlflow", "server", "--backend-store-uri", store,
             "--artifacts-destination", str(work / "mlartifacts"), "--host", "127.0.0.1",
             "--port", str(mlflow_port), "--workers", "1"],
            env=mlflow_env, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        processes.append(mlflow_server)

        env = {k: v for k, v in os.environ.items() if not k.startswith(("PROVLEDGER_", "MLFLOW_"))}
        env.update(PROVLEDGER_HOME=str(work / "home"), PROVLEDGER_DATABASE_URL=ledger_db)
        token = subprocess.run(
            [cli, "token", "create", "--scope", "write", "--name", "bench"],
            env=env, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        port = _free_port()
        ledger_server = subprocess.Popen(
            [cli, "serve", "--port", str(port), "--log-level", "warning"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        processes.append(ledger_server)
        ours, theirs = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{mlflow_port}"
        _wait(ours, ledger_server, "provledger serve")
        _wait(theirs, mlflow_server, "mlflow server")

        results: dict[str, dict[str, Any]] = {}
        for name, url, extra in (("mlflow server", theirs, {}), ("provledger serve", ours, {
            "MLFLOW_TRACKING_TOKEN": token})):  # fmt: skip
            child_env = {**mlflow_env, **extra}
            for budget in (5.0, args.seconds):  # a warm-up, then the measured run
                proc = subprocess.run(
                    [str(client_python), str(Path(__file__)), "--mlflow-client", url,
                     str(args.runs if budget > 5 else 20), str(budget)],
                    env=child_env, capture_output=True, text=True, timeout=3600,
                )  # fmt: skip
                results[name] = _result(proc, f"mlflow client against {name}")
            r = results[name]
            print(
                f"MLflow client -> {name}: {r['runs']} runs in {r['seconds']:.1f} s, "
                f"{r['runs_per_s']:.1f} runs/s; log_batch p50 {r['p50_ms']:.1f} ms, "
                f"p99 {r['p99_ms']:.1f} ms",
                flush=True,
            )
        a, b = results["provledger serve"], results["mlflow server"]
        print(
            f"  ratio provledger/mlflow: runs/s x{a['runs_per_s'] / b['runs_per_s']:.2f} "
            f"(target >= 3), log_batch p99 x{b['p99_ms'] / a['p99_ms']:.2f} lower"
        )

        rates = {}
        for clients in (1, 4):
            per = max(1, args.events // (2 * clients))
            started = time.perf_counter()
            procs = [
                subprocess.Popen(
                    [
                        sys.executable,
                        str(Path(__file__)),
                        "--lineage-client",
                        ours,
                        token,
                        str(per),
                        str(k),
                    ],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for k in range(clients)
            ]
            outs = [p.communicate(timeout=3600) for p in procs]
            wall = time.perf_counter() - started
            events, busy = 0, 0.0
            for p, (out, err) in zip(procs, outs, strict=True):
                done = _result(subprocess.CompletedProcess(p.args, 0, out, err), "ol")
                events += done["events"]
                busy = max(busy, done["seconds"])
            rates[clients] = events / busy  # from each client's first send to its last
            print(f"OpenLineage RunEvents, {clients} client(s): {events} in {busy:.1f} s "
                  f"({wall:.1f} s with interpreter start-up), "
                  f"{rates[clients]:.0f} events/s accepted")  # fmt: skip
        print(f"  ratio 4 clients / 1 client: x{rates[4] / rates[1]:.2f}")
    finally:
        for process in processes:
            _stop(process)
        cluster.stop()


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--runs", type=int, default=300, help="MLflow runs per server")
    p.add_argument("--seconds", type=float, default=60.0, help="time budget per server")
    p.add_argument("--events", type=int, default=2000, help="OpenLineage events per level")
    p.add_argument("--mlflow-venv", default=str(ROOT / ".mlflow-venv-server"))
    return p.parse_args(argv)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--mlflow-client":
        mlflow_client(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--lineage-client":
        lineage_client(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        main(parse())
