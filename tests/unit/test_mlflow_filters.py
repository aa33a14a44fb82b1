"""MLflow filter strings and order_by clauses, translated to the query language."""

from __future__ import annotations

import pytest

from provledger.adapters.http.routes.mlflow_shapes import (
    MlflowError,
    experiment_id_of,
    name_in_id,
    translate_filter,
    translate_order,
)
from provledger.domain.query import parse


@pytest.mark.parametrize(
    ("mlflow", "ours"),
    [
        ("params.x = '0.5' and metrics.loss < 0.1", "params.`x` = '0.5' and metrics.`loss` < 0.1"),
        ("tags.mlflow.runName = 'a'", "tags.`mlflow.runName` = 'a'"),
        ("attributes.status = 'FINISHED'", "status = 'succeeded'"),
        ("status != 'KILLED'", "status != 'cancelled'"),
        ("attributes.run_name LIKE 'dt-%'", "tags.`mlflow.runName` like 'dt-*'"),
        ("params.`learning rate` IN ('1', '2')", "params.`learning rate` in ('1', '2')"),
        ('metrics."val.loss" >= 2', "metrics.`val.loss` >= 2"),
        ("params.o NOT IN ('a')", "not params.`o` in ('a')"),
    ],
)
def test_an_mlflow_filter_becomes_a_query_the_language_parses(mlflow: str, ours: str) -> None:
    translated, run_ids = translate_filter(mlflow)
    assert translated == ours
    assert run_ids == []
    parse(translated)


def test_run_ids_are_taken_apart_and_times_are_milliseconds() -> None:
    text = "attributes.run_id IN ('a1', 'b2') and attributes.start_time > 1767225600000"
    translated, run_ids = translate_filter(text)
    assert run_ids == ["a1", "b2"]
    assert translated == "started > '2026-01-01T00:00:00+00:00'"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("params.x = '1' or params.y = '2'", "joined by AND"),
        ("nonsense.x = 1", "unknown identifier"),
        ("params.x =", "value is missing"),
        ("attributes.status = 'DONE'", "unknown run status"),
    ],
)
def test_a_filter_outside_what_is_translated_is_an_invalid_parameter(
    text: str, fragment: str
) -> None:
    with pytest.raises(MlflowError) as caught:
        translate_filter(text)
    assert caught.value.code == "INVALID_PARAMETER_VALUE"
    assert fragment in caught.value.message


def test_order_by_takes_the_first_clause() -> None:
    assert translate_order(["metrics.loss DESC", "params.x"]) == ("metrics.`loss`", True)
    assert translate_order(["attributes.start_time"]) == ("started", False)
    assert translate_order([]) is None


@pytest.mark.parametrize("name", ["Default", "ocean-sweep", "/Users/a@b.org/exp", "x" * 200])
def test_an_experiment_id_names_its_experiment_or_is_hashed(name: str) -> None:
    experiment_id = experiment_id_of(name)
    assert len(experiment_id) <= 64
    assert name_in_id(experiment_id) in (name, None)
    assert (name_in_id(experiment_id) is None) == (len(name) > 40)
