"""The query language's grammar: parse, print, errors (domain/query.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from provledger.domain.query import (
    And,
    Compare,
    Exists,
    Expr,
    Field,
    In,
    Like,
    Not,
    Or,
    QueryError,
    parse,
    parse_field,
    to_text,
)

names = st.text(
    alphabet=st.characters(
        min_codepoint=32,
        max_codepoint=0x2FF,
        blacklist_characters="`.",
        blacklist_categories=("Cs",),
    ),
    min_size=1,
    max_size=8,
)
dotted = st.lists(names, min_size=1, max_size=3).map(".".join)
fields = st.one_of(
    st.builds(Field, st.sampled_from(["params", "config", "tags"]), dotted),
    st.builds(Field, st.just("metrics"), dotted, st.sampled_from(["last", "min", "max", "step"])),
    st.builds(Field, st.sampled_from(["status", "case", "started", "code.dirty", "parent"])),
)
values = st.one_of(
    st.text(max_size=10),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)
leaves = st.one_of(
    st.builds(Compare, fields, st.sampled_from(["=", "!=", "<", "<=", ">", ">="]), values),
    st.builds(In, fields, st.lists(values, min_size=1, max_size=3).map(tuple)),
    st.builds(Like, fields, st.text(max_size=10)),
    st.builds(Exists, fields),
)
expressions = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(Not, inner), st.builds(And, inner, inner), st.builds(Or, inner, inner)
    ),
    max_leaves=8,
)


@given(expressions)
def test_printing_and_parsing_an_expression_gives_the_same_tree(expr: Expr) -> None:
    assert parse(to_text(expr)) == expr


def test_and_binds_tighter_than_or_and_not_tighter_than_and() -> None:
    a, b, c = (Exists(Field("tags", n)) for n in "abc")
    assert parse("tags.a exists or tags.b exists and tags.c exists") == Or(a, And(b, c))
    assert parse("NOT tags.a exists AND tags.b exists") == And(Not(a), b)
    assert parse("(tags.a exists or tags.b exists) and tags.c exists") == And(Or(a, b), c)


def test_literals_are_typed_by_how_they_are_written() -> None:
    assert parse("params.dt = 0.50") == Compare(Field("params", "dt"), "=", 0.5)
    assert parse("params.dt='0.50'") == Compare(Field("params", "dt"), "=", "0.50")
    assert parse("params.n >= -3") == Compare(Field("params", "n"), ">=", -3)
    assert parse("status = succeeded").value == "succeeded"  # type: ignore[union-attr]
    assert parse("code.dirty = TRUE").value is True  # type: ignore[union-attr]
    assert parse("started > 2024-05-01T10:00:00+02:00").value == "2024-05-01T10:00:00+02:00"  # type: ignore[union-attr]
    assert parse("tags.note = 'it''s'").value == "it's"  # type: ignore[union-attr]


def test_field_names_with_dots_spaces_and_metric_aggregates() -> None:
    assert parse_field("metrics.loss") == Field("metrics", "loss", "last")
    assert parse_field("metrics.val.loss.max") == Field("metrics", "val.loss", "max")
    assert parse_field("config.box.grid.nx") == Field("config", "box.grid.nx")
    assert parse("params.`learning rate` > 0.1").field == Field("params", "learning rate")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "position", "expected"),
    [
        ("", 1, "expected an expression"),
        ("params.dt >", 12, "expected a value"),
        ("params.dt = 0.5 and", 20, "expected a field"),
        ("params.dt 0.5", 11, "expected an operator"),
        ("(params.dt = 1", 15, "expected ')'"),
        ("params.dt = 1 params.x = 2", 15, "expected 'and', 'or' or the end"),
        ("params.dt in 1, 2", 14, "expected '('"),
        ("params.dt in (1 2)", 17, "expected ',' or ')'"),
        ("params.dt = 'open", 18, "expected a closing '"),
        ("params.dt ! 1", 11, "expected '!='"),
        ("params.dt like 3", 16, "quoted pattern"),
        ("params.dt = 1e999", 13, "finite number"),
    ],
)
def test_a_malformed_expression_names_the_position_and_what_was_expected(
    text: str, position: int, expected: str
) -> None:
    with pytest.raises(QueryError) as caught:
        parse(text)
    assert caught.value.position == position
    assert expected in str(caught.value)
    assert str(caught.value).startswith(f"at position {position}:")


@pytest.mark.parametrize("text", ["param.dt = 1", "metric.loss < 1", "params = 1", "colour = red"])
def test_an_unknown_field_is_an_error_never_an_empty_result(text: str) -> None:
    with pytest.raises(QueryError, match="unknown field") as caught:
        parse(text)
    assert caught.value.position == 1


def test_an_unknown_field_suggests_the_nearest_name() -> None:
    with pytest.raises(QueryError, match=r"did you mean params\.dt"):
        parse("param.dt = 1")
