"""Validate an imported record, turning rule violations into an error naming the item."""

from __future__ import annotations

from ...domain.errors import InvalidRecordError
from ...domain.record import ExecutionRecord
from ...domain.rules import validated
from .reading import ImportFileError


def checked(record: ExecutionRecord, where: str) -> ExecutionRecord:
    try:
        return validated(record)
    except InvalidRecordError as e:
        field = f" (field {e.field})" if e.field else ""
        raise ImportFileError(where, f"invalid record{field}: {e.message}") from e
