"""Child process, run by MLflow's own interpreter: log the given runs to an MLflow tracking
store on Postgres, then time `search_runs` with each filter.

    python -m benchmarks.mlflow_search_worker URI SPEC.json

SPEC holds `runs` (each: params as strings, metrics as [name, value, step] lists), `filters`
(name -> a list of MLflow filter strings, one picked per call, round robin) and `reps`.
"""

from __future__ import annotations

import json
import sys
import time


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(uri: str, spec_path: str) -> None:
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    with open(spec_path) as f:
        spec = json.load(f)
    client = MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment(f"search-{time.time_ns()}")
    start = time.perf_counter()
    for run_spec in spec["runs"]:
        run = client.create_run(experiment)
        now = int(time.time() * 1000)
        client.log_batch(
            run.info.run_id,
            params=[Param(k, v) for k, v in run_spec["params"].items()],
            metrics=[Metric(name, value, now, step) for name, value, step in run_spec["metrics"]],
        )
        client.set_terminated(run.info.run_id, "FINISHED")
    loaded = time.perf_counter() - start
    result: dict[str, object] = {"runs": len(spec["runs"]), "load_s": loaded, "filters": {}}
    for name, filters in spec["filters"].items():
        latencies, found = [], 0
        client.search_runs([experiment], filter_string=filters[0], max_results=100)  # warm
        for i in range(spec["reps"]):
            t = time.perf_counter()
            runs = client.search_runs(
                [experiment], filter_string=filters[i % len(filters)], max_results=100
            )
            latencies.append(time.perf_counter() - t)
            found += len(runs)
        result["filters"][name] = {  # type: ignore[index]
            "p50_ms": _pct(latencies, 0.5) * 1e3,
            "p99_ms": _pct(latencies, 0.99) * 1e3,
            "mean_rows": found / spec["reps"],
        }
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
