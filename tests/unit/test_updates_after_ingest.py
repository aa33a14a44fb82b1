"""Executions that change after they were recorded: progress is new events, never an edit."""

from __future__ import annotations

from datetime import timedelta

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from provledger.application.record_executions import Outcome
from provledger.domain.execution import Execution
from provledger.domain.progress import progress
from provledger.domain.record import FileRef, MetricPoint, Spec, Status
from tests.fakes import memory_ledger
from tests.unit.records import T0, make_record

SHA_A, SHA_B = "a" * 64, "b" * 64


def running(execution_id: str = "run-1", **fields: object) -> object:
    fields.setdefault("metrics", {"loss": [MetricPoint(1.0, step=0)]})
    return make_record(execution_id, status=Status.RUNNING, **fields)


def finished(
    execution_id: str = "run-1", status: Status = Status.SUCCEEDED, **fields: object
) -> object:
    fields.setdefault("metrics", {"loss": [MetricPoint(1.0, step=0), MetricPoint(0.5, step=1)]})
    fields.setdefault("ended", T0 + timedelta(hours=1))
    fields.setdefault("outputs", [FileRef(uri="out/state.nc", sha256=SHA_A)])
    return make_record(execution_id, status=status, **fields)


def topics(ledger: object, ref: str) -> list[str]:
    return [type(e.event).__name__ for e in ledger.history(ref)]  # type: ignore[attr-defined]


def test_a_running_execution_seen_again_finished_is_updated_not_a_conflict() -> None:
    ledger, views = memory_ledger()
    ledger.record([running()])
    (result,) = ledger.record([finished()])
    assert result.outcome is Outcome.UPDATED
    assert result.changed_fields == ["ended", "metrics", "outputs", "status"]
    assert result.canonical  # its first success makes it the case's baseline
    record = ledger.record_of("run-1")
    assert record.status is Status.SUCCEEDED
    assert [p.value for p in record.metrics["loss"]] == [1.0, 0.5]
    assert topics(ledger, "run-1") == ["Recorded", "Updated"]
    (row,) = views.rows("executions").values()
    assert (row["status"], row["is_canonical"]) == ("succeeded", 1)
    (case,) = views.rows("cases").values()
    assert (case["n_running"], case["n_succeeded"], case["n_executions"]) == (0, 1, 1)


def test_seeing_the_same_progress_again_is_a_duplicate_that_writes_nothing() -> None:
    ledger, _ = memory_ledger()
    ledger.record([running()])
    ledger.record([finished()])
    head = ledger.events.max_position()
    (result,) = ledger.record([finished()])
    assert result.outcome is Outcome.DUPLICATE
    assert ledger.events.max_position() == head


def test_an_older_snapshot_arriving_after_the_final_one_adds_nothing() -> None:
    ledger, _ = memory_ledger()
    ledger.record([finished()])
    (result,) = ledger.record([running()])
    assert result.outcome is Outcome.DUPLICATE
    assert ledger.record_of("run-1").status is Status.SUCCEEDED


def test_a_tag_added_later_is_an_annotation_and_the_record_stays_as_it_was() -> None:
    ledger, views = memory_ledger()
    ledger.record([finished(tags={"owner": "ana"})])
    (result,) = ledger.record([finished(tags={"owner": "ana", "reviewed": "yes"})])
    assert result.outcome is Outcome.UPDATED
    assert topics(ledger, "run-1") == ["Recorded", "Annotated"]
    assert ledger.execution("run-1").tags == {"owner": "ana", "reviewed": "yes"}
    (row,) = views.rows("executions").values()
    assert row["tags"] == {"owner": "ana", "reviewed": "yes"}


def test_a_final_record_with_another_output_sha256_is_a_conflict_named_by_path() -> None:
    ledger, _ = memory_ledger()
    ledger.record([finished()])
    head = ledger.events.max_position()
    changed = finished(
        outputs=[FileRef(uri="out/state.nc", sha256=SHA_B)],
        spec=Spec(format="toml", resolved={"grid": {"nx": 128}}),
    )
    (result,) = ledger.record([changed])
    assert result.outcome is Outcome.CONFLICT
    assert result.conflicting_fields == ["outputs[out/state.nc].sha256", "spec.resolved.grid.nx"]
    assert ledger.events.max_position() == head


def test_a_final_status_never_changes() -> None:
    ledger, _ = memory_ledger()
    ledger.record([finished()])
    (result,) = ledger.record([finished(status=Status.FAILED)])
    assert result.outcome is Outcome.CONFLICT
    assert result.conflicting_fields == ["status"]


def test_an_incomplete_execution_whose_missing_files_arrive_becomes_complete() -> None:
    ledger, views = memory_ledger()
    partial = make_record("run-1", status=Status.INCOMPLETE, missing=["timing"], outputs=[])
    ledger.record([partial])
    (result,) = ledger.record([finished(missing=[])])
    assert result.outcome is Outcome.UPDATED
    record = ledger.record_of("run-1")
    assert (record.status, record.missing) == (Status.SUCCEEDED, [])
    (case,) = views.rows("cases").values()
    assert (case["n_incomplete"], case["n_succeeded"]) == (0, 1)
    assert case["canonical_execution_id"] == "run-1"


