from provledger.application.ledger import Ledger
from provledger.domain.record import ExecutionRecord, Status


def test_a_recorded_execution_is_readable_on_both_backends(ledger: Ledger) -> None:
    results = ledger.record([ExecutionRecord("run-1", "c", Status.SUCCEEDED)])
    assert results[0].canonical
    row = ledger.execution_row("run-1")
    assert row["is_canonical"] == 1
