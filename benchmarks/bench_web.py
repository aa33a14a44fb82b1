"""Web UI page time next to the JSON API for the same data (issue 14), on Postgres.

With N executions loaded (benchmarks/workload.py, through bench_api's loader) and a training
case of two runs with 10k metric points each, one `provledger serve` process answers, one
request at a time over loopback (the time is what the server takes, plus loopback):
  1. the cases page `/` (50 cases)              vs GET /api/v1/cases?limit=50
  2. a case page (its executions, 100)          vs GET /api/v1/executions?case=…&limit=100
  3. an execution page with 10k metric points   vs GET /executions/{id} + /record + /history
  4. the compare page of the two 10k-point runs vs GET /executions/{a}/diff/{b} + both /record
Each API peer is the set of calls that returns the data the page shows. Target: each page's
p99 < 2x its peer's p99.

    python -m benchmarks.bench_web [--n 20000] [--reps 200]
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.bench_api import CLI, _free_port, _load, _pct, _wait


def _training(home: Path, env: dict[str, str]) -> None:
    import json

    folder = home.parent / "training"
    folder.mkdir(exist_ok=True)
    for n in (1, 2):
        loss = [
            {"value": 2 * math.exp(-s / (1500 * n)) + 0.01 * math.sin(s), "step": s}
            for s in range(10_000)
        ]
        record = {
            "execution_id": f"train-{n}",
            "case": "bench/training",
            "group": "training",
            "status": "succeeded",
            "started": f"2026-03-0{n}T00:00:00Z",
            "ended": f"2026-03-0{n}T01:00:00Z",
            "spec": {"resolved": {"optimizer": {"lr": 0.01 * n}, "layers": 4}},
            "params": {"lr": 0.01 * n},
            "metrics": {"loss": loss},
        }
        (folder / f"train-{n}.record.json").write_text(json.dumps(record))
    subprocess.run([CLI, "ingest", str(folder)], env=env, check=True, capture_output=True)


def _time(client: httpx.Client, paths: list[str], reps: int) -> list[float]:
    """ms per repetition, all `paths` fetched in turn (a page's peer may be several calls)."""
    for path in paths:  # warm up
        client.get(path).raise_for_status()
    out = []
    for _ in range(reps):
        start = time.perf_counter()
        for path in paths:
            answer = client.get(path)
            if answer.status_code != 200:
                raise RuntimeError(f"{path}: {answer.status_code} {answer.text[:200]}")
        out.append((time.perf_counter() - start) * 1000)
    return out


def main(args: argparse.Namespace) -> None:
    from benchmarks.workload import make
    from provledger.adapters.settings import Settings
    from tests.support.pgcluster import PgCluster

    cases = max(1, args.n // 100)
    cluster = PgCluster(durable=True).start()
    server = None
    try:
        db = cluster.create_database("bench")
        home = Path(tempfile.mkdtemp(prefix="provledger-bench-web-")) / "home"
        settings = Settings(home=home, database_url=cluster.url(db), batch_size=1000, pool_size=10)
        print(f"loading {args.n:,} executions in {cases:,} cases into Postgres …")
        seconds = _load(settings, args.n, cases)
        print(f"  {args.n / seconds:,.0f} executions/s ({seconds:.0f} s)")
        env = {
            **os.environ,
            "PROVLEDGER_HOME": str(home),
            "PROVLEDGER_DATABASE_URL": settings.database_url or "",
        }
        _training(home, env)
        token = subprocess.run(
            [CLI, "token", "create", "--scope", "read", "--name", "bench"],
            env=env, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        port = _free_port()
        server = subprocess.Popen(
            [CLI, "serve", "--port", str(port), "--log-level", "warning"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        _wait(url)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            sample = make(cases // 2, cases)
            key = f"{sample.namespace}/{sample.case}"
            ids = {
                e["execution_id"]: e["id"]
                for e in client.get("/api/v1/executions?case=bench/training").json()["items"]
            }
            a, b = ids["train-1"], ids["train-2"]
            scenarios = {
                "cases page (50 of {cases})": (["/"], ["/api/v1/cases?limit=50"]),
                "case page (100 executions)": (
                    [f"/cases/{key}"],
                    [f"/api/v1/executions?case={key}&limit=100"],
                ),
                "execution page (10k metric points)": (
                    [f"/executions/{a}"],
                    [
                        f"/api/v1/executions/{a}",
                        f"/api/v1/executions/{a}/record",
                        f"/api/v1/executions/{a}/history",
                    ],
                ),
                "compare page (2 runs, 10k points each)": (
                    [f"/compare?ids={a},{b}"],
                    [
                        f"/api/v1/executions/{a}/diff/{b}",
                        f"/api/v1/executions/{a}/record",
                        f"/api/v1/executions/{b}/record",
                    ],
                ),
            }
            print(f"one request at a time, {args.reps} repetitions each (p50 / p99, ms)")
            for name, (page, api) in scenarios.items():
                reps = args.reps if "10k" not in name else max(20, args.reps // 4)
                page_ms = _time(client, page, reps)
                api_ms = _time(client, api, reps)
                p99_page, p99_api = _pct(page_ms, 0.99), _pct(api_ms, 0.99)
                ratio = p99_page / p99_api
                print(
                    f"  {name.format(cases=cases)}: page {_pct(page_ms, 0.5):.1f} / "
                    f"{p99_page:.1f}; API {_pct(api_ms, 0.5):.1f} / {p99_api:.1f} "
                    f"({len(api)} call{'s' if len(api) > 1 else ''}); "
                    f"page p99 = {ratio:.2f}x API p99 ({'met' if ratio < 2 else 'MISSED'})"
                )
    finally:
        if server is not None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        cluster.stop()


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, default=20_000, help="executions to load (issue: 1000000)")
    p.add_argument("--reps", type=int, default=200, help="requests per scenario")
    return p.parse_args(argv)


if __name__ == "__main__":
    main(parse())