def test_an_earlier_run_that_succeeds_late_does_not_replace_the_canonical() -> None:
    ledger, views = memory_ledger()
    ledger.record([running("early", minutes=0)])
    ledger.record([finished("late", minutes=30)])
    (result,) = ledger.record([finished("early", minutes=0)])
    assert result.outcome is Outcome.UPDATED
    assert not result.canonical
    (case,) = views.rows("cases").values()
    assert case["canonical_execution_id"] == "late"


def test_a_child_run_is_never_canonical_and_not_diffed_against_the_baseline() -> None:
    ledger, views = memory_ledger()
    ledger.record([finished("child", minutes=0, parent="parent", params={"lr": 1})])
    ledger.record([finished("parent", minutes=1), finished("sibling", minutes=2, params={"dt": 9})])
    rows = {r["execution_id"]: r for r in views.rows("executions").values()}
    assert rows["parent"]["is_canonical"] == 1
    assert rows["child"]["is_canonical"] == 0
    assert rows["child"]["parent"] == "parent"
    assert (rows["child"]["deltas"], rows["child"]["change_count"]) == (None, 0)
    assert rows["sibling"]["change_count"] == 1


def test_a_case_takes_the_first_group_a_later_execution_names_and_keeps_it() -> None:
    ledger, views = memory_ledger()
    ledger.record([finished("a", minutes=0)])
    ledger.record([finished("b", minutes=1, group="v3-campaign")])
    ledger.record([finished("c", minutes=2, group="other")])
    (case,) = views.rows("cases").values()
    assert case["grp"] == "v3-campaign"
    assert [type(e.event).__name__ for e in ledger.history("a")] == ["Recorded"]


def test_the_same_execution_twice_in_one_batch_is_merged_into_one_record() -> None:
    ledger, _ = memory_ledger()
    (first, second) = ledger.record([running(), finished()])
    assert {first.outcome, second.outcome} == {Outcome.CREATED, Outcome.UPDATED}
    assert ledger.record_of("run-1").status is Status.SUCCEEDED
    assert topics(ledger, "run-1") == ["Recorded"]


def test_an_update_is_a_new_event_and_the_first_record_stays_in_the_log() -> None:
    ledger, _ = memory_ledger()
    ledger.record([running()])
    ledger.record([finished()])
    recorded, updated = (e.event for e in ledger.history("run-1"))
    assert isinstance(recorded, Execution.Recorded)
    assert isinstance(updated, Execution.Updated)
    assert recorded.record.status is Status.RUNNING
    assert updated.previous_status is Status.RUNNING
    assert updated.changed == ["ended", "metrics", "outputs", "status"]


points = st.lists(
    st.builds(MetricPoint, value=st.floats(-1e6, 1e6), step=st.integers(0, 100)), max_size=5
)


@given(points, points, st.sampled_from(list(Status)))
def test_a_record_that_only_grows_is_never_a_conflict_and_the_merge_is_idempotent(
    before: list[MetricPoint], extra: list[MetricPoint], status: Status
) -> None:
    old = make_record(status=Status.RUNNING, metrics={"m": before} if before else {})
    new = msgspec.structs.replace(old, status=status, metrics={"m": [*before, *extra]})
    found = progress(old, new)
    assert not found.conflicts
    merged = found.record or old
    assert merged.metrics.get("m", []) == [*before, *extra]
    again = progress(merged, new)
    assert again.record is None
    assert not again.conflicts


def test_a_config_that_grew_takes_the_newer_sha256_and_a_changed_one_conflicts() -> None:
    small = Spec(format="toml", resolved={"grid": {"nx": 64}}, sha256=SHA_A)
    grown = Spec(format="toml", resolved={"grid": {"nx": 64, "ny": 32}}, sha256=SHA_B)
    found = progress(make_record(spec=small), make_record(spec=grown))
    assert found.record is not None
    assert found.record.spec == grown
    assert found.changed == ["spec"]
    older = progress(make_record(spec=grown), make_record(spec=small))  # a snapshot from before
    assert (older.record, older.conflicts) == (None, [])
    changed = Spec(format="toml", resolved={"grid": {"nx": 128}}, sha256=SHA_B)
    assert progress(make_record(spec=small), make_record(spec=changed)).conflicts == [
        "spec.resolved.grid.nx"
    ]


def test_a_run_that_only_logs_more_points_stores_just_the_new_ones() -> None:
    ledger, _ = memory_ledger()
    ledger.record([running()])
    more = make_record(
        "run-1",
        status=Status.RUNNING,
        metrics={"loss": [MetricPoint(1.0, step=0), MetricPoint(0.7, step=1)]},
        logs=["epoch 1"],
    )
    (result,) = ledger.record([more])
    assert result.outcome is Outcome.UPDATED
    assert result.changed_fields == ["logs", "metrics"]
    observed = ledger.history("run-1")[-1].event
    assert isinstance(observed, Execution.Observed)
    assert observed.metrics == {"loss": [MetricPoint(0.7, step=1)]}
    assert observed.logs == ["epoch 1"]
    assert ledger.record_of("run-1").metrics["loss"] == more.metrics["loss"]
    ledger.record([finished(logs=["epoch 1"])])  # the end is an update with the whole record
    assert topics(ledger, "run-1") == ["Recorded", "Observed", "Updated"]
    assert ledger.record_of("run-1").status is Status.SUCCEEDED
    assert ledger.record([more])[0].outcome is Outcome.DUPLICATE  # an older snapshot
