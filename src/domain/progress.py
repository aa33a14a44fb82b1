"""Progress: how a record seen again relates to the one recorded, and what may change.

A source is often read more than once while its execution still runs: an MLflow run ingested
while RUNNING and again once it ended, a DissModel record re-sent as a job advances, an E3SM
case directory whose missing files arrive later. Nothing recorded is ever edited. Instead the
two records are merged, and the merge is new information only where progress explains it:

- a value that was unknown (`None`, absent) becomes known: an end time, an output's sha256,
  an environment read from a file that arrived, a new param, a new config key;
- lists of observations grow: metric points, log lines, processing steps, files;
- `missing` shrinks: a part is missing only while no snapshot had it;
- the status moves on: running, unknown and incomplete may become anything; a final status
  (succeeded, failed, cancelled) never changes, and an older snapshot that still says running
  adds nothing;
- tags are annotations: changed or new ones are set (`ExecutionAnnotated`), none is removed.

Anything else (an output's sha256, a config value, the code commit, the start time) differing
is a conflict, named by its path. When the merge equals the stored record the source said
nothing new (a duplicate, or an older snapshot arriving late).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import msgspec

from .record import NON_IDENTITY_FIELDS, ExecutionRecord, MetricPoint, ProcessingStep, Status

FINAL_STATUSES = frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELLED})
_FILE_LISTS = ("inputs", "outputs", "artifacts")
_OBSERVATION_LISTS = ("logs", "steps")
_SKIPPED = NON_IDENTITY_FIELDS | {"tags", "status", "ended", "missing", "metrics"}


@dataclass(frozen=True)
class Progress:
    """What a record seen again adds to the stored one."""

    record: ExecutionRecord | None = None  # the merged record, when it differs from the stored
    changed: list[str] = field(default_factory=list)  # top-level fields the merge changed
    tags: dict[str, str] = field(default_factory=dict)  # tags to set (new or changed values)
    conflicts: list[str] = field(default_factory=list)  # paths progress cannot explain

    @property
    def is_conflict(self) -> bool:
        return bool(self.conflicts)

    @property
    def is_news(self) -> bool:
        return not self.conflicts and (self.record is not None or bool(self.tags))

    @property
    def observations_only(self) -> bool:
        """Whether the merge only appended metric points, log lines or steps (the common case
        of a run that logs as it goes): then only what was appended needs recording."""
        return self.record is not None and set(self.changed) <= OBSERVATIONS


OBSERVATIONS = frozenset({"metrics", "logs", "steps"})


def appended(
    stored: ExecutionRecord, merged: ExecutionRecord
) -> tuple[dict[str, list[MetricPoint]], list[str], list[ProcessingStep]]:
    """What `merged` (a progress of `stored`) appended to its metrics, logs and steps: merges
    keep the stored observations first, so it is what follows them."""
    metrics = {
        name: points[len(stored.metrics.get(name, [])) :]
        for name, points in merged.metrics.items()
        if len(points) > len(stored.metrics.get(name, []))
    }
    return metrics, merged.logs[len(stored.logs) :], merged.steps[len(stored.steps) :]


def progress(
    stored: ExecutionRecord, incoming: ExecutionRecord, tags: dict[str, str] | None = None
) -> Progress:
    """Merge `incoming` into `stored` (see the module's rules). `tags` are the execution's
    current tags (its record's plus annotations); the default is the stored record's."""
    current_tags = stored.tags if tags is None else tags
    new_tags = {k: v for k, v in incoming.tags.items() if current_tags.get(k) != v}
    old = msgspec.to_builtins(stored)
    new = msgspec.to_builtins(incoming)
    conflicts: list[str] = []
    merged: dict[str, Any] = {}
    for name in sorted(set(old) | set(new)):
        if name in _SKIPPED:
            continue
        a, b = old.get(name), new.get(name)
        if name in _FILE_LISTS:
            merged[name] = _merge_files(a or [], b or [], name, conflicts)
        elif name == "spec" and a and b:
            merged[name] = _merge_spec(a, b, conflicts)
        elif name in _OBSERVATION_LISTS:
            merged[name] = _union(a or [], b or [])
        else:
            merged[name] = _merge(a, b, name, conflicts)
    merged["metrics"] = {
        metric: _union(old.get("metrics", {}).get(metric, []), points)
        for metric, points in {**old.get("metrics", {}), **new.get("metrics", {})}.items()
    }
    merged["missing"] = [m for m in old.get("missing", []) if m in set(new.get("missing", []))]
    status, ended = _merge_status(
        stored.status, incoming.status, old.get("ended"), new.get("ended"), conflicts
    )
    merged["status"] = status.value
    merged["ended"] = ended
    merged["tags"] = {**old.get("tags", {}), **new.get("tags", {})}
    merged["source"] = old.get("source")
    if conflicts:
        return Progress(tags=new_tags, conflicts=conflicts)
    changed = sorted(
        name
        for name in merged
        if name != "tags" and _drop_empty(merged[name]) != _drop_empty(old.get(name))
    )
    if not changed:
        return Progress(tags=new_tags)
    record = msgspec.convert(_strip(merged), ExecutionRecord)
    return Progress(record=record, changed=changed, tags=new_tags)


def _merge_status(
    old: Status, new: Status, old_end: str | None, new_end: str | None, conflicts: list[str]
) -> tuple[Status, str | None]:
    """A final status stays (with its end time); before that the newer snapshot says how the
    execution stands, unless it knows less (unknown)."""
    if old in FINAL_STATUSES:
        if new in FINAL_STATUSES and new is not old:
            conflicts.append("status")
        elif new is old and None not in (old_end, new_end) and old_end != new_end:
            conflicts.append("ended")
        return old, old_end or (new_end if new is old else None)
    if new is Status.UNKNOWN and old is not Status.UNKNOWN:
        return old, old_end or new_end
    return new, new_end or old_end


def _merge(a: Any, b: Any, path: str, conflicts: list[str]) -> Any:
    """Fill what was unknown; keep what both know if it agrees, else name the conflict."""
    if a is None or a == {} or a == []:
        return b
    if b is None or b == {} or b == []:
        return a
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: _merge(a.get(k), b.get(k), f"{path}.{k}", conflicts) for k in {**a, **b}}
    if a != b or (type(a) is not type(b) and not _same_number(a, b)):
        conflicts.append(path)
    return a


def _merge_spec(old: dict[str, Any], new: dict[str, Any], conflicts: list[str]) -> Any:
    """The resolved config merges like any mapping; its sha256 and text describe one whole
    config, so they follow the side whose config the merge equals (a config that grew takes
    the newer sha256) and conflict only when the merge is neither."""
    resolved = _merge(old.get("resolved"), new.get("resolved"), "spec.resolved", conflicts)
    if (resolved or None) == (new.get("resolved") or None):
        whole = {**old, **new}
    elif (resolved or None) == (old.get("resolved") or None):
        whole = {**new, **old}
    else:
        whole = _merge(
            {k: v for k, v in old.items() if k != "resolved"},
            {k: v for k, v in new.items() if k != "resolved"},
            "spec",
            conflicts,
        )
    if old.get("format") and new.get("format") and old["format"] != new["format"]:
        conflicts.append("spec.format")
    return {**whole, "resolved": resolved} if resolved else whole


def _same_number(a: Any, b: Any) -> bool:
    numbers = (int, float)
    return (
        isinstance(a, numbers)
        and isinstance(b, numbers)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
        and a == b
    )


def _merge_files(
    old: list[dict[str, Any]], new: list[dict[str, Any]], name: str, conflicts: list[str]
) -> list[dict[str, Any]]:
    """Files by uri: known ones may gain a sha256 or size, new ones are added."""
    incoming = {ref["uri"]: ref for ref in new}
    merged = [
        _merge(ref, incoming.get(ref["uri"]), f"{name}[{ref['uri']}]", conflicts) for ref in old
    ]
    known = {ref["uri"] for ref in old}
    return merged + [ref for ref in new if ref["uri"] not in known]


def _union(old: list[Any], new: list[Any]) -> list[Any]:
    """The stored observations, then those of `new` they do not already count (a multiset)."""
    if new[: len(old)] == old:
        return list(new)
    seen = Counter(msgspec.json.encode(item) for item in old)
    extra = []
    for item in new:
        key = msgspec.json.encode(item)
        if seen[key]:
            seen[key] -= 1
        else:
            extra.append(item)
    return [*old, *extra]


def _drop_empty(value: Any) -> Any:
    """msgspec omits defaults: an empty list or mapping compares as absent."""
    return None if value == [] or value == {} else value


def _strip(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}
