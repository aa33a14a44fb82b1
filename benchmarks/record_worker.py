"""Child process: bulk-record N generated executions, then rebuild; report rates and memory."""

from __future__ import annotations

import argparse
import time

from benchmarks.common import emit, peak_rss_mb
from benchmarks.workload import batches
from provledger.adapters.bootstrap import bootstrap
from provledger.adapters.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--home", required=True)
    parser.add_argument("--url", default="")
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    ledger = bootstrap(Settings(home=args.home, database_url=args.url or None, batch_size=1000))
    recording = 0.0
    for batch in batches(args.n):  # generated lazily: only recording is timed
        start = time.perf_counter()
        ledger.recorder.record(batch)
        recording += time.perf_counter() - start
    start = time.perf_counter()
    ledger.runner.catch_up()
    projecting = time.perf_counter() - start
    events = ledger.events.max_position()
    result = {
        "n": args.n,
        "events": events,
        "record_s": recording,
        "executions_per_s": args.n / recording,
        "events_per_s": events / recording,
        "project_events_per_s": events / projecting,
        "end_to_end_executions_per_s": args.n / (recording + projecting),
        "peak_rss_mb": peak_rss_mb(),
    }
    if args.rebuild:
        start = time.perf_counter()
        ledger.runner.rebuild()
        result["rebuild_events_per_s"] = events / (time.perf_counter() - start)
    ledger.close()
    emit(result)


if __name__ == "__main__":
    main()
