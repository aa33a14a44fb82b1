"""How projections write their rows, on SQLite and on a real PostgreSQL (`ledger` fixture):
catch-up batches, and rebuilds through the bulk session.

The fixture's ledger writes out every 100 rows, so these logs span many write-outs, and rows
leave the rebuild's cache long before later events touch them again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from provledger.adapters.sqlviews.sessions import BulkSqlSession
from provledger.adapters.sqlviews.views import SqlViewStore
from provledger.application.capture import finish_execution, start_execution
from provledger.application.ledger import Ledger
from provledger.domain.record import ExecutionRecord, Status
from provledger.projections.runner import REBUILD_SUFFIX, RebuildConflictError
from provledger.projections.tables import EXECUTIONS
from provledger.projections.views import ExecutionsView
from tests.integration.test_ledger_on_both_backends import read_model_digest
from tests.unit.records import make_record

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_rebuild_spanning_many_write_outs_gives_identical_read_models(ledger: Ledger) -> None:
    # "late" fails 150 times before its first success: its canonical comes long after its
    # first rows were written out and left the cache.
    ledger.record(
        [
            make_record(
                f"late-{i}",
                case="late",
                status=Status.FAILED if i < 150 else Status.SUCCEEDED,
                minutes=i,
                params={"n": i % 5},
            )
            for i in range(200)
        ]
        + [make_record(f"busy-{i}", case=f"busy{i % 4}", minutes=i) for i in range(300)]
    )
    ledger.choose_canonical("late", "late-160", "manual pick of a later run")
    ledger.annotate("late-0", {"checked": "yes"}, ["missing"], note="first of all")
    ledger.annotate("busy-1", {}, ["none"])
    running = ExecutionRecord("live", "late", Status.RUNNING, started=T0)
    start_execution(ledger, running)
    ledger.record([make_record(f"after-{i}", case="late", minutes=500 + i) for i in range(120)])
    final = msgspec.structs.replace(running, status=Status.SUCCEEDED, ended=T0 + timedelta(1))
    finish_execution(ledger, final)
    before = read_model_digest(ledger)

    ledger.runner.rebuild()

    assert read_model_digest(ledger) == before
    assert all(s.lag == 0 for s in ledger.runner.status())
    late = ledger.case_row("late")
    assert late["canonical_execution_id"] == "late-160"
    assert ledger.execution_row("late-0")["tags"]["checked"] == "yes"
    assert ledger.execution_row("live")["status"] == "succeeded"


def _views(ledger: Ledger) -> SqlViewStore:
    views = ledger.runner.views
    assert isinstance(views, SqlViewStore)
    return views


def _fresh_executions(ledger: Ledger) -> SqlViewStore:
    views = _views(ledger)
    projection = ExecutionsView()
    views.drop(projection, REBUILD_SUFFIX)
    views.ensure(projection, REBUILD_SUFFIX)
    return views


def _row(execution: str, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(EXECUTIONS.column_names)
    row.update(id=execution, execution_id=execution, case_id="c", sort_started="", position=1)
    row.update(is_canonical=0, change_count=0, retracted=0, tags={}, persisted={})
    row.update(changes)
    return row


def _stored(ledger: Ledger, execution: str, suffix: str = REBUILD_SUFFIX) -> dict[str, Any]:
    views = _views(ledger)
    mark = views.dialect.mark
    with views.datastore.transaction(commit=False) as c:
        c.execute(f"SELECT * FROM executions{suffix} WHERE id = {mark}", (execution,))
        return dict(c.fetchone())


def test_a_catch_up_batch_that_puts_a_held_row_without_reading_it_updates_that_row(
    ledger: Ledger,
) -> None:
    ledger.catch_up()
    views = _views(ledger)
    with views.batch(["executions"]) as session:
        session.put(EXECUTIONS, _row("a", status="running"))  # appended: the table lacks it
    with views.batch(["executions"]) as session:
        session.put(EXECUTIONS, _row("a", status="succeeded"))  # held, but never read here
    assert _stored(ledger, "a", suffix="")["status"] == "succeeded"


def test_a_row_put_again_after_leaving_the_cache_is_upserted_not_duplicated(
    ledger: Ledger,
) -> None:
    views = _fresh_executions(ledger)
    with views.bulk(["executions"], REBUILD_SUFFIX, flush_rows=1) as session:
        assert isinstance(session, BulkSqlSession)
        session.put(EXECUTIONS, _row("a", status="running"))
        session.checkpoint(1)  # written out; "a" was touched, so it stays cached
        session.put(EXECUTIONS, _row("b"))
        session.checkpoint(2)  # written out; "a" untouched since, so it leaves the cache
        assert "a" not in session._rows["executions"]
        session.put(EXECUTIONS, _row("a", status="succeeded", position=3))  # never read back
        session.checkpoint(3)
    assert _stored(ledger, "a")["status"] == "succeeded"
    assert _stored(ledger, "b")["status"] is None


def test_a_second_rebuild_of_the_same_tables_stops_the_first_with_a_clear_error(
    ledger: Ledger,
) -> None:
    def rebuild_overtaken_by_another() -> None:
        views = _fresh_executions(ledger)
        with views.bulk(["executions"], REBUILD_SUFFIX, flush_rows=1) as session:
            session.put(EXECUTIONS, _row("a"))
            _fresh_executions(ledger)  # another rebuild starts over: new tables, its own claim
            with views.bulk(["executions"], REBUILD_SUFFIX, flush_rows=1) as other:
                other.put(EXECUTIONS, _row("b"))
            session.checkpoint(1)

    with pytest.raises(RebuildConflictError, match="another rebuild"):
        rebuild_overtaken_by_another()
    assert _stored(ledger, "b")["id"] == "b"


def test_a_rebuild_whose_tables_were_recreated_meanwhile_is_not_swapped_in(
    ledger: Ledger,
) -> None:
    ledger.record([make_record("kept")])
    live = read_model_digest(ledger)
    views = _fresh_executions(ledger)
    with views.bulk(["executions"], REBUILD_SUFFIX, flush_rows=1) as session:
        session.put(EXECUTIONS, _row("mine"))
        session.checkpoint(5)
    _fresh_executions(ledger)  # another rebuild recreates the tables before the swap
    with pytest.raises(RebuildConflictError, match="before this one could swap"):
        views.swap_in(ExecutionsView(), REBUILD_SUFFIX, 5)
    assert read_model_digest(ledger) == live


def test_the_cli_reports_a_rebuild_conflict_as_the_users_error() -> None:
    from provledger.adapters.cli.failures import describe

    described = describe(RebuildConflictError("projection 'cases': another rebuild is writing"))
    assert described == ("projection 'cases': another rebuild is writing", 2)
