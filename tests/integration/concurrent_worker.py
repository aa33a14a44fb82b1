"""Run in a separate process by the concurrency test: record overlapping executions."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

from provledger.adapters.bootstrap import bootstrap
from provledger.adapters.settings import Settings
from provledger.domain.record import ExecutionRecord, Status


def main(home: str, url: str, worker: int, cases: int, per_case: int) -> None:
    ledger = bootstrap(Settings(home=home, database_url=url or None, batch_size=7))
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    records = [
        ExecutionRecord(
            execution_id=f"run-{i}",  # every worker records the same ids: duplicates collide
            case=f"case-{c}",
            status=Status.SUCCEEDED if (i + worker) % 3 else Status.FAILED,
            started=t0 + timedelta(minutes=i),
            params={"i": i},
        )
        for c in range(cases)
        for i in range(per_case)
    ]
    # Each worker walks the records in its own order so the writers really interleave.
    records = records[worker::2] + records[(worker + 1) % 2 :: 2]
    ledger.record(records)
    ledger.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
