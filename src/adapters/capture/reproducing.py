"""`provledger reproduce`: re-run a recorded execution with its pinned config and judge it."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import msgspec
from eventsourcing.persistence import IntegrityError

from ...application.capture import key_of
from ...application.reproduce import (
    ReproductionRefusedError,
    as_reproduction,
    check_inputs,
    compare_outputs,
)
from ...domain.execution import Execution
from ...domain.record import ExecutionRecord
from .errors import CaptureError
from .hashing import file_ref
from .keeping import changes, kept_files
from .session import Capture, RunOutcome, RunRequest


def _digest(path: Path) -> str | None:
    try:
        return file_ref(path).sha256
    except (CaptureError, OSError):
        return None


def _restore_config(original: ExecutionRecord, workdir: Path) -> Path | None:
    """The recorded config's path; written back from the pinned text when it is missing."""
    config_path = original.attributes.get("config_path")
    if not config_path:
        return None
    path = workdir / config_path if not Path(config_path).is_absolute() else Path(config_path)
    if not path.exists() and original.spec is not None and original.spec.text is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(original.spec.text, encoding="utf-8")
    return Path(config_path)


def reproduce(
    capture: Capture,
    ref: str,
    in_dir: Path | None = None,
    *,
    force: bool = False,
    echo: bool = True,
    echo_stdout_to_stderr: bool = False,
) -> RunOutcome:
    """Check inputs (refuse if any differ, unless forced), re-run, record with a verdict."""
    original = capture.ledger.record_of(ref)
    recorded_cwd = original.attributes.get("cwd")
    workdir = (in_dir or Path(recorded_cwd or ".")).resolve()
    if not workdir.is_dir():
        raise CaptureError(f"{workdir}: directory to reproduce in not found")
    config = _restore_config(original, workdir)

    def locate(uri: str) -> Path:
        return Path(uri) if Path(uri).is_absolute() else workdir / uri

    differences = check_inputs(original, locate, _digest)
    if differences and not force:
        raise ReproductionRefusedError(original.execution_id, differences)
    request = RunRequest(
        command=list(original.command),
        cwd=workdir,
        case=original.case,
        namespace=original.namespace,
        config=config,
        inputs=[Path(r.uri) for r in original.inputs if r.role in (None, "input")],
        outputs=[Path(u) for u in original.attributes.get("outputs") or []],
        reproduces=original.execution_id,
        tags={"captured_by": "provledger reproduce"},
        keep_outputs=bool(kept_files(original)) and capture.archive is not None,
        echo=echo,
        echo_stdout_to_stderr=echo_stdout_to_stderr,
    )
    before = original.attributes.get("output_manifests") or {}

    def judge(final: ExecutionRecord) -> ExecutionRecord:
        after = final.attributes.get("output_manifests") or {}
        verdict = compare_outputs(original, final.outputs, final.status, (before, after))
        judged = as_reproduction(final, original, verdict, forced=force, differences=differences)
        if capture.archive is None or not verdict.differing or not kept_files(original):
            return judged
        found = changes(capture.archive, original, verdict.differing, locate)
        reproduction = {**judged.attributes.get("reproduction", {}), "changes": found}
        return msgspec.structs.replace(
            judged, attributes={**judged.attributes, "reproduction": reproduction}
        )

    outcome = capture.run(request, finalize=judge)
    _note_on_original(capture, original, outcome.final.execution_id)
    return outcome


def _note_on_original(capture: Capture, original: ExecutionRecord, new_id: str) -> None:
    """ReproductionRequested on the original, naming the reproduction."""
    for _ in range(5):
        execution = capture.ledger.events.get(UUID(str(key_of(original))))
        if not isinstance(execution, Execution):
            return
        execution.request_reproduction(note=f"reproduced as {new_id}")
        try:
            capture.ledger.events.save(execution)
        except IntegrityError:
            continue
        capture.ledger.catch_up()
        return
