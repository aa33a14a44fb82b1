"""Run every benchmark with its defaults, one after another (`make bench`).

Each prints its figures next to the peer it measured in the same run, and most also write them to
benchmarks/results/. Expect 15-30 minutes on a 2-core machine; run one module alone with
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
