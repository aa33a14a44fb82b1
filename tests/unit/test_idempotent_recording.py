from provledger.application.record_executions import Outcome
from provledger.domain.record import Status
from tests.fakes import memory_ledger
from tests.unit.records import make_record


def test_recording_the_same_execution_twice_is_a_duplicate_and_changes_nothing() -> None:
    ledger, _ = memory_ledger()
    ledger.record([make_record("a")])
    head = ledger.events.max_position()
    (result,) = ledger.record([make_record("a")])
    assert result.outcome is Outcome.DUPLICATE
    assert ledger.events.max_position() == head


def test_different_content_under_the_same_id_is_a_conflict_naming_the_fields() -> None:
    ledger, _ = memory_ledger()
    ledger.record([make_record("a")])
    head = ledger.events.max_position()
    (result,) = ledger.record([make_record("a", status=Status.FAILED, params={"dt": 9})])
    assert result.outcome is Outcome.CONFLICT
    assert result.conflicting_fields == ["params.dt", "status"]
    assert "params.dt, status" in result.message
    assert ledger.events.max_position() == head
    assert ledger.record_of("a").status is Status.SUCCEEDED


def test_duplicates_within_one_batch_are_recorded_once() -> None:
    ledger, views = memory_ledger()
    results = ledger.record(
        [
            make_record("a"),
            make_record("a"),
            make_record("a", params={"x": 1}),
            make_record("a", status=Status.FAILED),
        ]
    )
    outcomes = sorted(r.outcome.value for r in results)
    assert outcomes == ["conflict", "created", "duplicate", "updated"]
    assert ledger.record_of("a").params["x"] == 1
    assert len(views.rows("executions")) == 1


def test_the_same_execution_id_in_two_cases_is_two_executions() -> None:
    ledger, views = memory_ledger()
    ledger.record([make_record("run-1", case="a"), make_record("run-1", case="b")])
    assert len(views.rows("executions")) == 2


def test_the_same_case_name_in_two_namespaces_is_two_cases() -> None:
    ledger, views = memory_ledger()
    ledger.record([make_record("r", namespace="alice"), make_record("r", namespace="bob")])
    assert len(views.rows("cases")) == 2
