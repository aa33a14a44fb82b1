"""HTTP API latency under load (issue 3), next to the same query sent straight to Postgres.

With N executions in a durable throwaway Postgres, a `provledger serve` process answers
  1. GET /api/v1/executions/{id}                       (target p99 < 10 ms)
  2. GET /api/v1/executions?case=…&status=…&limit=50    (a filtered list page; target p99 < 30 ms)
  3. GET /api/v1/executions?status=failed&limit=50      (an unselective filter, for contrast)
under load from a second process on loopback (wrk when installed, else an httpx asyncio client).
The peer is the same SQL run straight against Postgres with psycopg in the same run.

    python -m benchmarks.bench_api [--n 100000] [--duration 8] [--connections 1,4,16] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from provledger.adapters.sqlviews.queries import EXECUTION_SUMMARY_COLUMNS

HERE = Path(__file__).resolve().parent
# The peer sends the SQL the server sends (provledger.adapters.sqlviews.queries) for a list page.
SUMMARY = ", ".join(EXECUTION_SUMMARY_COLUMNS)
CLI = str(Path(sys.executable).with_name("provledger"))
WRK_SCRIPT = r"""
local paths = {}
for line in io.lines(os.getenv("PATHS_FILE")) do paths[#paths + 1] = line end
local token = os.getenv("TOKEN")
request = function()
  return wrk.format("GET", paths[math.random(#paths)], {["Authorization"] = "Bearer " .. token})
end
done = function(summary, latency, requests)
  io.write(string.format('{"p50_ms": %f, "p99_ms": %f, "requests": %d, "seconds": %f, ' ..
    '"errors": %d, "non_2xx": %d}\n', latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- the load generator (runs as its own process) ---------------------------------------------
async def _httpx_load(
    url: str, paths: list[str], token: str, seconds: float, conns: int
) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=conns, max_keepalive_connections=conns)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, limits=limits, headers=headers) as client:

        async def worker(seed: int) -> None:
            nonlocal errors
            rng = random.Random(seed)
            while time.perf_counter() < deadline:
                t = time.perf_counter()
                response = await client.get(rng.choice(paths))
                latencies.append(time.perf_counter() - t)
                errors += response.status_code != 200

        start = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(conns)))
        elapsed = time.perf_counter() - start
    return {
        "p50_ms": _pct(latencies, 0.50) * 1e3,
        "p99_ms": _pct(latencies, 0.99) * 1e3,
        "requests": len(latencies),
        "seconds": elapsed,
        "errors": 0,
        "non_2xx": errors,
    }


def client_main(args: argparse.Namespace) -> None:
    paths = Path(args.paths_file).read_text().split()
    if shutil.which("wrk") and not args.httpx:
        script = Path(args.paths_file).with_suffix(".lua")
        script.write_text(WRK_SCRIPT)
        done = subprocess.run(
            ["wrk", "-t", "1", "-c", str(args.connections), "-d", f"{args.duration}s",
             "-s", str(script), args.url],
            env={**os.environ, "PATHS_FILE": args.paths_file, "TOKEN": args.token},
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result["tool"] = "wrk"
    else:
        result = asyncio.run(
            _httpx_load(args.url, paths, args.token, args.duration, int(args.connections))
        )
        result["tool"] = "httpx"
    print(json.dumps(result))


# -- the driver -------------------------------------------------------------------------------
def _load(settings: object, n: int, cases: int) -> float:
    from benchmarks.workload import batches
    from provledger.adapters.bootstrap import bootstrap

    ledger = bootstrap(settings)
    start = time.perf_counter()
    done = 0
    try:
        for batch in batches(n, 1000, cases):
            ledger.record(batch)
            done += len(batch)
            if done % 50_000 == 0:
                print(f"  loaded {done:,} ({done / (time.perf_counter() - start):,.0f}/s)")
    finally:
        ledger.close()
    return time.perf_counter() - start


def _sql_peer(conninfo: str, queries: list[tuple[str, list[object]]], reps: int) -> dict[str, Any]:
    import psycopg

    latencies = []
    rng = random.Random(7)
    with psycopg.connect(conninfo) as conn:
        for _ in range(reps):
            sql, params = rng.choice(queries)
            t = time.perf_counter()
            conn.execute(sql, params).fetchall()
            latencies.append(time.perf_counter() - t)
    return {"p50_ms": _pct(latencies, 0.5) * 1e3, "p99_ms": _pct(latencies, 0.99) * 1e3}


def _run_client(url: str, paths: list[str], token: str, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".paths", delete=False) as f:
        f.write("\n".join(paths))
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_api", "--client", "--url", url,
         "--paths-file", f.name, "--token", token, "--duration", str(args.duration),
         "--connections", str(args.connections), *(["--httpx"] if args.httpx else [])],
        capture_output=True, text=True, check=True, cwd=HERE.parent,
    )  # fmt: skip
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main(args: argparse.Namespace) -> None:
    from benchmarks.workload import make
    from provledger.adapters.settings import Settings
    from tests.support.pgcluster import PgCluster

    cases = max(1, args.n // 100)
    cluster = PgCluster(durable=True).start()
    server = None
    try:
        db = cluster.create_database("bench")
        home = Path(tempfile.mkdtemp(prefix="provledger-bench-"))
        settings = Settings(home=home, database_url=cluster.url(db), batch_size=1000, pool_size=10)
        print(f"loading {args.n:,} executions in {cases:,} cases into Postgres …")
        seconds = _load(settings, args.n, cases)
        print(f"  {args.n / seconds:,.0f} executions/s ({seconds:.0f} s)")

        env = {**os.environ, "PROVLEDGER_HOME": str(home),
               "PROVLEDGER_DATABASE_URL": settings.database_url or "",
               "PROVLEDGER_POOL_SIZE": "10"}  # fmt: skip
        token = subprocess.run(
            [CLI, "token", "create", "--scope", "read", "--name", "bench"],
            env=env, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        port = _free_port()
        server = subprocess.Popen(
            [CLI, "serve", "--port", str(port), "--workers", str(args.workers),
             "--log-level", "warning"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        _wait(url)

        rng = random.Random(1)
        sample = [make(rng.randrange(args.n), cases) for _ in range(2000)]
        by_id = [f"/api/v1/executions/{r.execution_id}" for r in sample]
        by_case = [
            f"/api/v1/executions?case={r.namespace}/{r.case}&status=succeeded&limit=50"
            for r in sample
        ]
        scenarios = {
            "GET /executions/{id}": (by_id, 10.0),
            "GET /executions?case=&status= (page of 50)": (by_case, 30.0),
            "GET /executions?status=failed (page of 50)": (
                ["/api/v1/executions?status=failed&limit=50"], 30.0),
        }  # fmt: skip
        peer_sql = {
            "GET /executions/{id}": [
                ("SELECT * FROM executions WHERE execution_id = %s ORDER BY namespace",
                 [r.execution_id]) for r in sample[:200]
            ],
            "GET /executions?case=&status= (page of 50)": [
                (f"SELECT {SUMMARY} FROM executions WHERE case_id = (SELECT case_id FROM cases "
                 "WHERE namespace = %s AND name = %s) AND status = 'succeeded' "
                 "ORDER BY sort_started, id LIMIT 51", [r.namespace, r.case])
                for r in sample[:200]
            ],
            "GET /executions?status=failed (page of 50)": [
                (f"SELECT {SUMMARY} FROM executions WHERE status = 'failed' "
                 "ORDER BY sort_started, id LIMIT 51", [])
            ],
        }  # fmt: skip
        levels = [int(c) for c in str(args.connections).split(",")]
        for name, (paths, target) in scenarios.items():
            warm = argparse.Namespace(**{**vars(args), "duration": 2, "connections": levels[0]})
            _run_client(url, paths[:50], token, warm)
            sql = _sql_peer(cluster.conninfo(db), peer_sql[name], 300)
            print(f"{name} (target p99 < {target:g} ms)")
            for level in levels:
                run = argparse.Namespace(**{**vars(args), "connections": level})
                api = _run_client(url, paths, token, run)
                print(
                    f"    {level:3d} connections: p50 {api['p50_ms']:.2f} ms, "
                    f"p99 {api['p99_ms']:.2f} ms "
                    f"({'met' if api['p99_ms'] < target else 'MISSED'}), "
                    f"{api['requests'] / api['seconds']:,.0f} req/s, "
                    f"non-2xx {api['non_2xx']}, errors {api['errors']} [{api['tool']}]"
                )
            print(
                f"    peer, same SQL straight to Postgres (1 connection): p50 "
                f"{sql['p50_ms']:.2f} ms, p99 {sql['p99_ms']:.2f} ms"
            )
    finally:
        if server is not None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        cluster.stop()


def _wait(url: str) -> None:
    import httpx

    for _ in range(300):
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("provledger serve did not start")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, default=100_000, help="executions to load (issue: 1000000)")
    p.add_argument("--duration", type=int, default=8, help="seconds of load per scenario")
    p.add_argument("--connections", default="1,4,16", help="comma-separated levels")
    p.add_argument("--workers", type=int, default=1, help="server processes")
    p.add_argument("--httpx", action="store_true", help="use the httpx client even if wrk exists")
    p.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    p.add_argument("--paths-file", help=argparse.SUPPRESS)
    p.add_argument("--token", help=argparse.SUPPRESS)
    return p.parse_args(argv)


if __name__ == "__main__":
    arguments = parse()
    if arguments.client:
        client_main(arguments)
    else:
        main(arguments)
