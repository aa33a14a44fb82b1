"""Child process, run by MLflow's own interpreter: log the same runs to the same Postgres.

Each run gets the same params (24), metrics (sypd at 3 steps, throughput, cost) and tags as a
provledger benchmark record, through MlflowClient's batch API (its fastest path).
"""

from __future__ import annotations

import json
import random
import sys
import time


def main(uri: str, runs: int, budget_s: float) -> None:
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment(f"bench-{time.time_ns()}")
    done = 0
    start = time.perf_counter()
    for i in range(runs):
        rng = random.Random(i)
        run = client.create_run(experiment, tags={"campaign": f"c{i % 11}"})
        now = int(time.time() * 1000)
        client.log_batch(
            run.info.run_id,
            params=[Param(f"param_{k}", str(rng.random())) for k in range(24)],
            metrics=[Metric("sypd", rng.uniform(1, 30), now, s) for s in range(3)]
            + [
                Metric("throughput", rng.uniform(100, 900), now, 0),
                Metric("cost_pe_hrs", rng.uniform(1e3, 1e5), now, 0),
            ],
            tags=[RunTag("experiment", "historical")],
        )
        client.set_terminated(run.info.run_id, "FINISHED")
        done += 1
        if time.perf_counter() - start > budget_s:
            break
    elapsed = time.perf_counter() - start
    print("RESULT " + json.dumps({"runs": done, "seconds": elapsed, "runs_per_s": done / elapsed}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
