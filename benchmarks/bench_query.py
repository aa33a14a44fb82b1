"""Issue 13 benchmark: the query language and lineage at scale on Postgres.

With N executions of the benchmark workload (benchmarks/workload.py) in a durable throwaway
Postgres, a `provledger serve` process answers
  1. GET /api/v1/executions?where=params.param_3 = V                  (one param comparison)
  2. GET /api/v1/executions?where=metrics.sypd > 29.9                  (one metric comparison)
  3. GET /api/v1/executions?where=params.param_3 = V and metrics.sypd > 1   (the two combined)
  + a param range and a condition that half of the executions match, for contrast
  4. GET /api/v1/executions/{id}/lineage?direction=up&depth=10 for the last execution of a
     chain of 10 (each used the file the one before made), and GET /api/v1/files/{sha256}
(target p99 < 50 ms). Peers, measured in the same run on the same Postgres: the very SQL the
server sends, run straight with psycopg; and MLflow's `search_runs` with the same filters over
1,000 runs holding the same params and metrics (target: provledger at N >= 10x faster).

    python -m benchmarks.bench_query [--n 1000000] [--load-budget 900] [--reps 200]

Loading stops at the first batch boundary past --load-budget seconds (the measured rates say
what a full load would take); the figures are for what was loaded.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.bench_api import CLI, _free_port, _pct, _wait
from benchmarks.common import ROOT, PgCluster, child
from provledger.adapters.sqlviews import where as compiler

PARAM = "param_3"
MAX_SECONDS = 60.0  # per timed loop: a slow scenario stops after this (20 reps at least)


def _load(settings: Any, n: int, cases: int, budget: float) -> dict[str, Any]:
    """bench_api's loader (record in batches of 1000, each caught up by the projections),
    stopped at the first batch past `budget` seconds."""
    from benchmarks.workload import batches
    from provledger.adapters.bootstrap import bootstrap

    ledger = bootstrap(settings)
    start = time.perf_counter()
    done = 0
    try:
        for batch in batches(n, 1000, cases):
            ledger.record(batch)
            done += len(batch)
            elapsed = time.perf_counter() - start
            if done % 50_000 == 0:
                print(f"  loaded {done:,} ({done / elapsed:,.0f}/s)", flush=True)
            if elapsed > budget and done < n:
                print(f"  load budget of {budget:.0f} s spent: stopping at {done:,}", flush=True)
                break
    finally:
        ledger.close()
    seconds = time.perf_counter() - start
    return {"wanted": n, "loaded": done, "seconds": seconds, "executions_per_s": done / seconds}


def _chain(settings: Any, depth: int) -> tuple[str, str]:
    """`depth` executions, each using the file the one before made; (the last one's uuid,
    the sha256 of the file it made)."""
    from provledger.adapters.bootstrap import bootstrap
    from provledger.domain.record import ExecutionRecord, FileRef

    def sha(k: int) -> str:
        return hashlib.sha256(f"chain-{k}".encode()).hexdigest()

    records = [
        ExecutionRecord(
            execution_id=f"step-{k}",
            case="chain",
            inputs=[FileRef(f"/chain/{k - 1}.nc", sha256=sha(k - 1))] if k else [],
            outputs=[FileRef(f"/chain/{k}.nc", sha256=sha(k))],
        )
        for k in range(depth)
    ]
    ledger = bootstrap(settings)
    try:
        ledger.record(records)  # a database measured again has them: recorded once
        last = ledger.queries.execution(f"default/chain/step-{depth - 1}")
        assert last is not None
    finally:
        ledger.close()
    return str(last["id"]), sha(depth - 1)


def _scenarios(loaded: int) -> dict[str, dict[str, Any]]:
    """Each: provledger `where` strings and (when MLflow can say it) MLflow filter strings,
    one picked per request; the values are those of executions 0..999, which MLflow holds too."""
    from benchmarks.workload import make

    rng = random.Random(3)
    values = [make(rng.randrange(min(loaded, 1000))).params[PARAM] for _ in range(50)]
    return {
        "param =": {
            "where": [f"params.{PARAM} = {v!r}" for v in values],
            "mlflow": [f"params.{PARAM} = '{v!r}'" for v in values],
        },
        "metric >": {"where": ["metrics.sypd > 29.9"], "mlflow": ["metrics.sypd > 29.9"]},
        "param = and metric >": {
            "where": [f"params.{PARAM} = {v!r} and metrics.sypd > 1" for v in values],
            "mlflow": [f"params.{PARAM} = '{v!r}' and metrics.sypd > 1" for v in values],
        },
        # MLflow compares params as text only (=, !=, LIKE, IN): no peer for these two.
        "param < (range)": {"where": [f"params.{PARAM} < 0.001"], "mlflow": []},
        "config = (half match)": {"where": ["config.compiler = gnu"], "mlflow": []},
    }


def _captured_sql(
    settings: Any, wheres: list[str], probe: bool | None = None
) -> list[tuple[str, list[Any]]]:
    """The SQL (and parameters) the server sends for each `where`: SqlQueries' own, captured.
    `probe` True or False: the SQL of that form of the conditions (where.py PROBE) instead."""
    from provledger.adapters.bootstrap import bootstrap
    from provledger.domain.query import parse

    default = dict(compiler.PROBE)
    if probe is not None:
        compiler.PROBE["postgres"] = probe

    ledger = bootstrap(settings)
    queries: Any = ledger.queries  # SqlQueries, whose _all is spied on
    captured: list[tuple[str, list[Any]]] = []
    original = queries._all

    def spy(table: Any, sql: str, params: list[Any]) -> list[Any]:
        captured.append((queries.dialect.sql(sql), list(params)))
        rows: list[Any] = original(table, sql, params)
        return rows

    queries._all = spy
    try:
        for where in wheres:
            queries.list_executions(query=parse(where), limit=100, summary=True)
    finally:
        ledger.close()
        compiler.PROBE.update(default)
    return captured


def _time_sql(conninfo: str, statements: list[tuple[str, list[Any]]], reps: int) -> dict[str, Any]:
    import psycopg

    latencies, rows = [], 0
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(*statements[0]).fetchall()  # warm
        deadline = time.perf_counter() + MAX_SECONDS
        for i in range(reps):
            if i >= 20 and time.perf_counter() > deadline:
                break  # slow enough that the reps so far tell (ratios use percentiles)
            sql, params = statements[i % len(statements)]
            t = time.perf_counter()
            rows += len(conn.execute(sql, params).fetchall())
            latencies.append(time.perf_counter() - t)
    return {
        "p50_ms": _pct(latencies, 0.5) * 1e3,
        "p99_ms": _pct(latencies, 0.99) * 1e3,
        "mean_rows": rows / len(latencies),
        "reps": len(latencies),
    }


def _plan(conninfo: str, sql: str, params: list[Any]) -> list[str]:
    """EXPLAIN ANALYZE of one statement: which indexes answered it (kept in the results)."""
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as conn:
        return [row[0] for row in conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)]


def _time_http(client: Any, paths: list[str], reps: int) -> dict[str, Any]:
    for path in paths[:20]:  # warm
        client.get(path)
    latencies, rows, bad = [], 0, 0
    deadline = time.perf_counter() + MAX_SECONDS
    for i in range(reps):
        if i >= 20 and time.perf_counter() > deadline:
            break
        path = paths[i % len(paths)]
        t = time.perf_counter()
        response = client.get(path)
        latencies.append(time.perf_counter() - t)
        if response.status_code != 200:
            bad += 1
            continue
        body = response.json()
        rows += len(body.get("items", body.get("nodes", [])))
    return {
        "p50_ms": _pct(latencies, 0.5) * 1e3,
        "p99_ms": _pct(latencies, 0.99) * 1e3,
        "mean_rows": rows / len(latencies),
        "non_200": bad,
        "reps": len(latencies),
    }


def _mlflow(url: str, scenarios: dict[str, dict[str, Any]], runs: int, reps: int) -> Any:
    from benchmarks.bench_record import mlflow_python
    from benchmarks.workload import make

    python = mlflow_python()
    if python is None:
        return None
    import psycopg

    name = f"mlflow_{time.time_ns()}"
    with psycopg.connect(url, autocommit=True) as conn:  # on the same server
        conn.execute(f'CREATE DATABASE "{name}"')
    # postgresql://postgres@/bench?host=…&port=… -> the new database, through psycopg2
    head, _, query = url.partition("?")
    uri = f"postgresql+psycopg2://{head.split('://', 1)[1].rsplit('/', 1)[0]}/{name}?{query}"
    records = [make(i) for i in range(runs)]
    spec = {
        "runs": [
            {
                "params": {k: repr(v) for k, v in record.params.items()},
                "metrics": [
                    [name, p.value, p.step if p.step is not None else 0]
                    for name, points in record.metrics.items()
                    for p in points
                ],
            }
            for record in records
        ],
        "filters": {name: s["mlflow"] for name, s in scenarios.items() if s["mlflow"]},
        "reps": reps,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(spec, f)
    try:
        return child("benchmarks.mlflow_search_worker", uri, f.name, python=python)
    finally:
        os.unlink(f.name)


def main(args: argparse.Namespace) -> None:
    import httpx

    global MAX_SECONDS
    MAX_SECONDS = args.max_seconds
    from provledger.adapters.settings import Settings

    results: dict[str, Any] = {"n": args.n}
    # --database-url: measure again over a database an earlier run loaded (no load, no cluster).
    cluster = None if args.database_url else PgCluster(durable=True).start()
    server = None
    try:
        home = Path(tempfile.mkdtemp(prefix="provledger-bench-"))
        url = args.database_url or cluster.url(cluster.create_database("bench"))  # type: ignore[union-attr]
        settings = Settings(home=home, database_url=url, batch_size=1000, pool_size=4)
        import psycopg

        if cluster is not None:
            cases = max(1, args.n // 100)
            print(f"loading up to {args.n:,} executions in {cases:,} cases …", flush=True)
            results["load"] = load = _load(settings, args.n, cases, args.load_budget)
            rate = f"{load['executions_per_s']:,.0f} executions/s (record + catch-up)"
            print(f"  {load['loaded']:,} in {load['seconds']:.0f} s: {rate}", flush=True)
            chain_ref, chain_sha = _chain(settings, args.depth)
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")  # what autovacuum would have done by now
        else:
            with psycopg.connect(url) as conn:
                count = conn.execute("SELECT count(*) FROM executions").fetchone()[0]  # type: ignore[index]
            loaded = count - args.depth  # the chain aside
            load = {"wanted": loaded, "loaded": loaded, "seconds": 0.0, "executions_per_s": 0.0}
            results["load"] = {**load, "reused": url}
            chain_ref, chain_sha = _chain(settings, args.depth)
        with psycopg.connect(url, autocommit=True) as conn:
            sizes = conn.execute(
                "SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relkind = 'r' "
                "AND relname LIKE 'execution%%'"
            ).fetchall()
        results["table_mb"] = {name: size / 1e6 for name, size in sizes}
        conninfo = url

        scenarios = _scenarios(load["loaded"])
        env = {**os.environ, "PROVLEDGER_HOME": str(home),
               "PROVLEDGER_DATABASE_URL": settings.database_url or "",
               "PROVLEDGER_POOL_SIZE": "4"}  # fmt: skip
        token = subprocess.run(
            [CLI, "token", "create", "--scope", "read", "--name", f"bench-{time.time_ns()}"],
            env=env, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        port = _free_port()
        server = subprocess.Popen(
            [CLI, "serve", "--port", str(port), "--log-level", "warning"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        api_url = f"http://127.0.0.1:{port}"
        _wait(api_url)
        headers = {"Authorization": f"Bearer {token}"}
        results["query"] = {}
        with httpx.Client(base_url=api_url, headers=headers, timeout=60) as client:
            for name, scenario in scenarios.items():
                paths = [
                    "/api/v1/executions?" + httpx.QueryParams({"where": w, "limit": 100}).__str__()
                    for w in scenario["where"]
                ]
                api = _time_http(client, paths, args.reps)
                statements = _captured_sql(settings, scenario["where"])
                sql = _time_sql(conninfo, statements, args.reps)
                sql["plan"] = _plan(conninfo, *statements[0])
                # The other form of the same conditions (IN or EXISTS probe), SQL only.
                other = not compiler.PROBE["postgres"]
                other_statements = _captured_sql(settings, scenario["where"], other)
                alt = _time_sql(conninfo, other_statements, args.reps)
                alt["plan"] = _plan(conninfo, *other_statements[0])
                alt["probe"] = other
                results["query"][name] = {"api": api, "sql": sql, "other_form": alt}
                print(f"  {name}: API p99 {api['p99_ms']:.1f} ms, SQL p99 {sql['p99_ms']:.1f} ms",
                      flush=True)  # fmt: skip
            lineage = f"/api/v1/executions/{chain_ref}/lineage?direction=up&depth={args.depth}"
            results["lineage"] = {
                "api": _time_http(client, [lineage], args.reps),
                "files_api": _time_http(client, [f"/api/v1/files/{chain_sha}"], args.reps),
                "direct": _lineage_direct(settings, chain_ref, args.depth, args.reps),
            }
        results["mlflow"] = _mlflow(url, scenarios, args.mlflow_runs, args.mlflow_reps)
    finally:
        if server is not None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        if cluster is not None:
            cluster.stop()
    report(results)


def _lineage_direct(settings: Any, ref: str, depth: int, reps: int) -> dict[str, Any]:
    """The same lineage walk in this process: the same SqlQueries reads, straight to Postgres."""
    from provledger.adapters.bootstrap import bootstrap
    from provledger.application.lineage import execution_lineage

    ledger = bootstrap(settings)
    try:
        execution = ledger.queries.execution(ref)
        assert execution is not None
        latencies, nodes = [], 0
        for _ in range(reps):
            t = time.perf_counter()
            graph = execution_lineage(ledger.queries, execution["id"], "up", depth)
            latencies.append(time.perf_counter() - t)
            nodes = len(graph.nodes)
    finally:
        ledger.close()
    return {"p50_ms": _pct(latencies, 0.5) * 1e3, "p99_ms": _pct(latencies, 0.99) * 1e3,
            "nodes": nodes}  # fmt: skip


def report(r: dict[str, Any]) -> None:
    load = r["load"]
    n = load["loaded"]
    lines = [
        f"Query language and lineage on Postgres, {n:,} executions loaded"
        + (f" (of {load['wanted']:,} asked: the load budget ran out)" if n < load["wanted"] else "")
        + (
            f"; load {load['executions_per_s']:,.0f} executions/s (record + catch-up), "
            f"{load['seconds']:.0f} s"
            if "reused" not in load
            else " (by an earlier run: measured again over its database)"
        ),
        "  tables: " + ", ".join(f"{k} {v:.0f} MB" for k, v in sorted(r["table_mb"].items())),
    ]
    mlflow = (r.get("mlflow") or {}).get("filters", {})
    for name, q in r["query"].items():
        api, sql = q["api"], q["sql"]
        line = (
            f"  where {name}: API p50 {api['p50_ms']:.1f} ms, p99 {api['p99_ms']:.1f} ms "
            f"({'met' if api['p99_ms'] < 50 else 'MISSED'} < 50 ms; {api['mean_rows']:.0f} rows, "
            f"non-200 {api['non_200']}); same SQL straight: p50 {sql['p50_ms']:.1f} ms, p99 "
            f"{sql['p99_ms']:.1f} ms -> API/SQL {api['p50_ms'] / sql['p50_ms']:.1f}x at p50"
        )
        if name in mlflow:
            ml = mlflow[name]
            line += (
                f"; MLflow search_runs over {r['mlflow']['runs']:,} runs: p50 {ml['p50_ms']:.1f} "
                f"ms, p99 {ml['p99_ms']:.1f} ms -> provledger at {n:,} is "
                f"{ml['p50_ms'] / api['p50_ms']:.1f}x faster at p50, "
                f"{ml['p99_ms'] / api['p99_ms']:.1f}x at p99 (target >= 10x)"
            )
        lines.append(line)
    for name, q in r["query"].items():
        sql, alt = q["sql"], q["other_form"]
        forms = ("IN (SELECT ...)", "EXISTS probe")
        lines.append(
            f"  where {name}, SQL in the other form ({forms[alt['probe']]} instead of "
            f"{forms[not alt['probe']]}): p50 {alt['p50_ms']:.1f} ms, p99 {alt['p99_ms']:.1f} ms "
            f"-> {alt['p50_ms'] / sql['p50_ms']:.2f}x the served form at p50"
        )
    lin = r["lineage"]
    lines.append(
        f"  lineage up 10 deep: API p50 {lin['api']['p50_ms']:.1f} ms, p99 "
        f"{lin['api']['p99_ms']:.1f} ms ({'met' if lin['api']['p99_ms'] < 50 else 'MISSED'} "
        f"< 50 ms, {lin['api']['mean_rows']:.0f} nodes); same reads in-process: p50 "
        f"{lin['direct']['p50_ms']:.1f} ms, p99 {lin['direct']['p99_ms']:.1f} ms; "
        f"/files/{{sha256}}: p50 {lin['files_api']['p50_ms']:.1f} ms, p99 "
        f"{lin['files_api']['p99_ms']:.1f} ms"
    )
    print("\n".join(lines))
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "query.json").write_text(json.dumps(r, indent=2))
    (out / "query.txt").write_text("\n".join(lines) + "\n")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, default=1_000_000, help="executions to load")
    p.add_argument("--load-budget", type=float, default=900, help="seconds of loading at most")
    p.add_argument("--reps", type=int, default=200, help="requests per scenario")
    p.add_argument("--depth", type=int, default=10, help="executions in the lineage chain")
    p.add_argument("--mlflow-runs", type=int, default=1000)
    p.add_argument("--mlflow-reps", type=int, default=50)
    p.add_argument("--database-url", help="measure over this already loaded database instead")
    p.add_argument("--max-seconds", type=float, default=60, help="per timed loop (>= 20 reps)")
    return p.parse_args(argv)


if __name__ == "__main__":
    main(parse())
