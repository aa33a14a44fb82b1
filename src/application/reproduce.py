"""Verified reproduction: check a recorded execution's inputs, then judge the new outputs.

Pure rules; running the command is the caller's job (adapters/capture/session.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import msgspec

from ..domain.errors import DomainError
from ..domain.record import ExecutionRecord, FileRef, Status


class Verdict(StrEnum):
    IDENTICAL = "identical"
    DIFFER = "differ"
    FAILED = "failed"


@dataclass(frozen=True)
class InputDifference:
    uri: str
    expected: str | None
    actual: str | None

    @property
    def message(self) -> str:
        if self.actual is None:
            return f"{self.uri}: missing"
        return f"{self.uri}: sha256 {self.actual[:12]}… (recorded {str(self.expected)[:12]}…)"


class ReproductionRefusedError(DomainError):
    """The inputs differ from the recorded ones (and --force was not given)."""

    def __init__(self, execution_id: str, differences: list[InputDifference]) -> None:
        self.differences = differences
        listed = "; ".join(d.message for d in differences)
        super().__init__(
            f"cannot reproduce {execution_id!r}: {len(differences)} input(s) differ from the "
            f"recorded ones: {listed} (use --force to run anyway)"
        )


class NotReproducibleError(DomainError):
    """The recorded execution has nothing to re-run (no command)."""


@dataclass(frozen=True)
class ReproductionVerdict:
    verdict: Verdict
    differing: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict.value, "differing": self.differing, "missing": self.missing}


def check_inputs(
    record: ExecutionRecord,
    locate: Callable[[str], Path],
    digest: Callable[[Path], str | None],
) -> list[InputDifference]:
    """Each recorded input whose file is missing or whose sha256 changed (`digest` gives
    None for a missing file)."""
    if not record.command:
        raise NotReproducibleError(
            f"execution {record.execution_id!r} has no recorded command to re-run"
        )
    differences = []
    for ref in record.inputs:
        if ref.sha256 is None:
            continue
        actual = digest(locate(ref.uri))
        if actual != ref.sha256:
            differences.append(InputDifference(ref.uri, ref.sha256, actual))
    return differences


def compare_outputs(
    original: ExecutionRecord,
    outputs: list[FileRef],
    status: Status,
    manifests: tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]] = ({}, {}),
) -> ReproductionVerdict:
    """identical / differ (naming the files) / failed. Directories are named file by file
    when both runs kept a manifest (relative path -> sha256)."""
    if status is not Status.SUCCEEDED:
        return ReproductionVerdict(Verdict.FAILED)
    before = {r.uri: r.sha256 for r in original.outputs}
    after = {r.uri: r.sha256 for r in outputs}
    differing: list[str] = []
    missing = sorted(u for u in before if after.get(u) is None)
    for uri, sha in before.items():
        if uri in missing or after[uri] == sha:
            continue
        old, new = manifests[0].get(uri), manifests[1].get(uri)
        if old is not None and new is not None:
            names = sorted(n for n in set(old) | set(new) if old.get(n) != new.get(n))
            differing += [f"{uri.rstrip('/')}/{n}" for n in names]
        else:
            differing.append(uri)
    differing += sorted(u for u in after if u not in before)
    if differing or missing:
        return ReproductionVerdict(Verdict.DIFFER, differing, missing)
    return ReproductionVerdict(Verdict.IDENTICAL)


def as_reproduction(
    new: ExecutionRecord,
    original: ExecutionRecord,
    verdict: ReproductionVerdict,
    *,
    forced: bool,
    differences: list[InputDifference],
) -> ExecutionRecord:
    """The new execution's final record: `reproduces` set, verdict in tags and attributes."""
    return msgspec.structs.replace(
        new,
        reproduces=original.execution_id,
        tags={**new.tags, "reproduction.verdict": verdict.verdict.value},
        attributes={
            **new.attributes,
            "reproduction": {
                "of": original.execution_id,
                **verdict.as_dict(),
                "forced": forced,
                "input_differences": [d.message for d in differences],
            },
        },
    )
