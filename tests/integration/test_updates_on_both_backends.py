"""Executions that change after ingest, on SQLite and a real PostgreSQL (`ledger` fixture):
updates reach the read models, survive a rebuild, and a read model whose columns changed in a
new release rebuilds itself from the log."""

from __future__ import annotations

from datetime import timedelta

from provledger.adapters.bootstrap import bootstrap
from provledger.adapters.settings import Settings
from provledger.application.ledger import Ledger
from provledger.application.record_executions import Outcome
from provledger.domain.record import FileRef, MetricPoint, Status
from tests.integration.test_ledger_on_both_backends import read_model_digest
from tests.unit.records import T0, make_record


def _running(execution_id: str, minutes: int = 0, **fields: object) -> object:
    return make_record(
        execution_id,
        status=Status.RUNNING,
        minutes=minutes,
        metrics={"loss": [MetricPoint(1.0, step=0)]},
        **fields,
    )


def _finished(execution_id: str, minutes: int = 0, **fields: object) -> object:
    return make_record(
        execution_id,
        minutes=minutes,
        ended=T0 + timedelta(hours=2),
        metrics={"loss": [MetricPoint(1.0, step=0), MetricPoint(0.2, step=1)]},
        outputs=[FileRef(uri=f"out/{execution_id}.nc", sha256="c" * 64)],
        **fields,
    )


def test_runs_that_finish_after_ingest_are_updated_in_the_read_models(ledger: Ledger) -> None:
    b_params = {"dt": 0.25}
    ledger.record(
        [
            _running("a", 0),
            _running("b", 1, params=b_params),
            make_record("z", status=Status.FAILED),
        ]
    )
    results = ledger.record([_finished("a", 0), _finished("b", 1, params=b_params)])
    assert [r.outcome for r in results] == [Outcome.UPDATED, Outcome.UPDATED]
    case = ledger.case_row("ocean")
    assert (case["n_running"], case["n_succeeded"], case["n_failed"]) == (0, 2, 1)
    assert case["canonical_execution_id"] == "a"
    b = ledger.execution_row("b")
    assert b["status"] == "succeeded"
    assert b["change_count"] == 1
    assert b["output_sha256"] == "c" * 64
    before = read_model_digest(ledger)
    ledger.runner.rebuild()
    assert read_model_digest(ledger) == before


def test_a_read_model_whose_columns_changed_rebuilds_itself_from_the_log(
    settings: Settings,
) -> None:
    first = bootstrap(settings)
    try:
        first.record([_finished("a", 0, parent="p"), _finished("p", 1)])
        first.catch_up()
        before = read_model_digest(first)
        datastore = first.events.recorder.datastore  # type: ignore[attr-defined]
        with datastore.transaction(commit=True) as c:  # as an older release left it
            c.execute("ALTER TABLE executions DROP COLUMN parent")
    finally:
        first.close()
    second = bootstrap(settings)
    try:
        second.catch_up()
        assert read_model_digest(second) == before
        assert second.execution_row("a")["parent"] == "p"
    finally:
        second.close()


def test_points_logged_as_a_run_goes_are_observed_and_summarised_like_the_whole_series(
    ledger: Ledger,
) -> None:
    from tests.integration.test_rebuild_in_parts_on_both_backends import search_digest

    points = [MetricPoint(v, step=i) for i, v in enumerate([0.9, 0.4, 0.7, 0.2])]
    for upto in range(1, 5):  # the run logs one more point at a time
        ledger.record([make_record("r", status=Status.RUNNING, metrics={"loss": points[:upto]})])
    assert [type(e.event).__name__ for e in ledger.history("r")] == ["Recorded", *["Observed"] * 3]
    ledger.catch_up()
    datastore = ledger.events.recorder.datastore  # type: ignore[attr-defined]
    with datastore.transaction(commit=False) as c:
        c.execute("SELECT last, min, max, step FROM execution_metrics WHERE name = 'loss'")
        row = dict(c.fetchone())
    assert row == {"last": 0.2, "min": 0.2, "max": 0.9, "step": 3}
    before = search_digest(ledger)
    ledger.runner.rebuild()
    assert search_digest(ledger) == before
