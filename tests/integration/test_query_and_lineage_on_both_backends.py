"""The query language, ordering and lineage over the real read models, SQLite and Postgres."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from provledger.application.ledger import Ledger
from provledger.application.lineage import execution_lineage, file_lineage
from provledger.domain.query import QueryError, parse, parse_field
from provledger.domain.record import CodeVersion, FileRef, MetricPoint, Spec, Status
from tests.unit.records import T0, make_record


def sha(n: int) -> str:
    return f"{n:064x}"


def ids(ledger: Ledger, where: str, **options: object) -> list[str]:
    page = ledger.queries.list_executions(query=parse(where), limit=1000, **options)  # type: ignore[arg-type]
    return sorted(r["execution_id"] for r in page.items)


@pytest.fixture
def runs(ledger: Ledger) -> Ledger:
    ledger.record(
        [
            make_record(
                "a",
                params={"dt": "0.5", "optimizer": "adam", "layers": 4},
                spec=Spec(format="toml", resolved={"box": {"dt": 0.5, "name": "Box[1]"}}),
                metrics={"loss": [MetricPoint(0.9, 0), MetricPoint(0.05, 1)]},
                tags={"team": "ocean"},
                code=CodeVersion(commit="abc", dirty=True),
                ended=T0 + timedelta(seconds=90),
                group="sweep",
            ),
            make_record(
                "b",
                minutes=1,
                params={"dt": 0.25, "optimizer": "sgd"},
                spec=Spec(format="toml", resolved={"box": {"dt": 0.25}}),
                metrics={"loss": [MetricPoint(0.2, 7)]},
                code=CodeVersion(commit="def", dirty=False),
                ended=T0 + timedelta(minutes=1, seconds=30),
            ),
            make_record(
                "c",
                minutes=2,
                status=Status.FAILED,
                params={"dt": "fast", "optimizer": "ADAM"},
                spec=None,
                code=None,
            ),
        ]
    )
    return ledger


def test_every_operator_compares_typed_values(runs: Ledger) -> None:
    assert ids(runs, "params.dt = 0.50") == ["a"]  # "0.5" recorded as a string
    assert ids(runs, "params.dt = '0.5'") == ["a"]  # a quoted string compares as text
    assert ids(runs, "params.dt != 0.5") == ["b", "c"]
    assert ids(runs, "params.dt < 0.5") == ["b"]
    assert ids(runs, "params.dt <= 0.5") == ["a", "b"]
    assert ids(runs, "params.dt > 0.3") == ["a"]
    assert ids(runs, "params.dt >= 0.25") == ["a", "b"]
    assert ids(runs, "params.dt in (0.25, fast)") == ["b", "c"]
    assert ids(runs, "params.optimizer like 'ad*'") == ["a"]  # case-sensitive on both
    assert ids(runs, "params.optimizer like '?GD'") == []
    assert ids(runs, "params.layers exists") == ["a"]
    assert ids(runs, "not params.layers exists") == ["b", "c"]
    assert ids(runs, "params.dt < 0.3 or params.layers = 4") == ["a", "b"]
    assert ids(runs, "status = succeeded and not (params.dt = 0.5)") == ["b"]


def test_config_metrics_tags_code_times_and_columns_are_fields(runs: Ledger) -> None:
    assert ids(runs, "config.box.dt = 0.5") == ["a"]
    assert ids(runs, "config.spec.resolved.box.dt = 0.25") == ["b"]  # the deltas' names
    assert ids(runs, "config.params.dt = 0.25") == ["b"]
    assert ids(runs, "config.box.name = 'Box[1]'") == ["a"]
    assert ids(runs, "config.box.name like 'Box[*'") == ["a"]
    assert ids(runs, "metrics.loss < 0.1") == ["a"]  # the last value
    assert ids(runs, "metrics.loss.max >= 0.9") == ["a"]
    assert ids(runs, "metrics.loss.min > 0.1") == ["b"]
    assert ids(runs, "metrics.loss.step = 7") == ["b"]
    assert ids(runs, "tags.team = ocean") == ["a"]
    assert ids(runs, "code.commit = def and code.dirty = false") == ["b"]
    assert ids(runs, "code.dirty = true") == ["a"]
    assert ids(runs, "duration > 20 and duration <= 90") == ["a", "b"]
    assert ids(runs, "started >= 2026-01-01T00:01:00Z") == ["b", "c"]
    assert ids(runs, "started < '2026-01-01T01:01:00+01:00'") == ["a"]
    assert ids(runs, "ended exists") == ["a", "b"]
    assert ids(runs, "status in (failed, running)") == ["c"]
    assert ids(runs, "group = sweep") == ["a"]
    assert ids(runs, "group != sweep") == []
    assert ids(runs, "not group = sweep") == ["b", "c"]
    assert ids(runs, "case = ocean and namespace = default") == ["a", "b", "c"]
    assert ids(runs, "change_count >= 0 and canonical = true") == ["a"]
    assert ids(runs, "parent exists") == []


def test_a_literal_that_does_not_fit_its_field_is_an_error(runs: Ledger) -> None:
    with pytest.raises(QueryError, match=r"metrics\.loss is a number"):
        ids(runs, "metrics.loss = low")
    with pytest.raises(QueryError, match="not ISO 8601"):
        ids(runs, "started > yesterday")


def test_the_existing_filters_combine_with_a_query(runs: Ledger) -> None:
    from provledger.application.ports import ExecutionFilter

    page = runs.queries.list_executions(
        ExecutionFilter(params={"optimizer": "adam"}), query=parse("params.dt exists")
    )
    assert [r["execution_id"] for r in page.items] == ["a"]


def test_executions_order_by_any_field_with_a_cursor(runs: Ledger) -> None:
    order = (parse_field("params.dt"), True)
    first = runs.queries.list_executions(order=order, limit=2)
    assert [r["execution_id"] for r in first.items] == ["a", "b"]  # numbers, then text
    rest = runs.queries.list_executions(order=order, limit=2, cursor=first.next_cursor)
    assert ([r["execution_id"] for r in rest.items], rest.next_cursor) == (["c"], None)
    by_loss = runs.queries.list_executions(order=(parse_field("metrics.loss"), False))
    assert [r["execution_id"] for r in by_loss.items] == ["a", "b", "c"]  # c has none: last


def test_tags_annotated_later_and_removed_are_searchable(runs: Ledger) -> None:
    runs.annotate("b", tags={"reviewed": "yes"}, remove=None)
    assert ids(runs, "tags.reviewed = yes") == ["b"]
    runs.annotate("a", tags={}, remove=["team"])
    assert ids(runs, "tags.team exists") == []


def test_a_running_execution_that_finishes_is_found_by_its_final_values(ledger: Ledger) -> None:
    running = make_record("r", status=Status.RUNNING, params={"dt": 1})
    ledger.record([running])
    assert ids(ledger, "status = running and params.dt = 1") == ["r"]
    done = make_record(
        "r",
        status=Status.SUCCEEDED,
        params={"dt": 1},
        ended=T0 + timedelta(seconds=5),
        metrics={"loss": [MetricPoint(0.5)]},
    )
    ledger.record([done])
    assert ids(ledger, "status = succeeded and metrics.loss = 0.5 and duration = 5") == ["r"]


def test_a_rebuild_of_the_search_projection_answers_the_same(runs: Ledger) -> None:
    before = ids(runs, "metrics.loss < 0.5 or tags.team exists")
    runs.runner.rebuild(["search"])
    assert ids(runs, "metrics.loss < 0.5 or tags.team exists") == before == ["a", "b"]


def test_lineage_of_a_diamond_finds_the_shared_upstream_once(ledger: Ledger) -> None:
    # source -> (left, right) -> join: join used two inputs that share one upstream.
    raw = FileRef("raw.nc", sha256=sha(1))
    ledger.record(
        [
            make_record("source", outputs=[raw]),
            make_record("left", minutes=1, inputs=[raw], outputs=[FileRef("l.nc", sha(2))]),
            make_record("right", minutes=2, inputs=[raw], outputs=[FileRef("r.nc", sha(3))]),
            make_record(
                "join",
                minutes=3,
                inputs=[FileRef("l.nc", sha(2)), FileRef("r.nc", sha(3))],
                artifacts=[FileRef("plot.png", sha(4))],
            ),
        ]
    )
    up = file_lineage(ledger.queries, sha(4), "up", 5)
    executions = {
        n["execution_id"]: n["depth"] for n in up.nodes.values() if n["type"] == "execution"
    }
    assert executions == {"join": 1, "left": 2, "right": 2, "source": 3}
    assert [n["execution_id"] for n in up.producers(sha(4))] == ["join"]
    down = file_lineage(ledger.queries, sha(1), "down", 5)
    consumers = sorted(n["execution_id"] for n in down.consumers(sha(1)))
    assert consumers == ["left", "right"]
    assert {n["execution_id"] for n in down.nodes.values() if n["type"] == "execution"} == {
        "left",
        "right",
        "join",
    }
    edges = {(e["from"], e["relation"], e["to"]) for e in down.to_public()["edges"]}
    join = ledger.execution_row("join")["id"]
    assert (join, "used", sha(2)) in edges
    assert (sha(4), "wasGeneratedBy", join) in edges


def test_lineage_follows_a_chain_of_ten_to_the_depth_asked(ledger: Ledger) -> None:
    records = [
        make_record(
            f"step-{i}",
            minutes=i,
            inputs=[FileRef(f"f{i}.nc", sha(100 + i))] if i else [],
            outputs=[FileRef(f"f{i + 1}.nc", sha(101 + i))],
        )
        for i in range(10)
    ]
    ledger.record(records)
    whole = file_lineage(ledger.queries, sha(110), "up", 100)
    found = sorted(n["depth"] for n in whole.nodes.values() if n["type"] == "execution")
    assert found == list(range(1, 11))
    three = file_lineage(ledger.queries, sha(110), "up", 3)
    assert sum(n["type"] == "execution" for n in three.nodes.values()) == 3
    first = ledger.execution_row("step-0")["id"]
    down = execution_lineage(ledger.queries, first, "down", 100)
    assert sum(n["type"] == "execution" for n in down.nodes.values()) == 10
    assert ids(ledger, f"input.sha256 = '{sha(105)}'") == ["step-5"]
    assert ids(ledger, f"output.sha256 = '{sha(105)}'") == ["step-4"]


def test_the_parquet_export_types_numeric_strings_and_lists_every_file(
    ledger: Ledger, tmp_path: Path
) -> None:
    import duckdb

    from provledger.adapters.exporters.parquet import export_parquet

    ledger.record(
        [
            make_record(
                "mlflow-like",
                params={"dt": "0.50", "optimizer": "adam"},
                inputs=[FileRef("in.nc", sha(1))],
                outputs=[FileRef("out.nc", sha(2))],
                artifacts=[FileRef("plot.png", sha(3), size=10)],
            )
        ]
    )
    counts = export_parquet(ledger, tmp_path / "out")
    assert counts.files == 3
    out = tmp_path / "out"
    params = duckdb.sql(
        f"SELECT name, value_number FROM '{out}/params.parquet' ORDER BY name"
    ).fetchall()
    assert params == [("dt", 0.5), ("optimizer", None)]
    files = duckdb.sql(
        f"SELECT c.name, f.direction, f.sha256 FROM '{out}/files.parquet' f "
        f"JOIN '{out}/executions.parquet' e USING (id) "
        f"JOIN '{out}/cases.parquet' c ON c.case_id = e.case_id ORDER BY f.direction"
    ).fetchall()
    assert files == [
        ("ocean", "artifact", sha(3)),
        ("ocean", "input", sha(1)),
        ("ocean", "output", sha(2)),
    ]


def test_the_sdk_search_returns_records(runs: Ledger) -> None:
    import provledger

    found = provledger.search("metrics.loss < 0.5", order_by="metrics.loss desc", ledger=runs)
    assert [r.execution_id for r in found] == ["b", "a"]
    assert found[0].params == {"dt": 0.25, "optimizer": "sgd"}
    assert provledger.search("params.dt exists", limit=1, ledger=runs)[0].execution_id == "a"
    with pytest.raises(QueryError):
        provledger.search("params.dt ==", ledger=runs)


def test_values_of_several_fields_come_back_typed_per_execution(runs: Ledger) -> None:
    fields = [
        parse_field(f)
        for f in ("params.dt", "params.optimizer", "metrics.loss", "metrics.loss.max")
    ]
    a = runs.execution_row("a")["id"]
    values = runs.queries.values_of([a], fields)
    assert values[a] == {
        "params.dt": 0.5,
        "params.optimizer": "adam",
        "metrics.loss": 0.05,
        "metrics.loss.max": 0.9,
    }
