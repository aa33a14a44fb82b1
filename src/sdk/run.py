"""`provledger.track(...)`: MLflow-style fluent tracking of one execution.

    with provledger.track(case="heat", config={"dt": 0.1}) as run:
        run.log_param("solver", "cg")
        for step in range(1000):
            run.log_metric("loss", loss, step=step)
        run.log_artifact("plot.png")

Metric points are appended to an in-memory buffer (a list append) and turned into record
points in batches; the backend sees a `running` record at start, optional checkpoints, and the
final record once at the end, so logging never waits on I/O.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from ..domain.record import ExecutionRecord, FileRef, MetricPoint, ProcessingStep, Spec, Status
from ..domain.reuse import PACKAGES_ATTRIBUTE, reuse_key
from .backends import Backend
from .errors import TrackingError

_isfinite = math.isfinite


class Run:
    """One tracked execution. Use it through `track()`."""

    def __init__(self, record: ExecutionRecord, backend: Backend, cwd: Path) -> None:
        self._base = record
        self.backend = backend
        self.cwd = cwd
        self.params: dict[str, Any] = dict(record.params)
        self.tags: dict[str, str] = dict(record.tags)
        self._buffer: list[tuple[str, float, int | None, float]] = []
        self._points: dict[str, list[MetricPoint]] = {}
        self._lock = threading.Lock()
        self.artifacts: list[FileRef] = []
        self.inputs: list[FileRef] = list(record.inputs)
        self.outputs: list[FileRef] = []
        self.steps: list[ProcessingStep] = []
        self.logs: list[str] = []
        self.attributes: dict[str, Any] = dict(record.attributes)
        self.status: Status | None = None

    @property
    def execution_id(self) -> str:
        return self._base.execution_id

    run_id = execution_id

    # -- logging ------------------------------------------------------------------------------
    def log_param(self, key: str, value: Any) -> None:
        if not key:
            raise TrackingError("a param needs a non-empty name")
        self.params[key] = msgspec.to_builtins(value)

    def log_params(self, params: dict[str, Any]) -> None:
        for key, value in params.items():
            self.log_param(key, value)

    def log_metric(self, name: str, value: float, step: int | None = None) -> None:
        """Buffered: an append; checked (finite number, named) without any I/O."""
        value = float(value)
        if not _isfinite(value) or not name:
            raise TrackingError(
                f"metric {name!r}: value must be a finite number, not {value}"
                if name
                else "a metric needs a non-empty name"
            )
        self._buffer.append((name, value, step, time.time()))

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        for name, value in metrics.items():
            self.log_metric(name, value, step)

    def log_artifact(self, path: str | Path, role: str | None = None) -> FileRef:
        ref = self._file(path, role or "artifact")
        self.artifacts.append(ref)
        return ref

    def log_input(self, path: str | Path) -> FileRef:
        ref = self._file(path, "input")
        self.inputs.append(ref)
        return ref

    def log_output(self, path: str | Path) -> FileRef:
        ref = self._file(path, "output")
        self.outputs.append(ref)
        return ref

    def set_tag(self, key: str, value: Any) -> None:
        if not key:
            raise TrackingError("a tag needs a non-empty name")
        self.tags[key] = str(value)

    def set_tags(self, tags: dict[str, Any]) -> None:
        for key, value in tags.items():
            self.set_tag(key, value)

    def step(self, name: str, **details: Any) -> None:
        """A processing step, as usher's provenance sidecars keep them."""
        if not name:
            raise TrackingError("a step needs a non-empty name")
        self.steps.append(ProcessingStep(name, datetime.now(UTC), msgspec.to_builtins(details)))

    def log(self, message: str) -> None:
        self.logs.append(str(message))

    def fail(self, message: str | None = None) -> None:
        """End as failed even without an exception."""
        self.status = Status.FAILED
        if message:
            self.log(message)

    # -- batching -----------------------------------------------------------------------------
    def flush(self) -> None:
        """Move buffered points into the record's metric lists (one batch)."""
        with self._lock:
            buffer, self._buffer = self._buffer, []
            points = self._points
            for name, value, step, ts in buffer:
                entry = MetricPoint(value, step, datetime.fromtimestamp(ts, UTC))
                if name in points:
                    points[name].append(entry)
                else:
                    points[name] = [entry]

    def record(
        self, status: Status | None = None, ended: datetime | None = None
    ) -> ExecutionRecord:
        self.flush()
        return msgspec.structs.replace(
            self._base,
            status=status or Status.RUNNING,
            ended=ended,
            params=dict(self.params),
            inputs=list(self.inputs),
            outputs=list(self.outputs),
            artifacts=list(self.artifacts),
            metrics={k: list(v) for k, v in self._points.items()},
            steps=list(self.steps),
            logs=list(self.logs),
            tags=dict(self.tags),
            attributes=dict(self.attributes),
        )

    def _file(self, path: str | Path, role: str) -> FileRef:
        from ..adapters.capture.hashing import file_ref

        p = Path(path)
        full = p if p.is_absolute() else self.cwd / p
        if not full.exists():
            raise TrackingError(f"{path}: no such file or directory")
        return file_ref(full, role, str(path))


