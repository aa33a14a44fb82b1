"""Reuse benchmarks (issue 19), each next to its peer measured in the same run.

1. `provledger run --reuse auto` of a command that takes `--seconds` (default 10) and writes
   `--mb` MB, then the same run again after its output was deleted: the hit's wall time next
   to the original's (target: hit < 5% of the run; the hit restores and verifies the bytes).
2. Reuse-key lookup (`application.reuse.with_key`: the search projection's (kind, name, value)
   index, narrowed to succeeded, non-reused executions, plus loading the hit's record) at
   `--executions` executions (default 100 000) in the embedded SQLite ledger: p50 and p99, next
   to looking an execution up by its id (`executions_matching`) in the same ledger.

    python -m benchmarks.bench_reuse [--seconds 10] [--mb 50] [--executions 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

_SCRIPT = Path(sys.executable).with_name("provledger")
PROVLEDGER = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "provledger"]


def bench_hit(seconds: float, mb: int) -> dict[str, float]:
    root = Path(tempfile.mkdtemp(prefix="bench-reuse-"))
    try:
        env = {**os.environ, "PROVLEDGER_HOME": str(root / "home")}
        env.pop("PROVLEDGER_DATABASE_URL", None)
        env.pop("PROVLEDGER_ARCHIVE_URL", None)
        script = (
            f"sleep {seconds}; mkdir -p out; head -c {mb * 1024 * 1024} /dev/urandom > out/data.bin"
        )
        (root / "sim.sh").write_text(script)
        command = [*PROVLEDGER, "run", "--reuse", "auto", "--quiet", "--output", "out", "--"]
        times = []
        for _ in range(2):
            shutil.rmtree(root / "out", ignore_errors=True)
            start = time.perf_counter()
            subprocess.run([*command, "sh", "sim.sh"], cwd=root, env=env, check=True,
                           capture_output=True)  # fmt: skip
            times.append(time.perf_counter() - start)
        original, hit = times
        return {"original_s": original, "hit_s": hit, "hit_over_original": hit / original}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def bench_lookup(executions: int, probes: int = 1000) -> dict[str, float]:
    from provledger.adapters.bootstrap import bootstrap
    from provledger.adapters.settings import Settings
    from provledger.application.reuse import with_key
    from provledger.domain.record import ExecutionRecord, Status

    root = Path(tempfile.mkdtemp(prefix="bench-reuse-lookup-"))
    try:
        ledger = bootstrap(Settings(home=root / "home"))
        t0 = datetime(2026, 1, 1, tzinfo=UTC)
        keys = [f"{i:064x}" for i in range(executions)]
        load_start = time.perf_counter()
        records = (
            ExecutionRecord(
                execution_id=f"e{i}",
                case=f"case{i % 1000}",
                status=Status.SUCCEEDED,
                started=t0 + timedelta(seconds=i),
                ended=t0 + timedelta(seconds=i + 1),
                command=["sim", str(i)],
                reuse_key=keys[i],
            )
            for i in range(executions)
        )
        ledger.record(list(records))
        load_s = time.perf_counter() - load_start
        rng = random.Random(19)
        lookups, by_id = [], []
        for _ in range(probes):
            i = rng.randrange(executions)
            start = time.perf_counter()
            found = with_key(ledger, keys[i])
            lookups.append(time.perf_counter() - start)
            assert [c.record.execution_id for c in found] == [f"e{i}"]
            start = time.perf_counter()
            ledger.queries.executions_matching(f"default/case{i % 1000}/e{i}")
            by_id.append(time.perf_counter() - start)
        ledger.close()

        def pct(values: list[float], q: float) -> float:
            return sorted(values)[int(q * (len(values) - 1))] * 1000

        return {
            "executions": executions,
            "load_s": load_s,
            "lookup_p50_ms": pct(lookups, 0.5),
            "lookup_p99_ms": pct(lookups, 0.99),
            "by_id_p50_ms": pct(by_id, 0.5),
            "by_id_p99_ms": pct(by_id, 0.99),
            "lookup_p99_over_by_id_p99": pct(lookups, 0.99) / pct(by_id, 0.99),
            "lookup_mean_ms": statistics.fmean(lookups) * 1000,
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--executions", type=int, default=100_000)
    args = parser.parse_args()
    result = {
        "hit": bench_hit(args.seconds, args.mb),
        "lookup": bench_lookup(args.executions),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
