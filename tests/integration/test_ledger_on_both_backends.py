"""One test body, run on SQLite and on a real PostgreSQL (the `ledger` fixture)."""

import hashlib
import json

from provledger.adapters.settings import Settings
from provledger.application.ledger import Ledger
from provledger.application.ports import ExecutionFilter, PreparedSave
from provledger.application.record_executions import Outcome
from provledger.domain.record import Status
from tests.unit.records import make_record


def read_model_digest(ledger: Ledger) -> str:
    """A hash of every row of the read models, independent of physical order."""
    datastore = ledger.events.recorder.datastore  # type: ignore[attr-defined]
    digest = hashlib.sha256()
    with datastore.transaction(commit=False) as c:
        for table, key in (("cases", "case_id"), ("executions", "id")):
            c.execute(f"SELECT * FROM {table} ORDER BY {key}")
            for row in c.fetchall():
                digest.update(json.dumps(dict(row), sort_keys=True, default=str).encode())
    return digest.hexdigest()


def test_recorded_executions_are_grouped_into_cases_with_one_canonical(ledger: Ledger) -> None:
    results = ledger.record(
        [
            make_record("a", status=Status.FAILED, minutes=0),
            make_record("b", minutes=1),
            make_record("c", minutes=2, params={"dt": 0.1}),
            make_record("d", status=Status.INCOMPLETE, minutes=3, missing=["timing"]),
        ]
    )
    assert [r.outcome for r in results] == [Outcome.CREATED] * 4
    case = ledger.queries.case("default/ocean")
    assert case is not None
    assert case["canonical_execution_id"] == "b"
    assert (case["n_executions"], case["n_succeeded"], case["n_failed"], case["n_incomplete"]) == (
        4,
        2,
        1,
        1,
    )
    rows = {r["execution_id"]: r for r in ledger.queries.executions_of_case(case["case_id"])}
    assert rows["c"]["deltas"] == {"params.dt": {"canonical": 0.5, "current": 0.1}}
    assert rows["c"]["change_count"] == 1


def test_history_lists_an_executions_events_with_positions(ledger: Ledger) -> None:
    ledger.record([make_record("a")])
    ledger.annotate("a", {"reviewed": "yes"}, note="looks right")
    history = ledger.history("a")
    assert [type(e.event).__name__ for e in history] == ["Recorded", "Annotated"]
    assert history[0].position < history[1].position
    assert history[1].event.note == "looks right"
    assert history[0].event.actor


def test_filters_and_cursor_pagination_walk_every_execution_once(ledger: Ledger) -> None:
    from provledger.application.ports import ExecutionFilter

    ledger.record(
        [
            make_record(f"r{i:02}", minutes=i, params={"compiler": "intel" if i % 2 else "gnu"})
            for i in range(25)
        ]
    )
    seen: list[str] = []
    cursor = None
    while True:
        page = ledger.queries.list_executions(limit=7, cursor=cursor)
        seen += [r["execution_id"] for r in page.items]
        if not (cursor := page.next_cursor):
            break
    assert seen == [f"r{i:02}" for i in range(25)]
    intel = ledger.queries.list_executions(ExecutionFilter(params={"compiler": "intel"}), limit=100)
    assert len(intel.items) == 12
    canonical = ledger.queries.list_executions(ExecutionFilter(canonical=True))
    assert [r["execution_id"] for r in canonical.items] == ["r00"]


def test_a_rebuild_from_zero_gives_identical_read_models(ledger: Ledger) -> None:
    ledger.record(
        [make_record(f"r{i}", case=f"c{i % 3}", minutes=i, params={"n": i % 4}) for i in range(40)]
    )
    ledger.choose_canonical("c1", "r7", "better resolution")
    ledger.annotate("r5", {"flag": "x"})
    before = read_model_digest(ledger)
    ledger.runner.rebuild()
    assert read_model_digest(ledger) == before
    assert all(s.lag == 0 for s in ledger.runner.status())


def test_a_rebuild_of_one_projection_leaves_the_other_alone(ledger: Ledger) -> None:
    ledger.record([make_record(f"r{i}", minutes=i) for i in range(5)])
    before = read_model_digest(ledger)
    ledger.runner.rebuild(["executions"])
    assert read_model_digest(ledger) == before


def test_recording_in_many_batches_is_incremental(ledger: Ledger) -> None:
    first = ledger.record([make_record(f"r{i}", minutes=i) for i in range(250)])
    again = ledger.record([make_record(f"r{i}", minutes=i) for i in range(260)])
    assert sum(r.outcome is Outcome.CREATED for r in first) == 250
    assert sum(r.outcome is Outcome.DUPLICATE for r in again) == 250
    assert sum(r.outcome is Outcome.CREATED for r in again) == 10
    assert ledger.queries.counts() == {"cases": 1, "executions": 260}


def test_bulk_recording_writes_every_event_once_and_reports_the_last_position(
    ledger: Ledger,
) -> None:
    records = [
        make_record(f"bulk-{i}", case=f"case-{i % 5}", minutes=i, params={"dt": i})
        for i in range(300)
    ]
    batches = [records[i : i + 40] for i in range(0, 300, 40)]
    results = list(ledger.recorder.record_batches(batches))
    assert [len(rs) for rs in results] == [len(b) for b in batches]
    assert all(r.outcome is Outcome.CREATED for rs in results for r in rs)
    assert results[-1][0].position == ledger.events.max_position() == 300 + 5 + 5
    again = [r for rs in ledger.recorder.record_batches(batches) for r in rs]
    assert {r.outcome for r in again} == {Outcome.DUPLICATE}
    assert ledger.events.max_position() == 310
    ledger.catch_up()
    cases = ledger.queries.list_cases()
    assert sorted(c["canonical_execution_id"] for c in cases.items) == [
        f"bulk-{i}" for i in range(5)
    ]


def test_a_bulk_save_that_loses_a_race_to_another_process_is_redone_and_loses_nothing(
    ledger: Ledger, settings: Settings
) -> None:
    from provledger.adapters.bootstrap import bootstrap
    from provledger.application.record_executions import ExecutionRecorder

    other = bootstrap(settings)  # another writer on the same database
    store = ledger.events
    commit = store.commit
    raced: list[int] = []

    def commit_after_a_rival(prepared: PreparedSave) -> int:
        if not raced:  # the rival's first success in case-0 is saved just before ours
            raced.append(1)
            rival = make_record("rival", case="case-0", minutes=-60)
            other.recorder.record([rival])
        return commit(prepared)

    store.commit = commit_after_a_rival  # type: ignore[method-assign]
    try:
        records = [make_record(f"r-{i}", case=f"case-{i % 3}", minutes=i) for i in range(90)]
        batches = [records[i : i + 30] for i in range(0, 90, 30)]
        results = [r for rs in ExecutionRecorder(store).record_batches(batches) for r in rs]
    finally:
        store.commit = commit  # type: ignore[method-assign]
        other.close()
    assert raced
    assert all(r.outcome is Outcome.CREATED for r in results)
    ledger.catch_up()
    rows = ledger.queries.list_executions(ExecutionFilter(), limit=1000).items
    assert len(rows) == 91  # every execution once, the rival's included
    canonicals = {r["case_name"]: r["execution_id"] for r in rows if r["is_canonical"]}
    assert canonicals == {"case-0": "rival", "case-1": "r-1", "case-2": "r-2"}