def _spec(config: Any, cwd: Path, case: str, namespace: str) -> tuple[Spec | None, list[FileRef]]:
    from ..adapters.capture.config import load_config
    from ..adapters.capture.pinning import pin

    if config is None:
        return None, []
    if isinstance(config, str | Path):
        loaded = load_config(Path(config) if Path(config).is_absolute() else cwd / config)
        pinned, inputs = pin(
            loaded,
            cwd=cwd,
            inputs=[],
            outputs=[],
            command=[],
            case=case,
            namespace=namespace,
            code=None,
        )
        return Spec(loaded.format, loaded.text, pinned, loaded.sha256), inputs
    if not isinstance(config, dict):
        raise TrackingError(
            f"config must be a dict or a config file path, not {type(config).__name__}"
        )
    data = json.loads(json.dumps(msgspec.to_builtins(config), sort_keys=True))
    text = json.dumps(data, sort_keys=True)
    return Spec("json", text, data, hashlib.sha256(text.encode()).hexdigest()), []


@contextmanager
def track(
    case: str,
    config: Any = None,
    *,
    namespace: str = "default",
    run_id: str | None = None,
    tags: dict[str, str] | None = None,
    backend: Backend | None = None,
    server: str | None = None,
    token: str | None = None,
    checkpoint_every: float | None = 30.0,
    capture_environment: bool = True,
    keep_artifacts: bool = False,
    command: list[str] | None = None,
    inputs: list[str | Path] | None = None,
    reuse_packages: list[str] | None = None,
) -> Iterator[Run]:
    """Track one execution; status from how the block ends (exception -> failed,
    KeyboardInterrupt -> cancelled). Backend: `backend`, else `server` (or
    PROVLEDGER_SERVER with PROVLEDGER_TOKEN), else the embedded ledger.

    Inside `provledger run` (and with no `backend`/`server` given) the block is part of the
    run's execution: what it logs is folded into the run's record (adapters/capture/attach.py).
    `keep_artifacts`: the bytes of logged artifacts and outputs are stored in the archive
    (`PROVLEDGER_ARCHIVE_URL`), content-addressed, for `provledger get`.
    `command`, `inputs` (hashed now) and `reuse_packages` are known before the block runs and
    make its reuse key (domain/reuse.py), which `provledger.checkpoint` looks up."""
    import os

    from ..adapters.capture.attach import surrounding
    from ..adapters.capture.environment import environment
    from ..adapters.capture.gitstate import git_state
    from ..adapters.capture.session import new_execution_id
    from .backends import AttachedBackend, HttpBackend, LedgerBackend

    cwd = Path.cwd()
    now = datetime.now(UTC)
    outer = surrounding() if backend is None and server is None else None
    asked_case = case
    if outer is not None:
        case, namespace, run_id = outer["case"], outer["namespace"], outer["id"]
        capture_environment = False  # `provledger run` records the code and environment
    spec, config_inputs = _spec(config, cwd, case, namespace)
    if inputs:
        from ..adapters.capture.hashing import file_ref

        for given in inputs:
            full = Path(given) if Path(given).is_absolute() else cwd / given
            if not full.exists():
                raise TrackingError(f"{given}: no such input file or directory")
            config_inputs.append(file_ref(full, "input", str(given)))
    server = server or os.environ.get("PROVLEDGER_SERVER")
    owned = backend is None
    if outer is not None:
        backend = AttachedBackend(Path(outer["dir"]))
    elif backend is None:
        if server:
            backend = HttpBackend(server, token or os.environ.get("PROVLEDGER_TOKEN"))
        else:
            backend = LedgerBackend()
    home = Path(os.environ.get("PROVLEDGER_HOME", ".provledger"))
    base = ExecutionRecord(
        execution_id=run_id or new_execution_id(now),
        case=case,
        namespace=namespace,
        status=Status.RUNNING,
        started=now,
        spec=spec,
        inputs=config_inputs,
        command=list(command or []),
        code=git_state(cwd) if capture_environment else None,
        environment=environment(cache_dir=home / "cache") if capture_environment else None,
        tags={"captured_by": "provledger sdk", **(tags or {})},
        attributes={
            "cwd": str(cwd),
            **({"sdk_case": asked_case} if outer is not None else {}),
            **({"sdk_config": spec.resolved} if outer is not None and spec is not None else {}),
            **({PACKAGES_ATTRIBUTE: sorted(set(reuse_packages))} if reuse_packages else {}),
        },
    )
    from ..domain.rules import validated

    try:
        base = validated(base)
        backend.start(base)
    except Exception:
        if owned:
            backend.close()
        raise
    run = Run(base, backend, cwd)
    stop = threading.Event()
    saver = _checkpointer(run, stop, checkpoint_every)
    status = Status.SUCCEEDED
    try:
        yield run
    except KeyboardInterrupt:
        status = Status.CANCELLED
        run.log("cancelled: KeyboardInterrupt")
        raise
    except SystemExit as e:
        # sys.exit() / sys.exit(0) is a normal end; any other code is the process failing.
        if e.code not in (None, 0):
            status = Status.FAILED
            run.log(f"SystemExit: {e.code}")
        raise
    except BaseException as e:
        status = Status.FAILED
        run.log(f"{type(e).__name__}: {e}")
        raise
    finally:
        stop.set()
        if saver is not None:
            saver.join()
        final = run.record(run.status or status, datetime.now(UTC))
        final = msgspec.structs.replace(final, reuse_key=reuse_key(base))  # known at its start
        if keep_artifacts:
            final = _kept(final, cwd)
        try:
            backend.finish(final)
        finally:
            if owned:
                backend.close()


def _kept(record: ExecutionRecord, cwd: Path) -> ExecutionRecord:
    """The record with its artifacts' and outputs' bytes stored in the archive."""
    from ..adapters.archive import archive_for
    from ..adapters.capture.keeping import KEPT, keep_files
    from ..adapters.settings import Settings

    archive = archive_for(Settings())
    refs = [*record.outputs, *record.artifacts]
    kept = keep_files(
        archive, refs, lambda uri: Path(uri) if Path(uri).is_absolute() else cwd / uri
    )
    return msgspec.structs.replace(record, attributes={**record.attributes, KEPT: kept})


def _checkpointer(run: Run, stop: threading.Event, every: float | None) -> threading.Thread | None:
    if not every:
        return None

    def loop() -> None:
        while not stop.wait(every):
            try:
                run.backend.checkpoint(run.record())
            except Exception as e:  # a failing checkpoint must not stop the run
                run.attributes["checkpoint_error"] = str(e)

    thread = threading.Thread(target=loop, name="provledger-checkpoint", daemon=True)
    thread.start()
    return thread
