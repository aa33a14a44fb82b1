"""Reuse keys: when two executions would compute the same thing (docs/capture.md, "Reuse").

An execution's reuse key is the sha256 of its *key parts*, all read from its record:

- `command`: the exact argv (`record.command`);
- `code`: the commit, and for a dirty tree the sha256 of `git diff HEAD` (`code.diff_sha256`).
  A dirty tree without that hash has no key: the commit alone does not say what ran;
- `config`: the sha256 of the resolved config's values (canonical JSON: sorted keys): the pinned
  config's `values` for `provledger run`, the config dict or file for the SDK;
- `inputs`: the sorted sha256s of every input (config-named files included). An input without a
  sha256 gives no key: its content is unknown;
- `environment`: a declared subset: the platform, and the version of each package the run
  declared (`attributes.reuse_packages`; a package not installed counts as `null`).

Two records with the same key are interchangeable: a succeeded one's kept outputs can stand in
for running the other. `differences` says, part by part, why two records' keys differ.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .record import ExecutionRecord

KEY_VERSION = 1
PACKAGES_ATTRIBUTE = "reuse_packages"  # the record attribute naming the declared packages
PARTS = ("command", "code", "config", "inputs", "environment")


class NotReusable(Exception):  # noqa: N818 (a reason, not an error of the caller)
    """Why a record has no reuse key (a dirty tree without its diff hash, an unhashed input)."""


@dataclass(frozen=True)
class KeyParts:
    command: tuple[str, ...]
    commit: str | None
    diff_sha256: str | None
    config_sha256: str | None
    config: dict[str, Any]  # the flattened config values (for explaining, not in the key)
    inputs: tuple[tuple[str, str], ...]  # (uri, sha256), sorted by uri
    platform: str | None
    packages: tuple[tuple[str, str | None], ...]  # declared (name, version), sorted

    def to_key_data(self) -> dict[str, Any]:
        return {
            "v": KEY_VERSION,
            "command": list(self.command),
            "code": {"commit": self.commit, "diff_sha256": self.diff_sha256},
            "config_sha256": self.config_sha256,
            "inputs": sorted(sha for _, sha in self.inputs),
            "environment": {"platform": self.platform, "packages": dict(self.packages)},
        }

    @property
    def key(self) -> str:
        text = json.dumps(self.to_key_data(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def canonical_sha256(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def config_values(record: ExecutionRecord) -> dict[str, Any] | None:
    """The resolved config's values: a pinned config's `values`, else the resolved dict."""
    if record.spec is None:
        return None
    resolved = record.spec.resolved
    if "pinned_version" in resolved and isinstance(resolved.get("values"), dict):
        values: dict[str, Any] = resolved["values"]
        return values
    return dict(resolved) if resolved else None


def declared_packages(record: ExecutionRecord) -> list[str]:
    names = record.attributes.get(PACKAGES_ATTRIBUTE) or []
    return sorted({str(n).lower() for n in names if isinstance(n, str) and n})


def key_parts(record: ExecutionRecord) -> KeyParts:
    """The parts of `record`'s reuse key; NotReusable says why it has none."""
    code = record.code
    commit = code.commit if code is not None else None
    diff = code.diff_sha256 if code is not None else None
    if code is not None and code.dirty:
        if diff is None:
            raise NotReusable(
                f"the working tree at commit {str(commit)[:12]} was dirty and the diff's hash "
                "was not recorded"
            )
    else:
        diff = None
    inputs = []
    for ref in record.inputs:
        if not ref.sha256:
            raise NotReusable(f"input {ref.uri} has no sha256")
        inputs.append((ref.uri, ref.sha256.removeprefix("sha256:")))
    values = config_values(record)
    env = record.environment
    packages = env.packages if env is not None else {}
    return KeyParts(
        command=tuple(record.command),
        commit=commit,
        diff_sha256=diff,
        config_sha256=canonical_sha256(values) if values is not None else None,
        config=dict(_flatten(values, "")) if values is not None else {},
        inputs=tuple(sorted(inputs)),
        platform=env.platform if env is not None else None,
        packages=tuple((name, packages.get(name)) for name in declared_packages(record)),
    )


def reuse_key(record: ExecutionRecord) -> str | None:
    """The record's reuse key, or None when it cannot have one (see `key_parts`)."""
    try:
        return key_parts(record).key
    except NotReusable:
        return None


def _flatten(value: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        for name, item in value.items():
            yield from _flatten(item, f"{prefix}.{name}" if prefix else str(name))
    else:
        yield prefix, value


@dataclass(frozen=True)
class Difference:
    part: str  # command | code | config | input | environment
    what: str  # the config field, input file, package, ... ('' for the part as a whole)
    this: Any
    other: Any

    def describe(self) -> str:
        label = f"{self.part} {self.what}".strip()
        return f"{label}: {_short(self.this)} here, {_short(self.other)} there"


def _short(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return value[:12]
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."


def differences(this: KeyParts, other: KeyParts) -> list[Difference]:
    """Why two key parts give different keys, part by part: the config field by field, the
    inputs file by file (by uri; an input only one side has is named too)."""
    found: list[Difference] = []
    if this.command != other.command:
        found.append(Difference("command", "", " ".join(this.command), " ".join(other.command)))
    if this.commit != other.commit:
        found.append(Difference("code", "commit", this.commit, other.commit))
    if this.diff_sha256 != other.diff_sha256:
        found.append(Difference("code", "uncommitted diff", this.diff_sha256, other.diff_sha256))
    if this.config_sha256 != other.config_sha256:
        fields = sorted(set(this.config) | set(other.config))
        changed = [f for f in fields if this.config.get(f) != other.config.get(f)]
        for name in changed:
            found.append(Difference("config", name, this.config.get(name), other.config.get(name)))
        if not changed:
            found.append(Difference("config", "", this.config_sha256, other.config_sha256))
    if sorted(s for _, s in this.inputs) != sorted(s for _, s in other.inputs):
        mine, theirs = dict(this.inputs), dict(other.inputs)
        for uri in sorted(set(mine) | set(theirs)):
            if mine.get(uri) != theirs.get(uri):
                found.append(Difference("input", uri, mine.get(uri), theirs.get(uri)))
    if this.platform != other.platform:
        found.append(Difference("environment", "platform", this.platform, other.platform))
    mine_p, theirs_p = dict(this.packages), dict(other.packages)
    for name in sorted(set(mine_p) | set(theirs_p)):
        if mine_p.get(name) != theirs_p.get(name) or (name in mine_p) != (name in theirs_p):
            found.append(
                Difference("environment", f"package {name}", mine_p.get(name), theirs_p.get(name))
            )
    return found


def reference(record: ExecutionRecord) -> str:
    """How `reused_from` names an execution: `namespace/case/execution_id` (unambiguous)."""
    return f"{record.namespace}/{record.case}/{record.execution_id}"
