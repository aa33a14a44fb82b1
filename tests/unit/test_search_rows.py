"""The search projection's rows (ADR 0009), over the in-memory fakes: typed values, the
per-execution field list, and tombstones by key."""

from __future__ import annotations

import math

from provledger.application.capture import finish_execution, start_execution
from provledger.domain.record import Status
from provledger.projections.search_tables import text_number, typed
from tests.fakes import memory_ledger
from tests.unit.records import make_record


def test_a_number_has_no_text_and_a_numeric_string_keeps_both() -> None:
    assert typed(0.5) == (None, 0.5)
    assert typed(4) == (None, 4.0)
    assert typed("0.50") == ("0.50", 0.5)
    assert typed("fast") == ("fast", None)
    assert typed(True) == ("true", None)
    assert typed({"a": [1]}) == ('{"a":[1]}', None)
    assert typed(math.nan) == ("nan", None)  # not finite: kept as text
    assert typed(10**400)[1] is None  # past the float range: text only
    assert typed("x" * 600)[0] == "x" * 512
    assert text_number("1e-3") == 0.001
    assert text_number("1e999") is None


def test_values_a_final_record_lacks_become_tombstones_by_key() -> None:
    ledger, views = memory_ledger()
    start_execution(
        ledger, make_record("r", status=Status.RUNNING, params={"dt": 1, "warmup": "on"})
    )
    (execution,) = views.rows("executions")
    fields = views.rows("execution_fields")[execution]["fields"]
    assert "params\twarmup" in fields
    assert "params\tdt" in fields
    finish_execution(ledger, make_record("r", params={"dt": 2}))
    values = views.rows("execution_values")
    assert values[f"{execution}\tparams\twarmup"]["kind"] == ""  # no condition finds it
    assert values[f"{execution}\tparams\tdt"] | {"id": None} == {
        "id": None,
        "execution": execution,
        "kind": "params",
        "name": "dt",
        "text": None,
        "number": 2.0,
    }
    assert "params\twarmup" not in views.rows("execution_fields")[execution]["fields"]
