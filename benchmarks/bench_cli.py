"""CLI start-up (issue 16): wall time of everyday commands on a 6-execution ledger, next to an
empty Python start (`python -c pass`) measured in the same run, as the peer.

Commands: `--help`, `--version`, `cases`, `show ID`, `executions --json` (target: read commands
answer in < 200 ms). The median of `--reps` runs of each, interleaved so load hits all alike.

    python -m benchmarks.bench_cli [--reps 15]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import emit

_SCRIPT = Path(sys.executable).with_name("provledger")
PROVLEDGER = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "provledger"]


def _wall(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROVLEDGER_")}
        env["PROVLEDGER_HOME"] = str(root / "home")
        ids = []
        for i in range(6):
            out = subprocess.run(
                [*PROVLEDGER, "run", "--json", "--case", f"c{i % 2}", "--", "true"],
                env=env,
                cwd=root,
                capture_output=True,
                text=True,
                check=True,
            )
            ids.append(json.loads(out.stdout)["execution_id"])
        subprocess.run([*PROVLEDGER, "cases"], env=env, cwd=root, capture_output=True, check=True)
        commands = {
            "python -c pass (peer)": [sys.executable, "-c", "pass"],
            "--help": [*PROVLEDGER, "--help"],
            "--version": [*PROVLEDGER, "--version"],
            "cases": [*PROVLEDGER, "cases"],
            "show ID": [*PROVLEDGER, "show", ids[-1]],
            "executions --json": [*PROVLEDGER, "executions", "--json"],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.reps):
            for name, argv in commands.items():
                times[name].append(_wall(argv, env, root))
    peer = statistics.median(times["python -c pass (peer)"])
    rows = {}
    for name, values in times.items():
        median = statistics.median(values)
        rows[name] = {"median_ms": round(median * 1000, 1), "x_peer": round(median / peer, 1)}
        print(f"{name:24} {median * 1000:7.1f} ms  {median / peer:5.1f}x python -c pass")
    emit({"benchmark": "cli_startup", "reps": args.reps, "executions": 6, "commands": rows})


if __name__ == "__main__":
    main()
