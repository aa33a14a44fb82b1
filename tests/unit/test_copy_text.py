"""The COPY text format that SQLite snapshots are written and read in (adapters/copy_text.py)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from provledger.adapters.sqlviews.copy_text import decode_rows, encode_rows

KINDS = ["TEXT", "INTEGER", "FLOAT8", "TEXT"]
rows = st.lists(
    st.tuples(
        st.one_of(st.none(), st.text()),
        st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)),
        st.one_of(st.none(), st.floats(allow_nan=False)),
        st.one_of(st.none(), st.text(alphabet="\\\t\n\r\b\f\v\x1cN ")),
    ).map(list),
    max_size=20,
)


@given(rows, st.integers(1, 64))
def test_rows_written_as_copy_text_read_back_the_same_however_the_bytes_are_split(
    written: list[list[object]], cut: int
) -> None:
    data = b"".join(encode_rows(written))
    chunks = [data[i : i + cut] for i in range(0, len(data), cut)]
    assert list(decode_rows(chunks, KINDS)) == written
    assert data.count(b"\n") == len(written)  # one line a row: the manifest's row count


def test_the_escapes_postgres_writes_are_understood() -> None:
    line = b"a\\tb\\\\c\\nd\\x41\\101\\v\t\\N\tinf\tNaN\n"
    ((text, none, inf, nan),) = decode_rows([line], ["TEXT", "INTEGER", "FLOAT8", "FLOAT8"])
    assert text == "a\tb\\c\ndAA\v"
    assert none is None
    assert inf == math.inf
    assert math.isnan(nan)  # type: ignore[arg-type]


def test_a_row_cut_short_or_with_the_wrong_number_of_fields_is_an_error() -> None:
    with pytest.raises(ValueError, match="cut short"):
        list(decode_rows([b"a\tb"], ["TEXT", "TEXT"]))
    with pytest.raises(ValueError, match="3 fields, not 2"):
        list(decode_rows([b"a\tb\tc\n"], ["TEXT", "TEXT"]))
