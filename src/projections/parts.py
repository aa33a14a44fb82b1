"""A rebuild split by case across processes (`projections rebuild --jobs N`, ADR 0005)."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any, Protocol
from uuid import UUID

from ..domain.case import Case
from ..domain.execution import Execution


class PartLauncher(Protocol):
    """Runs the parts of a split rebuild, each in its own process (adapters/sqlviews/
    rebuild_parts.py): part k of n calls `ProjectionRunner.rebuild_part(names, k, n, head)` on
    its own runner."""

    def start(self, names: list[str], jobs: int, head: int) -> list[Future[None]]: ...

    def close(self) -> None: ...


def part_suffix(part: int, jobs: int) -> str:
    return f"_{part}of{jobs}"


def in_part(event: Any, part: int, jobs: int, executions: set[UUID]) -> bool:
    """Whether `event` belongs to this part: a case's events, and its executions', go to
    the part of the case's uuid; anything else to part 0."""
    if isinstance(event, Case.Event):
        return event.originator_id.int % jobs == part
    if isinstance(event, Execution.Recorded):
        if event.case_id.int % jobs == part:
            executions.add(event.originator_id)
            return True
        return False
    if isinstance(event, Execution.Event):
        return event.originator_id in executions
    return part == 0
