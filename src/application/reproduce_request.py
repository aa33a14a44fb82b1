"""Use case: ask for an execution to be reproduced; answer with what a re-run needs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from eventsourcing.persistence import IntegrityError

from ..domain.record import FileRef, record_to_builtins
from .ledger import Ledger

MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class ReproductionPlan:
    execution_id: str
    case: str
    spec: dict[str, Any] | None
    params: dict[str, Any]
    inputs: list[dict[str, Any]]
    code: dict[str, Any] | None
    environment: dict[str, Any] | None
    command: list[str]
    record_template: dict[str, Any]
    position: int


def _builtins(value: Any) -> Any:
    return msgspec.to_builtins(value) if value is not None else None


def request_reproduction(ledger: Ledger, ref: str, note: str | None = None) -> ReproductionPlan:
    """Record ReproductionRequested and return the pinned spec, inputs, code and command."""
    for _ in range(MAX_ATTEMPTS):
        execution = ledger.execution(ref)
        execution.request_reproduction(note)
        try:
            position = ledger.events.save(execution)
        except IntegrityError:
            continue
        ledger.catch_up()
        record = execution.record
        template = {
            k: v
            for k, v in record_to_builtins(record).items()
            if k in ("case", "namespace", "group", "spec", "params", "inputs", "code", "command")
        }
        template["reproduces"] = record.execution_id
        return ReproductionPlan(
            execution_id=record.execution_id,
            case=record.case_key,
            spec=_builtins(record.spec),
            params=dict(record.params),
            inputs=[_file(ref) for ref in record.inputs],
            code=_builtins(record.code),
            environment=_builtins(record.environment),
            command=list(record.command),
            record_template=template,
            position=position,
        )
    raise IntegrityError("execution kept changing; try again")


def _file(ref: FileRef) -> dict[str, Any]:
    data: dict[str, Any] = msgspec.to_builtins(ref)
    return data
