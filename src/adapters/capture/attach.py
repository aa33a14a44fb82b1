"""`provledger.track` inside `provledger run`: one execution, not two.

`provledger run` tells its command which execution it is recording through the environment
(`PROVLEDGER_RUN_ID`, `PROVLEDGER_RUN_CASE`, `PROVLEDGER_RUN_NAMESPACE`) and gives it a folder
(`PROVLEDGER_RUN_DIR`). A `track()` block in that command does not record an execution of its
own: it writes what it logged (params, metrics, artifacts, inputs, outputs, tags, steps, logs)
to `<PROVLEDGER_RUN_DIR>/<block id>.json` (at checkpoints and at its end), and when the command
has exited `run` folds every such file into its final record (docs/capture.md).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from ...domain.record import ExecutionRecord, FileRef, Status

RUN_ID = "PROVLEDGER_RUN_ID"
RUN_CASE = "PROVLEDGER_RUN_CASE"
RUN_NAMESPACE = "PROVLEDGER_RUN_NAMESPACE"
RUN_DIR = "PROVLEDGER_RUN_DIR"
FAILED_BLOCK = (Status.FAILED, Status.CANCELLED)


def child_environment(record: ExecutionRecord, sdk_dir: Path) -> dict[str, str]:
    """The command's environment: ours, plus where its tracked blocks report to."""
    sdk_dir.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        RUN_ID: record.execution_id,
        RUN_CASE: record.case,
        RUN_NAMESPACE: record.namespace,
        RUN_DIR: str(sdk_dir),
    }


def surrounding(environ: Mapping[str, str] | None = None) -> dict[str, str] | None:
    """The `provledger run` this process runs inside: {id, case, namespace, dir}, or None."""
    env = os.environ if environ is None else environ
    found = {
        k: env.get(v, "")
        for k, v in (
            ("id", RUN_ID),
            ("case", RUN_CASE),
            ("namespace", RUN_NAMESPACE),
            ("dir", RUN_DIR),
        )
    }
    return found if all(found.values()) and Path(found["dir"]).is_dir() else None


def write_block(sdk_dir: Path, block_id: str, record: ExecutionRecord) -> None:
    """One tracked block's record so far (rewritten atomically at each checkpoint)."""
    path = sdk_dir / f"{block_id}.json"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(msgspec.json.encode(record))
    os.replace(tmp, path)


def read_blocks(sdk_dir: Path) -> tuple[list[ExecutionRecord], list[str]]:
    """The tracked blocks' records, in the order they started; a line per unreadable file."""
    blocks: list[ExecutionRecord] = []
    problems: list[str] = []
    if not sdk_dir.is_dir():
        return blocks, problems
    for path in sorted(sdk_dir.glob("*.json")):
        try:
            blocks.append(msgspec.json.decode(path.read_bytes(), type=ExecutionRecord))
        except (OSError, msgspec.DecodeError, msgspec.ValidationError) as e:
            problems.append(f"tracked block {path.name} not read: {e}")
    blocks.sort(key=lambda r: r.started.isoformat() if r.started else "")
    return blocks, problems


def _merge_files(base: list[FileRef], extra: list[FileRef]) -> list[FileRef]:
    seen = {(r.uri, r.sha256) for r in base}
    return [*base, *(r for r in extra if (r.uri, r.sha256) not in seen)]


def fold(final: ExecutionRecord, sdk_dir: Path) -> ExecutionRecord:
    """`final` with every tracked block's params, metrics, files, tags, steps and logs."""
    blocks, problems = read_blocks(sdk_dir)
    if not blocks and not problems:
        return final
    params = dict(final.params)
    metrics = {k: list(v) for k, v in final.metrics.items()}
    tags = dict(final.tags)
    inputs, outputs, artifacts = list(final.inputs), list(final.outputs), list(final.artifacts)
    steps, logs = list(final.steps), [*final.logs, *problems]
    kept = list(final.attributes.get("kept") or [])
    summary: list[dict[str, Any]] = []
    status = final.status
    for block in blocks:
        params.update(block.params)
        for name, points in block.metrics.items():
            metrics.setdefault(name, []).extend(points)
        tags.update({k: v for k, v in block.tags.items() if k != "captured_by"})
        inputs = _merge_files(inputs, block.inputs)
        outputs = _merge_files(outputs, block.outputs)
        artifacts = _merge_files(artifacts, block.artifacts)
        steps.extend(block.steps)
        logs.extend(block.logs)
        kept.extend(k for k in block.attributes.get("kept") or [] if k not in kept)
        asked = block.attributes.get("sdk_case") or block.case
        entry: dict[str, Any] = {"case": asked, "status": block.status.value}
        config = block.attributes.get("sdk_config")
        if config is not None:
            entry["config"] = config
        summary.append(entry)
        if block.status in FAILED_BLOCK and status is Status.SUCCEEDED:
            status = Status.FAILED
            logs.append(f"a tracked block ({asked}) ended {block.status.value}")
    attributes = {**final.attributes, "sdk": summary, **({"kept": kept} if kept else {})}
    return msgspec.structs.replace(
        final,
        status=status,
        params=params,
        metrics=metrics,
        tags=tags,
        inputs=inputs,
        outputs=outputs,
        artifacts=artifacts,
        steps=steps,
        logs=logs,
        attributes=attributes,
    )
