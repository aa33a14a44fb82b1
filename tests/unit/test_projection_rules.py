import pytest

from provledger.domain.errors import CanonicalRuleError
from provledger.domain.record import Status
from tests.fakes import memory_ledger
from tests.unit.records import make_record


def test_every_execution_carries_its_deltas_against_the_canonical() -> None:
    ledger, views = memory_ledger()
    ledger.record(
        [make_record("a", params={"dt": 0.5}), make_record("b", minutes=1, params={"dt": 1})]
    )
    rows = {r["execution_id"]: r for r in views.rows("executions").values()}
    assert rows["a"]["is_canonical"] == 1
    assert rows["a"]["change_count"] == 0
    assert rows["b"]["deltas"] == {"params.dt": {"canonical": 0.5, "current": 1}}
    assert rows["b"]["change_count"] == 1


def test_a_manual_canonical_choice_recomputes_every_delta_of_the_case() -> None:
    ledger, views = memory_ledger()
    ledger.record(
        [
            make_record("a", params={"dt": 0.5}),
            make_record("b", minutes=1, params={"dt": 1}),
            make_record("c", minutes=2, params={"dt": 2}),
        ]
    )
    ledger.choose_canonical("ocean", "b", "a is numerically unstable")
    rows = {r["execution_id"]: r for r in views.rows("executions").values()}
    assert [k for k, r in sorted(rows.items()) if r["is_canonical"]] == ["b"]
    assert rows["a"]["deltas"] == {"params.dt": {"canonical": 1, "current": 0.5}}
    assert rows["c"]["deltas"] == {"params.dt": {"canonical": 1, "current": 2}}
    chosen = [
        e.event for e in ledger.events.read(0, 100) if type(e.event).__name__ == "CanonicalChosen"
    ]
    assert [(c.execution_id, c.reason, c.previous_execution_id) for c in chosen] == [
        ("a", "first-successful", None),
        ("b", "manual", "a"),
    ]


def test_a_failed_execution_cannot_be_chosen_canonical_by_hand() -> None:
    ledger, _ = memory_ledger()
    ledger.record([make_record("a"), make_record("b", status=Status.FAILED)])
    with pytest.raises(CanonicalRuleError, match="only a succeeded execution"):
        ledger.choose_canonical("ocean", "b", "because")


def test_a_manual_choice_needs_a_reason() -> None:
    ledger, _ = memory_ledger()
    ledger.record([make_record("a"), make_record("b", minutes=1)])
    with pytest.raises(CanonicalRuleError, match="needs a reason"):
        ledger.choose_canonical("ocean", "b", "  ")


def test_a_rebuild_gives_the_same_read_models() -> None:
    ledger, views = memory_ledger()
    ledger.record([make_record(f"r{i}", minutes=i, params={"dt": i % 3}) for i in range(20)])
    ledger.annotate("r3", {"keep": "yes"}, note="interesting")
    before = {t: dict(views.rows(t)) for t in ("cases", "executions")}
    ledger.runner.rebuild()
    after = {t: dict(views.rows(t)) for t in ("cases", "executions")}
    assert after == before
    assert after["executions"][ledger.execution_row("r3")["id"]]["tags"] == {"keep": "yes"}


def test_bulk_work_pauses_the_cycle_collector_until_the_last_nested_user_leaves() -> None:
    import gc

    from provledger.bulk_tuning import paused_cycle_collector

    assert gc.isenabled()
    with paused_cycle_collector():
        assert not gc.isenabled()
        with paused_cycle_collector():  # another runner (thread) at the same time
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_prompt_handoffs_shorten_the_switch_interval_and_restore_it_after_the_last_user() -> None:
    import sys

    from provledger.bulk_tuning import SWITCH_INTERVAL_IN_PIPELINES, prompt_handoffs

    before = sys.getswitchinterval()
    with prompt_handoffs():
        assert sys.getswitchinterval() <= SWITCH_INTERVAL_IN_PIPELINES
        with prompt_handoffs():
            pass
        assert sys.getswitchinterval() <= SWITCH_INTERVAL_IN_PIPELINES
    assert sys.getswitchinterval() == before
