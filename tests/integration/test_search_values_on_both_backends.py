"""The search projection's value rows (ADR 0009): read by key, numbers without text, values a
later record lacks dropped from the answers; SQLite and Postgres."""

from __future__ import annotations

from datetime import timedelta

from provledger.application.capture import finish_execution, start_execution
from provledger.application.ledger import Ledger
from provledger.domain.query import parse, parse_field
from provledger.domain.record import Status
from tests.unit.records import T0, make_record


def ids(ledger: Ledger, where: str) -> list[str]:
    page = ledger.queries.list_executions(query=parse(where), limit=1000)
    return sorted(r["execution_id"] for r in page.items)


def uuids(ledger: Ledger) -> dict[str, str]:
    return {r["execution_id"]: r["id"] for r in ledger.queries.list_executions(limit=100).items}


def test_a_quoted_number_matches_the_same_number_recorded_as_a_number(ledger: Ledger) -> None:
    ledger.record(
        [
            make_record("text", params={"dt": "0.50", "n": "7"}),
            make_record("number", minutes=1, params={"dt": 0.5, "n": 7}),
            make_record("word", minutes=2, params={"dt": "fast", "n": 8}),
        ]
    )
    assert ids(ledger, "params.dt = 0.5") == ["number", "text"]
    assert ids(ledger, "params.dt = '0.5'") == ["number"]  # the text "0.50" is other text
    assert ids(ledger, "params.dt = '0.50'") == ["number", "text"]
    assert ids(ledger, "params.dt != '0.5'") == ["text", "word"]
    assert ids(ledger, "params.dt != 'fast'") == ["number", "text"]
    assert ids(ledger, "params.n in ('7', x)") == ["number", "text"]
    assert ids(ledger, "params.n like '7*'") == ["text"]  # like reads text; 7 was a number
    assert ids(ledger, "params.dt < 1 and params.n >= 7") == ["number", "text"]


def test_a_value_the_final_record_lacks_is_no_longer_found(ledger: Ledger) -> None:
    # A captured run's final record replaces the running one (ExecutionFinished).
    start_execution(
        ledger, make_record("r", status=Status.RUNNING, params={"dt": 1, "warmup": "on"})
    )
    ledger.record([make_record("other", minutes=1, params={"dt": 2, "warmup": "off"})])
    assert ids(ledger, "params.warmup exists") == ["other", "r"]
    done = make_record(
        "r", status=Status.SUCCEEDED, params={"dt": 3}, ended=T0 + timedelta(seconds=5)
    )
    finish_execution(ledger, done)
    assert ids(ledger, "params.warmup exists") == ["other"]
    assert ids(ledger, "params.dt = 3 and duration = 5") == ["r"]
    assert ids(ledger, "params.dt = 1") == []
    by_warmup = ledger.queries.list_executions(order=(parse_field("params.warmup"), False))
    assert [r["execution_id"] for r in by_warmup.items] == ["other", "r"]  # r has none: last
    ledger.runner.rebuild(["search"])
    assert ids(ledger, "params.warmup exists") == ["other"]


def test_columns_read_typed_values_by_key(ledger: Ledger) -> None:
    ledger.record(
        [
            make_record("a", params={"dt": "0.5", "opt": "adam", "layers": 4}, tags={"t": "x"}),
            make_record("b", minutes=1, params={"dt": 0.25}),
        ]
    )
    ledger.annotate("b", tags={"t": "y"}, remove=None)
    by_name = uuids(ledger)
    fields = [parse_field(f) for f in ("params.dt", "params.opt", "params.layers", "tags.t")]
    values = ledger.queries.values_of([by_name["a"], by_name["b"]], fields)
    assert values[by_name["a"]] == {
        "params.dt": 0.5,
        "params.opt": "adam",
        "params.layers": 4.0,
        "tags.t": "x",
    }
    assert values[by_name["b"]] == {"params.dt": 0.25, "tags.t": "y"}
    ledger.annotate("b", tags={}, remove=["t"])
    assert ledger.queries.values_of([by_name["b"]], fields)[by_name["b"]] == {"params.dt": 0.25}
