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


_JSON_LEAVES = frozenset((str, int, float, bool))
# Dotted names repeat from record to record: each is built once, and equal keys are then the
# same string object, which makes the dict lookups of `diff_configs` cheaper too.
_dotted: dict[str, dict[str, str]] = {}


def _names_under(path: str) -> dict[str, str]:
    """The remembered dotted names of the string keys under `path`."""
    names = _dotted.get(path)
    if names is None:
        names = {}
        if len(_dotted) < CACHED_KEYS:
            _dotted[path] = names
    return names


def _config_into(out: dict[str, Any], mapping: dict[Any, Any], path: str) -> None:
    """Nested mappings as dotted keys, lists and scalars as leaves; None values and empty
    mappings left out; values that are not JSON types (structs, dates, tuples) as
    `msgspec.to_builtins` gives them."""
    names = _names_under(path)
    for key, child in mapping.items():
        name = names.get(key) if type(key) is str else None  # 1, 1.0, True: one dict key
        if name is None:
            name = f"{path}.{key}"
            if type(key) is str and len(names) < CACHED_KEYS:
                names[key] = name
        kind = type(child)
        if kind in _JSON_LEAVES:
            out[name] = child
        elif kind is dict:
            if child:
                _config_into(out, child, name)
        elif child is not None:
            plain = msgspec.to_builtins(child)
            if type(plain) is dict:
                if plain:
                    _config_into(out, plain, name)
            elif plain is not None:
                out[name] = plain


def config_fields(record: ExecutionRecord) -> dict[str, Any]:
    """The spec, params and code of a record as flat dotted keys (None values dropped)."""
    out: dict[str, Any] = {}
    if record.spec is not None and record.spec.resolved:
        _config_into(out, record.spec.resolved, "spec.resolved")
    if record.params:
        _config_into(out, record.params, "params")
    if record.code is not None:
        _config_into(out, msgspec.to_builtins(record.code), "code")
    return out


def diff_configs(
    canonical: Mapping[str, Any], current: Mapping[str, Any], policy: DeltaPolicy | None = None
) -> Delta:
    """`{field: {"canonical": a, "current": b}}` for every compared field whose value differs.

    A field the current execution does not have (absent or None) is *missing*, not changed: it
    is left out here and named by `missing_fields`. A field only the current execution has is a
    change (canonical None)."""
    compares = (policy or DEFAULT_POLICY).compares
    before = canonical.get
    changed = [
        key
        for key, value in current.items()
        if value is not None and before(key) != value and compares(key)
    ]
    changed.sort()
    now = current.get
    return {key: {"canonical": before(key), "current": now(key)} for key in changed}


def missing_fields(
    canonical: Mapping[str, Any], current: Mapping[str, Any], policy: DeltaPolicy | None = None
) -> list[str]:
    """The compared fields the canonical has a value for and the current execution does not
    (absent or None), sorted: what an incomplete execution could not tell."""
    compares = (policy or DEFAULT_POLICY).compares
    now = current.get
    return sorted(
        key
        for key, value in canonical.items()
        if value is not None and now(key) is None and compares(key)
    )


def config_deltas(
    canonical: ExecutionRecord, current: ExecutionRecord, policy: DeltaPolicy | None = None
) -> Delta:
    return diff_configs(config_fields(canonical), config_fields(current), policy)


def config_missing(
    canonical: ExecutionRecord, current: ExecutionRecord, policy: DeltaPolicy | None = None
) -> list[str]:
    return missing_fields(config_fields(canonical), config_fields(current), policy)
