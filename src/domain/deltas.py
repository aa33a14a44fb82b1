"""Config deltas: what changed between the canonical execution and another one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import lru_cache
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


@dataclass(frozen=True)
class DeltaPolicy:
    """Which dotted fields are compared: `include` globs minus `exclude` globs."""

    include: tuple[str, ...] = DEFAULT_INCLUDE
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE

    def compares(self, key: str) -> bool:
        return _compares(self, key)


@lru_cache(maxsize=65536)
def _compares(policy: DeltaPolicy, key: str) -> bool:
    """Glob matching is slow and keys repeat across executions: remember the answers."""
    lowered = key.lower()
    return any(fnmatchcase(key, p) for p in policy.include) and not any(
        fnmatchcase(lowered, p.lower()) for p in policy.exclude
    )


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
    stack: list[tuple[str, Any]] = [(prefix, value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, dict):
            if not item and path:
                out[path] = {}
            stack.extend(
                (f"{path}.{key}" if path else str(key), child)
                for key, child in reversed(item.items())
            )
        else:
            out[path] = item
    return out


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
    policy = policy or DeltaPolicy()
    return {
        key: {"canonical": canonical.get(key), "current": current.get(key)}
        for key in sorted(set(canonical) | set(current))
        if canonical.get(key) != current.get(key) and policy.compares(key)
    }


def config_deltas(
    canonical: ExecutionRecord, current: ExecutionRecord, policy: DeltaPolicy | None = None
) -> Delta:
    return diff_configs(config_fields(canonical), config_fields(current), policy)
