"""provledger's own execution record format (see docs/record-format.md).

Records are immutable msgspec structs: fast to encode, decode and compare.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import msgspec

RECORD_SCHEMA_VERSION = 1


class Status(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INCOMPLETE = "incomplete"
    RUNNING = "running"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"


class _Part(msgspec.Struct, frozen=True, omit_defaults=True, forbid_unknown_fields=True):
    """Base of every record part: immutable, unknown fields refused, defaults omitted."""


class FileRef(_Part, frozen=True):
    uri: str
    sha256: str | None = None
    size: int | None = None
    role: str | None = None
    # Access-restricted data (FAIR's `public: false`): `gc --files` keeps local copies of it,
    # since getting it back may need rights the user lacks; `gc --files --all` drops them too.
    restricted: bool = False


class Spec(_Part, frozen=True):
    format: str | None = None
    text: str | None = None
    resolved: dict[str, Any] = {}
    sha256: str | None = None


class CodeVersion(_Part, frozen=True):
    repository: str | None = None
    commit: str | None = None
    tag: str | None = None
    branch: str | None = None
    dirty: bool | None = None
    version: str | None = None
    # sha256 of `git diff HEAD` when the tree is dirty: a dirty tree is reusable (domain/reuse.py)
    # only with it, since the commit alone does not say what ran.
    diff_sha256: str | None = None


class Environment(_Part, frozen=True):
    host: str | None = None
    machine: str | None = None
    user: str | None = None
    platform: str | None = None
    packages: dict[str, str] = {}


class MetricPoint(_Part, frozen=True):
    value: float
    step: int | None = None
    timestamp: datetime | None = None


class ProcessingStep(_Part, frozen=True):
    name: str
    at: datetime | None = None
    details: dict[str, Any] = {}


class Source(_Part, frozen=True):
    importer: str = "provledger"
    path: str | None = None


class ExecutionRecord(_Part, frozen=True):
    """Everything known about one execution, as recorded."""

    execution_id: str
    case: str
    status: Status = Status.UNKNOWN
    namespace: str = "default"
    group: str | None = None
    started: datetime | None = None
    ended: datetime | None = None
    spec: Spec | None = None
    params: dict[str, Any] = {}
    inputs: list[FileRef] = []
    outputs: list[FileRef] = []
    artifacts: list[FileRef] = []
    code: CodeVersion | None = None
    environment: Environment | None = None
    command: list[str] = []
    metrics: dict[str, list[MetricPoint]] = {}
    steps: list[ProcessingStep] = []
    logs: list[str] = []
    tags: dict[str, str] = {}
    attributes: dict[str, Any] = {}
    reproduces: str | None = None
    # The execution this one ran inside (an MLflow nested run, an OpenLineage parent run): same
    # namespace and case. A child is never its case's canonical and is not diffed against it.
    parent: str | None = None
    source: Source | None = None
    missing: list[str] = []
    # Reuse (domain/reuse.py, docs/capture.md "Reuse"): the key of what ran (command, code,
    # config, inputs, declared environment), and for an execution that restored a succeeded
    # one's kept outputs instead of running, that original (`namespace/case/execution_id`).
    reuse_key: str | None = None
    reused_from: str | None = None
    schema_version: int = RECORD_SCHEMA_VERSION

    @property
    def case_key(self) -> str:
        return f"{self.namespace}/{self.case}"

    @property
    def primary_output(self) -> FileRef | None:
        for ref in self.outputs:
            if ref.role in (None, "output", "primary"):
                return ref
        return None


# Fields that describe how a record arrived, not what the execution was: ignored when the same
# execution is recorded twice (the same record ingested from two paths is still a duplicate).
NON_IDENTITY_FIELDS = frozenset({"source"})


def record_to_builtins(record: ExecutionRecord) -> dict[str, Any]:
    """The record as plain JSON-compatible data (what `--json` and the API show)."""
    data: dict[str, Any] = msgspec.to_builtins(record)
    return data


def differing_fields(a: ExecutionRecord, b: ExecutionRecord) -> list[str]:
    """Top-level fields whose values differ, ignoring how the record arrived."""
    left, right = record_to_builtins(a), record_to_builtins(b)
    names = (set(left) | set(right)) - NON_IDENTITY_FIELDS
    return sorted(n for n in names if left.get(n) != right.get(n))
