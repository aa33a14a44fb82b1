"""`provledger run`: record `running`, run the command with heartbeats, record the final record.

Everything that can be wrong with the request (empty command, missing or malformed config,
missing input) is refused before anything is recorded.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from ...application.capture import Finished, Heartbeats, finish_execution, key_of, start_execution
from ...application.ledger import Ledger
from ...domain.record import CodeVersion, Environment, ExecutionRecord, Spec, Status
from ...domain.reuse import PACKAGES_ATTRIBUTE, reference, reuse_key
from .attach import child_environment, fold
from .config import LoadedConfig, case_of, load_config
from .errors import CaptureError
from .hashing import directory_entries, file_refs
from .heartbeat import beating
from .keeping import KEPT, keep_files, kept_files
from .pinning import pin
from .probes import Probes, environment_probe, git_probe
from .process import ProcessResult, run_process
from .reusing import REUSE_MODES, Restored, ReuseUnavailableError, availability, restore

if TYPE_CHECKING:
    from ...application.ports import Archive

MANIFEST_LIMIT = 10_000
LOG_ROLES = ("stdout", "stderr", "log")


@dataclass
class RunRequest:
    command: list[str]
    cwd: Path = field(default_factory=Path.cwd)
    case: str | None = None
    namespace: str = "default"
    config: Path | None = None
    inputs: list[Path] = field(default_factory=list)
    outputs: list[Path] = field(default_factory=list)
    restricted: list[Path] = field(default_factory=list)  # outputs that are access-restricted
    keep_outputs: bool = False  # store the outputs' bytes in the archive (keeping.py)
    # Reuse (reusing.py): never | auto (restore an identical succeeded run's kept outputs,
    # else run) | only (restore, else fail); the packages whose versions join the key; `say`
    # hears why a run could not be reused, before it runs.
    reuse: str = "never"
    reuse_packages: list[str] = field(default_factory=list)
    say: Callable[[str], None] | None = None
    reproduces: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    echo: bool = True
    echo_stdout_to_stderr: bool = False
    heartbeat_interval: float = 10.0
    probes: Probes | None = None  # started early by the caller (for the same cwd), else here


@dataclass
class RunOutcome:
    final: ExecutionRecord
    finished: Finished
    record_file: Path
    process: ProcessResult
    restored: list[Restored] | None = None  # reused: the kept files put back instead of running

    @property
    def exit_code(self) -> int:
        if self.process.cancelled:
            return 130 if self.process.signal_name == "SIGINT" else 143
        return self.process.exit_code if self.process.exit_code is not None else 1


def new_execution_id(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def _uri(path: Path, cwd: Path) -> str:
    try:
        return str(path.relative_to(cwd)) if path.is_absolute() else str(path)
    except ValueError:
        return str(path)


def _resolve(path: Path, cwd: Path) -> Path:
    return path if path.is_absolute() else cwd / path


class Capture:
    """Runs and records commands. `catch_up=False` leaves the read models to their next reader
    (the CLI's `run`: every read command and the API catch up before reading)."""

    def __init__(
        self,
        ledger: Ledger,
        home: Path,
        heartbeats: Heartbeats,
        *,
        catch_up: bool = True,
        archive: Archive | None = None,
    ) -> None:
        self.ledger, self.home, self.heartbeats = ledger, home, heartbeats
        self.catch_up = catch_up
        self.archive = archive  # where --keep-outputs stores output bytes

    def prepare(self, request: RunRequest) -> tuple[ExecutionRecord, LoadedConfig | None]:
        """The `running` record; raises CaptureError for bad input, before recording."""
        if not request.command or not request.command[0].strip():
            raise CaptureError("no command to run: give it after `--`, e.g. provledger run -- make")
        if not request.cwd.is_dir():
            raise CaptureError(f"{request.cwd}: working directory not found")
        if request.keep_outputs and self.archive is None:
            raise CaptureError("--keep-outputs needs an archive (PROVLEDGER_ARCHIVE_URL)")
        if request.reuse not in REUSE_MODES:
            modes = ", ".join(REUSE_MODES)
            raise CaptureError(f"--reuse must be one of {modes}, not {request.reuse!r}")
        probes = request.probes if request.probes and request.probes.cwd == request.cwd else None
        code = probes.code if probes else git_probe(request.cwd)
        config = load_config(_resolve(request.config, request.cwd)) if request.config else None
        inputs = file_refs(
            [_resolve(p, request.cwd) for p in request.inputs],
            role="input",
            uris=[_uri(p, request.cwd) for p in request.inputs],
        )
        now = datetime.now(UTC)
        case = request.case or (
            case_of(config) if config else Path(request.command[0]).name or "run"
        )
        outputs = [_uri(p, request.cwd) for p in request.outputs]
        facts = code.result()
        code_version = CodeVersion(**facts) if facts else None
        pinned, pinned_inputs = pin(
            config,
            cwd=request.cwd,
            inputs=inputs,
            outputs=outputs,
            command=request.command,
            case=case,
            namespace=request.namespace,
            code=code_version,
        )
        spec = Spec(
            format=config.format if config else None,
            text=config.text if config else None,
            sha256=config.sha256 if config else None,
            resolved=pinned,
        )
        record = ExecutionRecord(
            execution_id=new_execution_id(now),
            case=case,
            namespace=request.namespace,
            status=Status.RUNNING,
            started=now,
            spec=spec,
            inputs=pinned_inputs,
            code=code_version,
            command=list(request.command),
            tags={"captured_by": "provledger run", **request.tags},
            attributes={
                "cwd": str(request.cwd),
                "config_path": pinned["config"]["path"] if config else None,
                "outputs": outputs,
                **(
                    {PACKAGES_ATTRIBUTE: sorted({p.lower() for p in request.reuse_packages})}
                    if request.reuse_packages
                    else {}
                ),
            },
            reproduces=request.reproduces,
        )
        return record, config

    def run(
        self,
        request: RunRequest,
        finalize: Callable[[ExecutionRecord], ExecutionRecord] | None = None,
    ) -> RunOutcome:
        running, _ = self.prepare(request)
        env = environment_probe(self.home)
        if request.reuse != "never":
            reused = self._reuse(request, running, env.result())
            if reused is not None:
                return reused
        start_execution(self.ledger, running, catch_up=self.catch_up)
        key = key_of(running)
        log_dir = self.home / "artifacts" / str(key)
        info = {
            "execution_id": running.execution_id,
            "case": running.case_key,
            "host": os.uname().nodename,
            "pid": os.getpid(),
        }
        sdk_dir = log_dir / "sdk"
        with beating(self.heartbeats, key, info, request.heartbeat_interval):
            result = run_process(
                running.command,
                request.cwd,
                log_dir,
                echo=request.echo,
                echo_stdout_to_stderr=request.echo_stdout_to_stderr,
                env=child_environment(running, sdk_dir),
            )
            final = fold(self._final(running, request, result, env.result()), sdk_dir)
            # The key of what was known before it ran (what a later run looks up).
            keyed = msgspec.structs.replace(running, environment=env.result())
            final = msgspec.structs.replace(final, reuse_key=reuse_key(keyed))
            if request.keep_outputs:
                final = self._keep(final, request)
            if finalize is not None:
                final = finalize(final)
            finished = finish_execution(self.ledger, final, catch_up=self.catch_up)
        return RunOutcome(final, finished, write_record_file(final, request.cwd), result)

    def keyed(self, request: RunRequest) -> ExecutionRecord:
        """The record `request` would start with, environment included (for explaining)."""
        from .environment import environment

        running, _ = self.prepare(request)
        return msgspec.structs.replace(
            running, environment=environment(cache_dir=self.home / "cache")
        )

    def _reuse(
        self, request: RunRequest, running: ExecutionRecord, env: Environment
    ) -> RunOutcome | None:
        """Restore an identical succeeded execution's kept outputs and record the reuse; None
        (having said why) when there is none to restore and the command must run."""
        from ...application.reuse import finish_reused, look_up

        keyed = msgspec.structs.replace(running, environment=env)
        wanted = list(running.attributes.get("outputs") or [])
        lookup = look_up(self.ledger, keyed, availability(self.archive, wanted))
        if lookup.original is None or self.archive is None:
            reason = lookup.reason or "nothing to reuse"
            if request.reuse == "only":
                raise ReuseUnavailableError(f"not reused (--reuse only): {reason}")
            if request.say is not None:
                request.say(f"not reused: {reason}; running it")
            return None
        original = lookup.original.record
        started = datetime.now(UTC)
        restored = restore(self.archive, original, request.cwd)
        declared = set(wanted)
        outputs = [o for o in original.outputs if not declared or o.uri in declared]
        ended = datetime.now(UTC)
        final = msgspec.structs.replace(
            keyed,
            status=Status.SUCCEEDED,
            started=started,
            ended=ended,
            outputs=outputs,
            reuse_key=lookup.key,
            reused_from=reference(original),
            logs=[
                f"reused {reference(original)}: restored {len(restored)} kept file(s), "
                "each verified by sha256; the command did not run"
            ],
            attributes={
                **keyed.attributes,
                KEPT: kept_files(original),
                **(
                    {"output_manifests": original.attributes["output_manifests"]}
                    if original.attributes.get("output_manifests")
                    else {}
                ),
                "reused": {
                    "from": reference(original),
                    "files": [r.uri for r in restored],
                    "bytes": sum(r.size for r in restored),
                },
            },
        )
        start_execution(self.ledger, running, catch_up=self.catch_up)
        finished = finish_reused(
            self.ledger, final, lookup.original, [r.uri for r in restored], catch_up=self.catch_up
        )
        nothing = Path(os.devnull)
        process = ProcessResult(final.command, started, ended, 0, nothing, nothing)
        record_file = write_record_file(final, request.cwd)
        return RunOutcome(final, finished, record_file, process, restored)

    def _keep(self, final: ExecutionRecord, request: RunRequest) -> ExecutionRecord:
        """Store the outputs (and the artifacts a tracked block logged) in the archive."""
        assert self.archive is not None
        refs = [*final.outputs, *(a for a in final.artifacts if a.role not in LOG_ROLES)]
        manifests = final.attributes.get("output_manifests") or {}
        kept = list(final.attributes.get(KEPT) or [])
        for item in keep_files(
            self.archive, refs, lambda uri: _resolve(Path(uri), request.cwd), manifests
        ):
            if item not in kept:
                kept.append(item)
        return msgspec.structs.replace(final, attributes={**final.attributes, KEPT: kept})

    def _final(
        self,
        running: ExecutionRecord,
        request: RunRequest,
        result: ProcessResult,
        env: Any,
    ) -> ExecutionRecord:
        present = [p for p in request.outputs if _resolve(p, request.cwd).exists()]
        missing = [_uri(p, request.cwd) for p in request.outputs if p not in present]
        outputs = file_refs(
            [_resolve(p, request.cwd) for p in present],
            role="output",
            uris=[_uri(p, request.cwd) for p in present],
        )
        restricted = {_uri(p, request.cwd) for p in request.restricted}
        outputs = [
            msgspec.structs.replace(ref, restricted=True) if ref.uri in restricted else ref
            for ref in outputs
        ]
        manifests = {
            _uri(p, request.cwd): directory_entries(_resolve(p, request.cwd))
            for p in present
            if _resolve(p, request.cwd).is_dir()
        }
        manifests = {u: m for u, m in manifests.items() if len(m) <= MANIFEST_LIMIT}
        artifacts = file_refs([result.stdout_path, result.stderr_path], role="log", uris=None)
        artifacts = [
            msgspec.structs.replace(a, role=role)
            for a, role in zip(artifacts, ("stdout", "stderr"), strict=True)
        ]
        logs = []
        if result.cancelled:
            status = Status.CANCELLED
            logs.append(f"cancelled: provledger received {result.signal_name}")
        elif result.error is not None:
            status = Status.FAILED
            logs.append(result.error)
        elif result.exit_code != 0:
            status = Status.FAILED
            logs.append(f"command exited with status {result.exit_code}")
        elif missing:
            status = Status.INCOMPLETE
            logs.append(f"declared outputs missing: {', '.join(missing)}")
        else:
            status = Status.SUCCEEDED
        return msgspec.structs.replace(
            running,
            status=status,
            ended=max(result.ended, running.started or result.ended),
            outputs=outputs,
            artifacts=artifacts,
            environment=env,
            logs=logs,
            missing=[f"outputs: {u}" for u in missing],
            attributes={
                **running.attributes,
                "exit_code": result.exit_code,
                "stdout_tail": result.stdout_tail,
                "stderr_tail": result.stderr_tail,
                **({"output_manifests": manifests} if manifests else {}),
            },
        )


def record_file_path(record: ExecutionRecord, cwd: Path) -> Path:
    """`<stem>.record.json` next to the primary output, else `experiment_record.json` in cwd."""
    output = record.primary_output
    declared = record.attributes.get("outputs") or []
    uri = output.uri if output is not None else (declared[0] if declared else None)
    if uri is not None:
        path = _resolve(Path(uri), cwd)
        if path.parent.is_dir():
            return path.parent / f"{path.stem if path.is_file() else path.name}.record.json"
    return cwd / "experiment_record.json"


def write_record_file(record: ExecutionRecord, cwd: Path) -> Path:
    path = record_file_path(record, cwd)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(msgspec.json.encode(record))
    os.replace(tmp, path)
    return path
