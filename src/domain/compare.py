"""Two execution records compared field by field, grouped by section (what `diff` shows).

Sections: config (the resolved spec), params, metrics (last values), outputs, artifacts and
inputs (sha256 by uri), status, times, code, environment. Values stay plain JSON data (never
Python reprs); a field one side lacks is None there. Changes come first: sections with changes
before the others, and within a section the changed fields before the same ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from .deltas import DeltaPolicy, config_fields
from .record import ExecutionRecord, FileRef

SECTIONS = (
    "config",
    "params",
    "metrics",
    "outputs",
    "artifacts",
    "inputs",
    "status",
    "times",
    "code",
    "environment",
)
_CONFIG_PREFIX = "spec.resolved."


@dataclass(frozen=True)
class FieldChange:
    field: str
    a: Any
    b: Any

    @property
    def changed(self) -> bool:
        return bool(self.a != self.b or type(self.a) is not type(self.b))


@dataclass(frozen=True)
class Section:
    name: str
    fields: list[FieldChange] = field(default_factory=list)

    @property
    def changes(self) -> list[FieldChange]:
        return [f for f in self.fields if f.changed]


@dataclass(frozen=True)
class Comparison:
    sections: list[Section]

    @property
    def change_count(self) -> int:
        return sum(len(s.changes) for s in self.sections)

    def to_public(self) -> dict[str, Any]:
        """{change_count, sections: [{name, change_count, changes: [{field, a, b}], same}]}."""
        return {
            "change_count": self.change_count,
            "sections": [
                {
                    "name": s.name,
                    "change_count": len(s.changes),
                    "changes": [{"field": f.field, "a": f.a, "b": f.b} for f in s.changes],
                    "same": len(s.fields) - len(s.changes),
                }
                for s in self.sections
            ],
        }


def compare_records(
    a: ExecutionRecord, b: ExecutionRecord, policy: DeltaPolicy | None = None
) -> Comparison:
    """`a` is the baseline. `policy` leaves out the config fields it does not compare."""
    compares: Callable[[str], bool] = policy.compares if policy else (lambda _: True)
    parts: dict[str, tuple[Mapping[str, Any], Mapping[str, Any]]] = {
        "config": (_config(a, compares), _config(b, compares)),
        "params": (_plain(a.params), _plain(b.params)),
        "metrics": (_metrics(a), _metrics(b)),
        "outputs": (_files(a.outputs), _files(b.outputs)),
        "artifacts": (_files(a.artifacts), _files(b.artifacts)),
        "inputs": (_files(a.inputs), _files(b.inputs)),
        "status": ({"status": a.status.value}, {"status": b.status.value}),
        "times": (_times(a), _times(b)),
        "code": (_struct(a.code), _struct(b.code)),
        "environment": (_environment(a), _environment(b)),
    }
    sections = []
    for name in SECTIONS:
        left, right = parts[name]
        names = sorted(set(left) | set(right))
        fields = [FieldChange(n, left.get(n), right.get(n)) for n in names]
        fields.sort(key=lambda f: not f.changed)  # stable: changed first, each by name
        sections.append(Section(name, fields))
    sections.sort(key=lambda s: not s.changes)
    return Comparison(sections)


def _plain(values: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k): msgspec.to_builtins(v) for k, v in values.items()}


def _config(record: ExecutionRecord, compares: Callable[[str], bool]) -> dict[str, Any]:
    return {
        name[len(_CONFIG_PREFIX) :]: value
        for name, value in config_fields(record).items()
        if name.startswith(_CONFIG_PREFIX) and compares(name)
    }


def _metrics(record: ExecutionRecord) -> dict[str, Any]:
    return {name: points[-1].value for name, points in record.metrics.items() if points}


def _files(refs: list[FileRef]) -> dict[str, Any]:
    """sha256 by uri (a uri listed twice: the later one)."""
    return {ref.uri: ref.sha256 for ref in refs}


def _times(record: ExecutionRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "started": record.started.isoformat() if record.started else None,
        "ended": record.ended.isoformat() if record.ended else None,
    }
    if record.started and record.ended:
        out["duration_s"] = (record.ended - record.started).total_seconds()
    return out


def _struct(value: Any) -> dict[str, Any]:
    return {} if value is None else dict(msgspec.to_builtins(value))


def _environment(record: ExecutionRecord) -> dict[str, Any]:
    env = _struct(record.environment)
    packages = env.pop("packages", {}) or {}
    return {**env, **{f"packages.{name}": v for name, v in packages.items()}}
