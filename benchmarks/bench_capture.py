"""Capture benchmarks (issue 6), each next to its peer measured in the same run.

1. Added wall time of `provledger run -- true` over running `true` directly (target < 150 ms),
   with the CLI's bare start-up (`provledger --help`) shown to split core from capture.
2. SDK metric logging, buffered (target >= 50k points/s), next to MLflow's `log_metric`
   (synchronous and `synchronous=False`) in a separate venv run as a subprocess.
3. sha256 throughput of `sha256_file` next to `sha256sum` on the same 1 GB file (target >= 90%).

    python -m benchmarks.bench_capture [--reps 30] [--points 1000000] [--gb 1]
        [--mlflow-python /tmp/mlflow-venv/bin/python]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The console script, as users run it (`python -m provledger` adds runpy's own start-up).
_SCRIPT = Path(sys.executable).with_name("provledger")
PROVLEDGER = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "provledger"]

MLFLOW_SCRIPT = r"""
import json, os, sys, time, tempfile
os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
import mlflow
root = tempfile.mkdtemp()
mlflow.set_tracking_uri("file://" + root)
mlflow.set_experiment("bench")
out = {"version": mlflow.__version__}
n_sync, n_async = int(sys.argv[1]), int(sys.argv[2])
with mlflow.start_run():
    t = time.perf_counter()
    for i in range(n_sync):
        mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
    out["sync_pps"] = n_sync / (time.perf_counter() - t)
with mlflow.start_run():
    t = time.perf_counter()
    for i in range(n_async):
        mlflow.log_metric("loss", 1.0 / (i + 1), step=i, synchronous=False)
    logged = time.perf_counter() - t
    out["async_call_pps"] = n_async / logged
t_end = time.perf_counter() - t
out["async_end_to_end_pps"] = n_async / t_end
print(json.dumps(out))
"""


def _time(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    t = time.perf_counter()
    subprocess.run(
        cmd, env=env, cwd=cwd, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - t


def bench_run_overhead(reps: int) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix="pl-bench-run-"))
    env = {**os.environ, "PROVLEDGER_HOME": str(work / "home")}
    env.pop("PROVLEDGER_DATABASE_URL", None)
    # An installed package has its bytecode compiled (pip does it); a sandbox that forbids
    # writing .pyc files would measure compiling every module on every start instead.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    true = shutil.which("true") or "true"
    subprocess.run([*PROVLEDGER, "init"], env=env, cwd=work, check=True, capture_output=True)
    _time([*PROVLEDGER, "run", "--quiet", "--", true], env, work)  # warm caches
    core = [
        sys.executable,
        "-c",
        "import provledger.adapters.cli.main, "
        "provledger.adapters.bootstrap, provledger.adapters.cli.commands_capture",
    ]
    _time(core, env, work)  # compile bytecode once
    direct, captured, bare, imports, python = [], [], [], [], []
    for _ in range(reps):
        direct.append(_time([true], env, work))
        python.append(_time([sys.executable, "-c", "pass"], env, work))
        captured.append(_time([*PROVLEDGER, "run", "--quiet", "--", true], env, work))
        bare.append(_time([*PROVLEDGER, "--help"], env, work))
        imports.append(_time(core, env, work))
    in_process = _in_process(work, true, reps)
    shutil.rmtree(work, ignore_errors=True)
    med = statistics.median
    return {
        "true_ms": med(direct) * 1000,
        "run_true_ms": med(captured) * 1000,
        "added_ms": (med(captured) - med(direct)) * 1000,
        "added_min_ms": (min(captured) - min(direct)) * 1000,
        "python_min_ms": min(python) * 1000,
        "cli_startup_ms": med(bare) * 1000,
        "python_ms": med(python) * 1000,
        "core_imports_ms": med(imports) * 1000,
        "in_process_ms": med(in_process) * 1000,
    }


def _in_process(work: Path, true: str, reps: int) -> list[float]:
    """Capture's own work (record running, run, hash, finish, write), imports excluded."""
    from provledger.adapters.bootstrap import bootstrap
    from provledger.adapters.capture.heartbeat import FileHeartbeats
    from provledger.adapters.capture.session import Capture, RunRequest
    from provledger.adapters.settings import Settings

    settings = Settings(home=work / "home")
    ledger = bootstrap(settings)
    capture = Capture(ledger, settings.home, FileHeartbeats(settings.home / "heartbeats"))
    times = []
    try:
        for _ in range(reps):
            t = time.perf_counter()
            capture.run(RunRequest([true], cwd=work, echo=False))
            times.append(time.perf_counter() - t)
    finally:
        ledger.close()
    return times


