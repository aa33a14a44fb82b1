"""`provledger.checkpoint(name, config=..., inputs=[...], outputs=[...])`: skip an expensive
pipeline step whose identical run already succeeded, restoring its kept outputs instead.

    @provledger.checkpoint("fetch", config=cfg, inputs=["ids.txt"], outputs=["fetched.parquet"])
    def fetch():
        ...                       # runs only on a miss; writes fetched.parquet
    frame = fetch()               # on a hit: the restored output, loaded (a DataFrame here)

    with provledger.checkpoint("align", config=cfg, outputs=["aligned/"]) as step:
        if not step.hit:          # a with-block cannot be skipped: guard the body
            align()

The step is tracked as an execution of case `name` whose command is `provledger.checkpoint
NAME`; its reuse key (domain/reuse.py) is made of that command, the config, the inputs' sha256s,
the code and the declared environment. A hit restores the kept outputs (each verified by its
sha256) and records a new execution `reused_from` the original, with `ExecutionReused`; a miss
runs the body and keeps the outputs' bytes. With the ledger backend (the default) outputs are
kept in the archive (`PROVLEDGER_ARCHIVE_URL`); with `JsonFileBackend(dir)` the index and the
bytes live in the directory (`dir/checkpoints/<key>.json`, `dir/files/sha256/...`).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from ..domain.record import ExecutionRecord, Status
from ..domain.reuse import PACKAGES_ATTRIBUTE
from .checkpoint_stores import CheckpointStore, DirectoryStore
from .errors import TrackingError

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from ..adapters.capture.reusing import Restored
    from .backends import Backend
    from .run import Run

F = TypeVar("F", bound=Callable[..., Any])
COMMAND = "provledger.checkpoint"


def load_outputs(paths: list[Path]) -> Any:
    """One output: a Parquet file as a pandas DataFrame (when pandas and pyarrow are
    installed), else its path; several: a list of those."""
    loaded = [_load(p) for p in paths]
    return loaded[0] if len(loaded) == 1 else loaded


def _load(path: Path) -> Any:
    if path.suffix.lower() == ".parquet" and path.is_file():
        try:
            import pandas
        except ImportError:
            return path
        try:
            return pandas.read_parquet(path)
        except ImportError:  # no Parquet engine
            return path
    return path


class Checkpoint:
    """One checkpointed step: a context manager (`hit` says whether to skip the body) and a
    decorator (the body runs only on a miss)."""

    def __init__(
        self,
        name: str,
        config: Any = None,
        inputs: list[str | Path] | None = None,
        outputs: list[str | Path] | None = None,
        *,
        namespace: str = "default",
        packages: list[str] | None = None,
        backend: Backend | None = None,
        load: bool = True,
    ) -> None:
        if not name:
            raise TrackingError("a checkpoint needs a name")
        self.name, self.config, self.namespace = name, config, namespace
        self.inputs = [str(i) for i in inputs or []]
        self.outputs = [str(o) for o in outputs or []]
        self.packages = sorted({p.lower() for p in packages or []})
        self.backend, self.load = backend, load
        self.hit = False
        self.key: str | None = None
        self.reused_from: str | None = None
        self.execution_id: str | None = None
        self.restored: list[Restored] = []
        self.run: Run | None = None
        self._track: AbstractContextManager[Run] | None = None

    @property
    def paths(self) -> list[Path]:
        """The outputs, where they are now (restored on a hit, written by the body else)."""
        cwd = Path.cwd()
        return [Path(o) if Path(o).is_absolute() else cwd / o for o in self.outputs]

    @property
    def value(self) -> Any:
        """The outputs, loaded (`load_outputs`), or their paths with `load=False`."""
        paths = self.paths
        return load_outputs(paths) if self.load else paths

    def _copy(self) -> Checkpoint:
        return Checkpoint(
            self.name,
            self.config,
            list(self.inputs),
            list(self.outputs),
            namespace=self.namespace,
            packages=self.packages,
            backend=self.backend,
            load=self.load,
        )

    # -- decorator -----------------------------------------------------------------------------
    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._copy() as step:
                if step.hit:
                    return step.value
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    # -- context manager -----------------------------------------------------------------------
    def __enter__(self) -> Checkpoint:
        from .run import track

        store = CheckpointStore.of(self.backend)
        keyed = self._keyed()
        self.key = keyed.reuse_key
        if self.key is not None and store.try_reuse(self, keyed):
            self.hit = True
            return self
        self._track = track(
            case=self.name,
            config=self.config,
            namespace=self.namespace,
            backend=store.backend,
            keep_artifacts=False,
            command=[COMMAND, self.name],
            inputs=list(self.inputs),
            reuse_packages=self.packages,
            checkpoint_every=None,
        )
        self.run = self._track.__enter__()
        self.execution_id = self.run.execution_id
        self._store = store
        return self

    def __exit__(self, kind: Any, error: Any, trace: Any) -> bool | None:
        if self._track is None or self.run is None:
            return None
        if kind is None:
            try:
                for output in self.outputs:
                    self.run.log_output(output)
            except TrackingError as e:
                self.run.fail(f"checkpoint {self.name!r}: declared output missing: {e}")
            if self.run.status is None:
                self._store.keep(self)
        return self._track.__exit__(kind, error, trace)

    def _keyed(self) -> ExecutionRecord:
        """The record the step would start with, its reuse key set (as track() computes it)."""
        from ..adapters.capture.environment import environment
        from ..adapters.capture.gitstate import git_state
        from ..adapters.capture.hashing import file_ref
        from ..domain.reuse import reuse_key
        from .run import _spec

        cwd = Path.cwd()
        spec, inputs = _spec(self.config, cwd, self.name, self.namespace)
        for given in self.inputs:
            full = Path(given) if Path(given).is_absolute() else cwd / given
            if not full.exists():
                raise TrackingError(f"{given}: no such input file or directory")
            inputs.append(file_ref(full, "input", given))
        home = Path(os.environ.get("PROVLEDGER_HOME", ".provledger"))
        record = ExecutionRecord(
            execution_id=_new_id(),
            case=self.name,
            namespace=self.namespace,
            status=Status.RUNNING,
            started=datetime.now(UTC),
            spec=spec,
            inputs=inputs,
            command=[COMMAND, self.name],
            code=git_state(cwd),
            environment=environment(cache_dir=home / "cache"),
            tags={"captured_by": "provledger checkpoint"},
            attributes={
                "cwd": str(cwd),
                "outputs": list(self.outputs),
                **({PACKAGES_ATTRIBUTE: self.packages} if self.packages else {}),
            },
        )
        return msgspec.structs.replace(record, reuse_key=reuse_key(record))


def _new_id() -> str:
    from ..adapters.capture.session import new_execution_id

    return new_execution_id(datetime.now(UTC))


def checkpoint(
    name: str,
    config: Any = None,
    inputs: list[str | Path] | None = None,
    outputs: list[str | Path] | None = None,
    *,
    namespace: str = "default",
    packages: list[str] | None = None,
    backend: Backend | None = None,
    load: bool = True,
) -> Checkpoint:
    """A checkpointed step (see the module's doc): `with checkpoint(...) as step:` or
    `@checkpoint(...)`."""
    return Checkpoint(
        name,
        config,
        inputs,
        outputs,
        namespace=namespace,
        packages=packages,
        backend=backend,
        load=load,
    )


def has_checkpoint(
    name: str,
    config: Any = None,
    inputs: list[str | Path] | None = None,
    outputs: list[str | Path] | None = None,
    *,
    namespace: str = "default",
    packages: list[str] | None = None,
    backend: Backend | None = None,
) -> bool:
    """Whether `checkpoint(...)` with these arguments would reuse (restore) instead of run."""
    from ..adapters.capture.reusing import availability

    step = Checkpoint(
        name, config, inputs, outputs, namespace=namespace, packages=packages, backend=backend
    )
    keyed = step._keyed()
    if keyed.reuse_key is None:
        return False
    store = CheckpointStore.of(backend)
    if isinstance(store, DirectoryStore):
        try:
            entry = json.loads(store._index(keyed.reuse_key).read_text())
            original = msgspec.convert(entry["record"], ExecutionRecord)
        except (OSError, ValueError, KeyError, msgspec.ValidationError):
            return False
        return availability(store.archive, step.outputs)(original) is None
    from ..application.reuse import look_up
    from .backends import LedgerBackend

    given = backend if isinstance(backend, LedgerBackend) else LedgerBackend()
    try:
        found = look_up(given.ledger, keyed, availability(store._archive(), step.outputs))  # type: ignore[attr-defined]
    finally:
        if given is not backend:
            given.close()
    return found.original is not None
