"""Shared benchmark plumbing: a durable throwaway Postgres, child processes, peak memory."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # benchmarks run from a checkout: tests.support is beside them
    sys.path.insert(0, str(ROOT))

from tests.support.pgcluster import PgCluster  # noqa: E402

__all__ = ["ROOT", "PgCluster", "child", "emit", "peak_rss_mb"]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def emit(result: dict[str, Any]) -> None:
    """A child's result: one JSON line on stdout."""
    print("RESULT " + json.dumps(result), flush=True)


def child(module: str, *args: str, python: str = sys.executable, timeout: int = 3600) -> Any:
    """Run `python -m module args…` in a fresh process; return its RESULT line."""
    proc = subprocess.run(
        [python, "-m", module, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{module} {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
