from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from provledger.domain.deltas import (
    DeltaPolicy,
    config_deltas,
    config_fields,
    config_missing,
    diff_configs,
    missing_fields,
)
from provledger.domain.record import CodeVersion, Spec
from tests.unit.records import make_record


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """The reference definition of config flattening: nested mappings become dotted keys,
    lists and scalars are leaves, an empty mapping is a leaf."""
    if not isinstance(value, dict):
        return {prefix: value}
    out: dict[str, Any] = {prefix: {}} if not value and prefix else {}
    for key, child in value.items():
        out.update(flatten(child, f"{prefix}.{key}" if prefix else str(key)))
    return out


scalars = st.one_of(st.integers(), st.text(max_size=5), st.booleans(), st.none())
configs = st.dictionaries(st.text("abc", min_size=1, max_size=3), scalars, max_size=6)


def test_nested_fields_flatten_to_dotted_keys() -> None:
    assert flatten({"a": {"b": {"c": 1}, "d": [1, 2]}}) == {"a.b.c": 1, "a.d": [1, 2]}


def test_deltas_name_each_changed_field_with_canonical_and_current_values() -> None:
    canonical = make_record("a", params={"dt": 0.5, "compiler": "gnu"})
    current = make_record(
        "b",
        params={"dt": 0.25, "compiler": "gnu"},
        spec=Spec(resolved={"grid": {"nx": 128}}),
        code=CodeVersion(commit="def456"),
    )
    assert config_deltas(canonical, current) == {
        "code.commit": {"canonical": "abc123", "current": "def456"},
        "params.dt": {"canonical": 0.5, "current": 0.25},
        "spec.resolved.grid.nx": {"canonical": 64, "current": 128},
    }


def test_timings_and_start_dates_are_not_compared_by_default() -> None:
    a = make_record("a", params={"time_run_sec": 1.0, "run_startdate": "2000-01-01"})
    b = make_record("b", params={"time_run_sec": 9.0, "run_startdate": "2001-01-01"})
    assert config_deltas(a, b) == {}


def test_a_policy_compares_only_the_fields_it_includes() -> None:
    a = make_record("a", params={"x": 1, "y": 1})
    b = make_record("b", params={"x": 2, "y": 2})
    assert list(config_deltas(a, b, DeltaPolicy(include=("params.x",), exclude=()))) == ["params.x"]


@given(configs)
def test_a_config_has_no_deltas_against_itself(config: dict[str, Any]) -> None:
    assert diff_configs(config, config, DeltaPolicy(include=("*",), exclude=())) == {}


@given(configs, configs)
def test_the_change_count_is_the_number_of_differing_keys(
    a: dict[str, Any], b: dict[str, Any]
) -> None:
    deltas = diff_configs(a, b, DeltaPolicy(include=("*",), exclude=()))
    assert len(deltas) == sum(1 for k in b if b[k] is not None and a.get(k) != b[k])
    for change in deltas.values():
        assert change["canonical"] != change["current"]


leaves = st.one_of(
    scalars,
    st.floats(allow_nan=False),
    st.lists(st.integers(), max_size=2),
    st.tuples(st.integers()),
)
# No dots in keys: "a.b" under "x" and "b" under "x.a" make one dotted name, and which value
# wins such a collision is not part of the definition.
trees = st.recursive(
    leaves,
    lambda children: st.dictionaries(st.text("ab", max_size=2), children, max_size=3),
    max_leaves=8,
)
mappings = st.dictionaries(
    st.one_of(st.text("ab", max_size=2), st.integers(0, 2), st.booleans()), trees, max_size=4
)
codes = st.one_of(
    st.none(), st.builds(CodeVersion, commit=st.one_of(st.none(), st.text(max_size=2)))
)


@given(mappings, mappings, codes)
def test_config_fields_are_the_flattened_builtins_of_spec_params_and_code_without_nones(
    resolved: dict[Any, Any], params: dict[Any, Any], code: CodeVersion | None
) -> None:
    import msgspec

    record = make_record("a", spec=Spec(resolved=resolved), params=params, code=code)
    plain = msgspec.to_builtins({"spec": {"resolved": resolved}, "params": params, "code": code})
    expected = {k: v for k, v in flatten(plain).items() if v is not None and v != {}}
    assert config_fields(record) == expected


@given(configs, configs)
def test_a_field_only_the_canonical_has_is_missing_not_changed(
    canonical: dict[str, Any], current: dict[str, Any]
) -> None:
    expected = {
        key: {"canonical": canonical.get(key), "current": current[key]}
        for key in sorted(current)
        if current[key] is not None and canonical.get(key) != current[key]
    }
    policy = DeltaPolicy(include=("*",), exclude=())
    assert diff_configs(canonical, current, policy) == expected
    missing = missing_fields(canonical, current, policy)
    assert missing == sorted(
        k for k, v in canonical.items() if v is not None and current.get(k) is None
    )
    assert not set(missing) & set(expected)


@given(configs, configs)
def test_every_differing_field_is_either_changed_or_missing(
    canonical: dict[str, Any], current: dict[str, Any]
) -> None:
    policy = DeltaPolicy(include=("*",), exclude=())
    differing = {k for k in canonical.keys() | current.keys() if canonical.get(k) != current.get(k)}
    found = set(diff_configs(canonical, current, policy)) | set(
        missing_fields(canonical, current, policy)
    )
    assert found == differing


def test_an_incomplete_execution_without_a_field_has_it_missing_and_no_delta_for_it() -> None:
    canonical = make_record("a", params={"compiler": "gnu", "mpilib": "openmpi"})
    current = make_record("b", params={"compiler": "intel"})
    assert config_deltas(canonical, current) == {
        "params.compiler": {"canonical": "gnu", "current": "intel"}
    }
    assert config_missing(canonical, current) == ["params.mpilib"]


def test_a_field_only_the_current_execution_has_is_a_change() -> None:
    canonical = make_record("a", params={})
    current = make_record("b", params={"compiler": "intel"})
    assert config_deltas(canonical, current) == {
        "params.compiler": {"canonical": None, "current": "intel"}
    }
    assert config_missing(canonical, current) == []


def test_missing_fields_follow_the_policy() -> None:
    policy = DeltaPolicy(include=("params.x",), exclude=())
    assert missing_fields({"params.x": 1, "params.y": 1}, {}, policy) == ["params.x"]
