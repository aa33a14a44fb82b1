"""`projections rebuild --jobs N`: the log split by case across processes gives the same read
models as one process, on SQLite and a real PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest

from provledger.adapters.settings import Settings
from provledger.adapters.sqlviews.rebuild_parts import ProcessPartLauncher
from provledger.application.capture import finish_execution, start_execution
from provledger.application.ledger import Ledger
from provledger.domain.record import ExecutionRecord, Status
from provledger.projections.runner import RebuildConflictError
from tests.integration.test_ledger_on_both_backends import read_model_digest
from tests.unit.records import T0, make_record


def _fill(ledger: Ledger) -> None:
    ledger.record(
        [
            make_record(
                f"r{i}",
                case=f"case{i % 7}",
                status=Status.FAILED if i % 5 == 0 else Status.SUCCEEDED,
                minutes=i,
                params={"dt": i % 3},
                group="g" if i % 7 == 3 and i > 20 else None,
            )
            for i in range(260)
        ]
    )
    ledger.choose_canonical("case2", "r37", "a later, finer run")
    ledger.annotate("r1", {"checked": "yes"}, [], note="looked at it")
    live = ExecutionRecord("live", "case4", Status.RUNNING, started=T0)
    start_execution(ledger, live)
    ledger.record([make_record("r300", case="case4", status=Status.RUNNING, minutes=300)])
    ledger.record([make_record("r300", case="case4", minutes=300, ended=T0 + timedelta(1))])
    finish_execution(ledger, msgspec.structs.replace(live, status=Status.SUCCEEDED))


@pytest.mark.slow
def test_a_rebuild_split_across_two_processes_gives_the_same_tables(
    ledger: Ledger, settings: Settings
) -> None:
    _fill(ledger)
    ledger.catch_up()
    ledger.runner.rebuild()
    one_process = read_model_digest(ledger), search_digest(ledger)

    ledger.runner.rebuild(jobs=2, launcher=ProcessPartLauncher(settings.store()))

    assert (read_model_digest(ledger), search_digest(ledger)) == one_process
    assert all(s.lag == 0 for s in ledger.runner.status())
    names = list(ledger.runner.projections)
    assert ledger.runner.views.part_positions(names, "__rebuild") == {}  # type: ignore[attr-defined]


def search_digest(ledger: Ledger) -> list[str]:
    datastore = ledger.events.recorder.datastore  # type: ignore[attr-defined]
    out = []
    with datastore.transaction(commit=False) as c:
        for table in ("execution_values", "execution_metrics", "execution_files"):
            c.execute(f"SELECT * FROM {table} ORDER BY id")
            out += [repr(sorted(dict(row).items())) for row in c.fetchall()]
    return out


class _FailingLauncher:
    def start(self, names: list[str], jobs: int, head: int) -> list[object]:
        from concurrent.futures import Future

        failed: Future[None] = Future()
        failed.set_exception(RuntimeError("part 1 crashed"))
        return [failed]

    def close(self) -> None:
        pass


def test_a_split_rebuild_whose_part_fails_leaves_the_live_tables_as_they_were(
    ledger: Ledger,
) -> None:
    _fill(ledger)
    ledger.catch_up()
    before = read_model_digest(ledger)
    with pytest.raises(RuntimeError, match="part 1 crashed"):
        ledger.runner.rebuild(jobs=2, launcher=_FailingLauncher())  # type: ignore[arg-type]
    assert read_model_digest(ledger) == before


def test_joining_parts_that_did_not_finish_is_a_rebuild_conflict(ledger: Ledger) -> None:
    _fill(ledger)
    ledger.catch_up()
    views = ledger.runner.views
    for projection in ledger.runner.projections.values():
        views.ensure(projection, "__rebuild")
    with pytest.raises(RebuildConflictError, match="did not reach position"):
        views.join_parts(["cases"], "__rebuild", ["_0of2", "_1of2"], 10)
