"""Several processes recording executions of the same cases at once."""

import subprocess
import sys
from collections import Counter
from pathlib import Path

from provledger.adapters.bootstrap import bootstrap
from provledger.adapters.settings import Settings
from provledger.domain.case import Case
from provledger.domain.execution import Execution

WORKERS, CASES, PER_CASE = 4, 5, 12


def test_concurrent_writers_end_with_one_canonical_per_case_and_no_lost_event(
    settings: Settings,
) -> None:
    worker = Path(__file__).with_name("concurrent_worker.py")
    root = Path(__file__).resolve().parents[2]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(worker),
                str(settings.home),
                settings.database_url or "",
                str(w),
                str(CASES),
                str(PER_CASE),
            ],
            cwd=root,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(WORKERS)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err

    ledger = bootstrap(settings)
    try:
        events = [e.event for e in ledger.events.read(0, 100_000)]
        recorded = Counter(e.originator_id for e in events if isinstance(e, Execution.Recorded))
        chosen = Counter(e.originator_id for e in events if isinstance(e, Case.CanonicalChosen))
        opened = Counter(e.originator_id for e in events if isinstance(e, Case.Opened))
        assert len(recorded) == CASES * PER_CASE
        assert set(recorded.values()) == {1}  # none lost, none duplicated
        assert len(opened) == CASES
        assert set(opened.values()) == {1}
        assert set(chosen.values()) == {1}  # exactly one canonical per case
        assert len(chosen) == CASES
        ledger.catch_up()
        for case in ledger.queries.list_cases().items:
            rows = ledger.queries.executions_of_case(case["case_id"])
            assert len(rows) == PER_CASE == case["n_executions"]
            assert sum(r["is_canonical"] for r in rows) == 1
            canonical = next(r for r in rows if r["is_canonical"])
            assert canonical["status"] == "succeeded"
            assert canonical["execution_id"] == case["canonical_execution_id"]
    finally:
        ledger.close()