def bench_sdk(points: int) -> dict[str, float]:
    from provledger.sdk import MemoryBackend, track

    with track(case="bench", backend=MemoryBackend(), capture_environment=False) as run:
        t = time.perf_counter()
        log = run.log_metric
        for i in range(points):
            log("loss", 1.0 / (i + 1), step=i)
        logged = time.perf_counter() - t
    total = time.perf_counter() - t
    return {"sdk_call_pps": points / logged, "sdk_end_to_end_pps": points / total}


def bench_mlflow(python: str | None, n_sync: int, n_async: int) -> dict[str, float] | None:
    if not python or not Path(python).exists():
        return None
    done = subprocess.run(
        [python, "-c", MLFLOW_SCRIPT, str(n_sync), str(n_async)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        print("mlflow failed:", done.stderr[-2000:], file=sys.stderr)
        return None
    data: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return data


def bench_hashing(gb: float) -> dict[str, float]:
    from provledger.adapters.capture.hashing import sha256_file

    work = Path(tempfile.mkdtemp(prefix="pl-bench-hash-"))
    path = work / "big.bin"
    size = int(gb * 2**30)
    chunk = os.urandom(2**24)
    with open(path, "wb") as f:
        for _ in range(size // len(chunk)):
            f.write(chunk)
    subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)  # page cache
    ours, peer = [], []
    for _ in range(2):
        t = time.perf_counter()
        digest = sha256_file(path)
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        out = subprocess.run(["sha256sum", str(path)], capture_output=True, text=True, check=True)
        peer.append(time.perf_counter() - t)
        assert out.stdout.split()[0] == digest
    shutil.rmtree(work, ignore_errors=True)
    mb = size / 2**20
    return {"ours_mb_s": mb / min(ours), "sha256sum_mb_s": mb / min(peer)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--gb", type=float, default=1.0)
    parser.add_argument("--mlflow-python", default="/tmp/mlflow-venv/bin/python")
    parser.add_argument("--mlflow-sync", type=int, default=5_000)
    parser.add_argument("--mlflow-async", type=int, default=10_000)
    parser.add_argument(
        "--parts", default="run,sdk,hashing", help="Comma-separated: run, sdk, hashing."
    )
    args = parser.parse_args()
    parts = set(args.parts.split(","))

    if "run" in parts:
        report_run(args.reps)
    if "sdk" in parts:
        report_sdk(args)
    if "hashing" in parts:
        report_hashing(args.gb)


def report_run(reps: int) -> None:
    run = bench_run_overhead(reps)
    print(
        f"provledger run -- true: {run['run_true_ms']:.0f} ms vs true {run['true_ms']:.1f} ms "
        f"-> added {run['added_ms']:.0f} ms (target < 150 ms) [median of {reps}; fastest "
        f"{run['added_min_ms']:.0f} ms, when python -c pass took {run['python_min_ms']:.0f} ms]"
    )
    print(
        f"  python -c pass: {run['python_ms']:.0f} ms; "
        f"CLI start-up (provledger --help): {run['cli_startup_ms']:.0f} ms; python + core "
        f"imports (cli, bootstrap, capture): {run['core_imports_ms']:.0f} ms; capture's own "
        f"work in process: {run['in_process_ms']:.0f} ms"
    )


def report_sdk(args: argparse.Namespace) -> None:
    sdk = bench_sdk(args.points)
    print(
        f"SDK log_metric buffered: {sdk['sdk_call_pps']:,.0f} points/s "
        f"(end to end incl. final record: {sdk['sdk_end_to_end_pps']:,.0f}/s; target >= 50k)"
    )
    peer = bench_mlflow(args.mlflow_python, args.mlflow_sync, args.mlflow_async)
    if peer:
        print(
            f"MLflow {peer['version']} log_metric: sync {peer['sync_pps']:,.0f}/s, "
            f"synchronous=False {peer['async_call_pps']:,.0f}/s "
            f"(end to end {peer['async_end_to_end_pps']:,.0f}/s)"
        )
        print(
            f"  ratio SDK/MLflow: x{sdk['sdk_call_pps'] / peer['sync_pps']:,.0f} vs sync, "
            f"x{sdk['sdk_call_pps'] / peer['async_call_pps']:,.1f} vs async"
        )
    else:
        print(
            "MLflow: not measured (install it: python -m venv /tmp/mlflow-venv && "
            "/tmp/mlflow-venv/bin/pip install mlflow-skinny)"
        )


def report_hashing(gb: float) -> None:
    hashing = bench_hashing(gb)
    ratio = hashing["ours_mb_s"] / hashing["sha256sum_mb_s"]
    print(
        f"sha256 of {gb:g} GB: ours {hashing['ours_mb_s']:.0f} MB/s, sha256sum "
        f"{hashing['sha256sum_mb_s']:.0f} MB/s -> {ratio:.0%} (target >= 90%)"
    )


if __name__ == "__main__":
    main()
