"""Config deltas: what changed between the canonical execution and another one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

import msgspec

from .record import ExecutionRecord

Delta = dict[str, dict[str, Any]]

DEFAULT_INCLUDE = ("spec.resolved.*", "params.*", "code.*")
# Successive executions legitimately differ in timings and start dates.
DEFAULT_EXCLUDE = (
    "*time_*_sec",
    "*timing*",
    "*elapsed*",
    "*duration*",
    "*start_date*",
    "*startdate*",
    "*timestamp*",
)


CACHED_KEYS = 65536


@dataclass(frozen=True)
class DeltaPolicy:
    """Which dotted fields are compared: `include` globs minus `exclude` globs."""

    include: tuple[str, ...] = DEFAULT_INCLUDE
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    # Glob matching is slow and keys repeat across executions: the answers are remembered
    # per policy (a dict lookup; an lru_cache keyed on the policy would hash it every call).
    _answers: dict[str, bool] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def compares(self, key: str) -> bool:
        answer = self._answers.get(key)
        if answer is None:
            lowered = key.lower()
            answer = any(fnmatchcase(key, p) for p in self.include) and not any(
                fnmatchcase(lowered, p.lower()) for p in self.exclude
            )
            if len(self._answers) < CACHED_KEYS:
                self._answers[key] = answer
        return answer


DEFAULT_POLICY = DeltaPolicy()


@dataclass(frozen=True)
class DeltaPolicies:
    """A policy per source importer, with a default for the rest."""

    default: DeltaPolicy = field(default_factory=DeltaPolicy)
    by_source: Mapping[str, DeltaPolicy] = field(default_factory=dict)

    def for_importer(self, importer: str | None) -> DeltaPolicy:
        return self.by_source.get(importer or "", self.default)

    def for_record(self, record: ExecutionRecord) -> DeltaPolicy:
        return self.for_importer(record.source.importer if record.source else None)


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings become dotted keys; lists and scalars are leaves."""
    out: dict[str, Any] = {}
    if isinstance(value, dict):
        _flatten_into(out, value, prefix)
    else:
        out[prefix] = value
    return out


def _flatten_into(out: dict[str, Any], mapping: dict[Any, Any], path: str) -> None:
    if not mapping and path:
        out[path] = {}
    for key, child in mapping.items():
        child_path = f"{path}.{key}" if path else str(key)
        if isinstance(child, dict):
            _flatten_into(out, child, child_path)
        else:
            out[child_path] = child


def config_fields(record: ExecutionRecord) -> dict[str, Any]:
    """The spec, params and code of a record as flat dotted keys (None values dropped)."""
    data = msgspec.to_builtins(
        {
            "spec": {"resolved": record.spec.resolved} if record.spec else {},
            "params": record.params,
            "code": record.code,
        }
    )
    return {k: v for k, v in flatten(data).items() if v is not None and v != {}}


def diff_configs(
    canonical: Mapping[str, Any], current: Mapping[str, Any], policy: DeltaPolicy | None = None
) -> Delta:
    """`{field: {"canonical": a, "current": b}}` for every compared field whose value differs."""
    policy = policy or DEFAULT_POLICY
    compares = policy.compares
    changed = [
        key
        for key in canonical.keys() | current.keys()
        if canonical.get(key) != current.get(key) and compares(key)
    ]
    changed.sort()
    return {key: {"canonical": canonical.get(key), "current": current.get(key)} for key in changed}


def config_deltas(
    canonical: ExecutionRecord, current: ExecutionRecord, policy: DeltaPolicy | None = None
) -> Delta:
    return diff_configs(config_fields(canonical), config_fields(current), policy)
