"""Issue 2 benchmark: bulk recording on Postgres next to raw COPY and MLflow; SQLite; rebuild;
peak memory at 10k vs 100k.

    python -m benchmarks.bench_record [--n 100000] [--mlflow-runs 2000]

Everything runs against one durable throwaway Postgres started here, in the same run, so the
ratios compare like with like. Results are printed and written to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from benchmarks.common import ROOT, PgCluster, child
from provledger.adapters.postgres.compression import compress_with_lz4

MLFLOW_VENV = ROOT / "benchmarks" / ".mlflow-venv"


def mlflow_python() -> str | None:
    """MLflow lives in the benchmark's own environment, never in the project's."""
    python = MLFLOW_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(MLFLOW_VENV)], check=True)
        installed = subprocess.run(
            [
                str(MLFLOW_VENV / "bin" / "pip"),
                "install",
                "-q",
                "mlflow-skinny==3.*",
                "sqlalchemy",
                "alembic",
                "psycopg2-binary",
            ],
            capture_output=True,
            text=True,
        )
        if installed.returncode != 0:
            print("could not install MLflow:", installed.stderr[-1000:], file=sys.stderr)
            return None
    return str(python)


def copy_same_bytes(cluster: PgCluster, db: str) -> dict[str, float]:
    """The physical limit: COPY the very rows provledger stored into a plain table."""
    with psycopg.connect(cluster.conninfo(db), autocommit=True) as conn:
        buffer = io.BytesIO()
        with conn.cursor().copy(
            "COPY (SELECT originator_id, originator_version, topic, state "
            "FROM provledger_events ORDER BY notification_id) TO STDOUT (FORMAT binary)"
        ) as copy:
            for chunk in copy:
                buffer.write(chunk)
        conn.execute(
            "CREATE TABLE raw_events (id bigserial PRIMARY KEY, originator_id uuid, "
            "originator_version bigint, topic text, state bytea, "
            "UNIQUE (originator_id, originator_version))"
        )
        # Stored the way provledger stores them (ADR 0008): lz4 when the server has it.
        with conn.cursor() as cursor:
            compress_with_lz4(cursor, "public", "raw_events", "state")
        data = buffer.getvalue()
        rows = conn.execute("SELECT count(*) FROM provledger_events").fetchone()[0]  # type: ignore[index]
        start = time.perf_counter()
        with conn.cursor().copy(
            "COPY raw_events (originator_id, originator_version, topic, state) "
            "FROM STDIN (FORMAT binary)"
        ) as copy:
            for offset in range(0, len(data), 1 << 20):
                copy.write(data[offset : offset + (1 << 20)])
        elapsed = time.perf_counter() - start
    return {"rows": rows, "mb": len(data) / 1e6, "seconds": elapsed, "rows_per_s": rows / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--mlflow-runs", type=int, default=2_000)
    parser.add_argument("--mlflow-seconds", type=float, default=60.0)
    args = parser.parse_args()
    results: dict[str, Any] = {"n": args.n}
    cluster = PgCluster(durable=True).start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            big = cluster.create_database("provledger_big")
            results["postgres"] = child(
                "benchmarks.record_worker",
                "--n",
                str(args.n),
                "--home",
                f"{tmp}/pg",
                "--url",
                cluster.url(big),
                "--rebuild",
            )
            results["copy"] = copy_same_bytes(cluster, big)
            small = cluster.create_database("provledger_small")
            results["postgres_small"] = child(
                "benchmarks.record_worker",
                "--n",
                str(args.small),
                "--home",
                f"{tmp}/pgs",
                "--url",
                cluster.url(small),
            )
            results["sqlite"] = child(
                "benchmarks.record_worker",
                "--n",
                str(args.n),
                "--home",
                f"{tmp}/sqlite",
                "--rebuild",
            )
            python = mlflow_python()
            if python:
                cluster.create_database("mlflow")
                uri = (
                    f"postgresql+psycopg2://postgres@/mlflow?host={cluster.socket_dir}"
                    f"&port={cluster.port}"
                )
                results["mlflow"] = child(
                    "benchmarks.mlflow_worker",
                    uri,
                    str(args.mlflow_runs),
                    str(args.mlflow_seconds),
                    python=python,
                )
    finally:
        cluster.stop()
    report(results)


def report(r: dict[str, Any]) -> None:
    pg, copy = r["postgres"], r["copy"]
    lines = [
        f"Postgres bulk record, {r['n']} executions (~2 KB records): "
        f"{pg['executions_per_s']:,.0f} executions/s, {pg['events_per_s']:,.0f} events/s "
        f"(target >= 10k executions/s)",
        f"  raw COPY of the same {copy['rows']:,} rows ({copy['mb']:.0f} MB): "
        f"{copy['rows_per_s']:,.0f} rows/s -> provledger at "
        f"{pg['events_per_s'] / copy['rows_per_s']:.1%} of the physical limit",
        f"  projections caught up at {pg['project_events_per_s']:,.0f} events/s; end to end "
        f"{pg['end_to_end_executions_per_s']:,.0f} executions/s",
        f"  rebuild: {pg['rebuild_events_per_s']:,.0f} events/s (target >= 20k); reading and "
        f"decoding the same log alone: {pg['read_log_events_per_s']:,.0f} events/s -> rebuild "
        f"at {pg['rebuild_events_per_s'] / pg['read_log_events_per_s']:.2f}x",
        f"  storing the rebuilt executions rows alone (binary COPY, same compression and lookup "
        f"index): {pg['write_rows_per_s']:,.0f} rows/s -> rebuild at "
        f"{pg['rebuild_events_per_s'] / pg['write_rows_per_s']:.2f}x",
    ]
    if "mlflow" in r:
        ml = r["mlflow"]
        lines.append(
            f"  MLflow (same Postgres, log_batch): {ml['runs_per_s']:,.1f} runs/s over "
            f"{ml['runs']} runs -> provledger {pg['executions_per_s'] / ml['runs_per_s']:,.0f}x "
            f"(target >= 100x)"
        )
    sq = r["sqlite"]
    lines += [
        f"SQLite bulk record: {sq['executions_per_s']:,.0f} executions/s, rebuild "
        f"{sq['rebuild_events_per_s']:,.0f} events/s "
        f"({sq['executions_per_s'] / pg['executions_per_s']:.2f}x Postgres)",
        f"Peak memory (Postgres): {r['postgres_small']['peak_rss_mb']:.0f} MB at "
        f"{r['postgres_small']['n']:,} vs {pg['peak_rss_mb']:.0f} MB at {r['n']:,} "
        f"({pg['peak_rss_mb'] / r['postgres_small']['peak_rss_mb']:.2f}x for 10x the count)",
    ]
    print("\n".join(lines))
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "record.json").write_text(json.dumps(r, indent=2))
    Path(out / "record.txt").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
