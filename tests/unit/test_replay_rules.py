import pytest

from provledger.application.replay import replay
from provledger.domain.record import Status
from provledger.projections.views import CasesView, ExecutionsView
from tests.fakes import memory_ledger
from tests.unit.records import make_record


def test_replay_shows_the_canonical_and_deltas_as_they_were_at_a_position() -> None:
    ledger, views = memory_ledger()
    ledger.record([make_record("a", minutes=0), make_record("b", minutes=1, params={"dt": 1})])
    before = ledger.events.max_position()
    ledger.choose_canonical("ocean", "b", "better")
    live = dict(views.rows("executions"))
    then = replay(ledger.events, [CasesView(), ExecutionsView()], position=before)
    now = replay(
        ledger.events, [CasesView(), ExecutionsView()], position=ledger.events.max_position()
    )
    assert then.cases[0]["canonical_execution_id"] == "a"
    assert now.cases[0]["canonical_execution_id"] == "b"
    b_then = next(e for e in then.executions if e["execution_id"] == "b")
    assert b_then["deltas"] == {"params.dt": {"canonical": 0.5, "current": 1}}
    assert views.rows("executions") == live  # live read models untouched


def test_replay_by_timestamp_stops_before_later_events() -> None:
    ledger, _ = memory_ledger()
    ledger.record([make_record("a", status=Status.FAILED)])
    (first,) = ledger.history("a")
    ledger.record([make_record("b", minutes=1)])
    snap = replay(ledger.events, [CasesView(), ExecutionsView()], as_of=first.event.timestamp)
    assert [e["execution_id"] for e in snap.executions] == ["a"]


def test_replay_needs_a_point_in_time() -> None:
    ledger, _ = memory_ledger()
    with pytest.raises(ValueError, match="position or a timestamp"):
        replay(ledger.events, [CasesView()])
