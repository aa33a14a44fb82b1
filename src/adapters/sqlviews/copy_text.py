"""PostgreSQL's COPY text format, for the rows of databases that cannot COPY (SQLite).

One row a line, columns separated by a tab, NULL as `\\N`; a backslash, tab, newline and
carriage return inside a value are escaped (`\\\\`, `\\t`, `\\n`, `\\r`), and on reading every
escape PostgreSQL writes (`\\b \\f \\v`, octal `\\NNN`, hex `\\xHH`) is understood. Postgres
reads and writes the same bytes with `COPY ... FROM STDIN` / `TO STDOUT`, so a snapshot taken
on one database loads into the other."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_UNESCAPE = re.compile(r"\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)")
_SIMPLE = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
CHUNK_BYTES = 1 << 20


def _field(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, float):
        return repr(value)  # shortest exact form; 'inf' and 'nan' read back in both databases
    return str(value).translate(_ESCAPES)


def encode_rows(rows: Iterable[Any], *, flat: bool = False) -> Iterator[bytes]:
    """Rows as COPY text, in chunks of about a megabyte (`flat`: `rows` yields lists of rows)."""
    lines: list[str] = []
    size = 0
    for batch in rows if flat else ([row] for row in rows):
        for row in batch:
            line = "\t".join(map(_field, row)) + "\n"
            lines.append(line)
            size += len(line)
        if size >= CHUNK_BYTES:
            yield "".join(lines).encode()
            lines, size = [], 0
    if lines:
        yield "".join(lines).encode()


def _unescape(match: re.Match[str]) -> str:
    code = match.group(1)
    if code[0] == "x" and len(code) > 1:
        return chr(int(code[1:], 16))
    if code[0] in "01234567":
        return chr(int(code, 8))
    return _SIMPLE.get(code, code)


def _value(text: str, kind: str) -> Any:
    if text == "\\N":
        return None
    if "\\" in text:
        text = _UNESCAPE.sub(_unescape, text)
    if kind == "INTEGER":
        return int(text)
    if kind == "FLOAT8":
        return float(text)
    return text


def decode_rows(chunks: Iterable[bytes], kinds: Sequence[str]) -> Iterator[list[Any]]:
    """COPY text chunks (split anywhere) back into rows, typed by the columns' kinds."""
    rest = b""
    for chunk in chunks:
        data = rest + chunk
        cut = data.rfind(b"\n") + 1
        rest = data[cut:]
        for line in data[: cut - 1].decode().split("\n") if cut else ():
            fields = line.split("\t")
            if len(fields) != len(kinds):
                raise ValueError(f"a row has {len(fields)} fields, not {len(kinds)}")
            yield [_value(text, kind) for text, kind in zip(fields, kinds, strict=True)]
    if rest:
        raise ValueError("the last row is cut short (no newline)")
