from hypothesis import given
from hypothesis import strategies as st

from provledger.domain.canonical import first_successful
from provledger.domain.record import Status
from tests.fakes import memory_ledger
from tests.unit.records import make_record


def test_first_successful_execution_becomes_canonical() -> None:
    ledger, views = memory_ledger()
    results = ledger.record(
        [
            make_record("a", status=Status.FAILED, minutes=0),
            make_record("b", status=Status.SUCCEEDED, minutes=1),
            make_record("c", status=Status.SUCCEEDED, minutes=2),
        ]
    )
    assert {r.execution_id: r.canonical for r in results} == {"a": False, "b": True, "c": False}
    (case,) = views.rows("cases").values()
    assert case["canonical_execution_id"] == "b"


def test_failed_and_incomplete_executions_are_never_canonical() -> None:
    ledger, views = memory_ledger()
    ledger.record(
        [make_record("a", status=Status.FAILED), make_record("b", status=Status.INCOMPLETE)]
    )
    (case,) = views.rows("cases").values()
    assert case["canonical"] is None
    assert case["n_failed"] == 1
    assert case["n_incomplete"] == 1


def test_a_later_success_never_replaces_the_canonical() -> None:
    ledger, views = memory_ledger()
    ledger.record([make_record("b", minutes=5)])
    ledger.record([make_record("a", minutes=0)])  # started earlier, but arrived later
    (case,) = views.rows("cases").values()
    assert case["canonical_execution_id"] == "b"


def test_canonical_choice_is_in_the_same_save_as_its_execution() -> None:
    ledger, _ = memory_ledger()
    ledger.record([make_record("b")])
    positions = {type(e.event).__name__: e.position for e in ledger.events.read(0, 10)}
    # One atomic save: CaseOpened, CanonicalChosen and ExecutionRecorded are adjacent positions.
    assert sorted(positions.values()) == [1, 2, 3]


@given(st.permutations(["r1", "r2", "r3", "r4", "r5"]))
def test_the_choice_within_a_batch_never_depends_on_arrival_order(order: list[str]) -> None:
    records = {
        "r1": make_record("r1", status=Status.FAILED, minutes=0),
        "r2": make_record("r2", minutes=3),
        "r3": make_record("r3", minutes=1),
        "r4": make_record("r4", minutes=1),  # same start as r3: the id breaks the tie
        "r5": make_record("r5", status=Status.INCOMPLETE, minutes=0),
    }
    chosen = first_successful(records[k] for k in order)
    assert chosen is not None
    assert chosen.execution_id == "r3"
