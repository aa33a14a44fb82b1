"""Run every benchmark with its defaults, one after another (`make bench`).

Each prints its figures next to the peer it measured in the same run, and most also write them to
benchmarks/results/. Expect one to two hours on a 2-core machine; run one module alone with
`python -m benchmarks.<name> --help` to see its size options.
"""

from __future__ import annotations

import subprocess
import sys

from benchmarks.common import ROOT

BENCHMARKS = (
    "bench_record",  # issue 2: bulk record vs COPY and MLflow, SQLite, rebuild, memory
    "bench_api",  # issue 3: GET latency under load
    "bench_archive",  # issue 4: archive, restore, audit
    "bench_ingest_e3sm",  # issue 5: E3SM archive ingest vs plain records
    "bench_capture",  # issue 6: run overhead, SDK vs MLflow, hashing vs sha256sum
    "bench_cli",  # issue 16: start-up of --help, --version and the everyday reads vs python -c pass
    "bench_query",  # issue 13: where and lineage at scale vs the same SQL and MLflow search_runs
    "bench_web",  # issue 14: pages vs their JSON API
    "bench_service",  # issue 17: two APIs and a worker under load, the worker killed midway
    "bench_restore",  # issue 17: restore with a snapshot vs restore + rebuild; rebuild --jobs
    "bench_protocols",  # issue 18: MLflow client vs mlflow server; OpenLineage events/s
    "bench_reuse",  # issue 19: a reused run vs the original; reuse-key lookup
)


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        print(f"\n=== {name}", flush=True)
        if subprocess.run([sys.executable, "-m", f"benchmarks.{name}"], cwd=ROOT).returncode:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
