"""Where checkpoints find and keep their outputs (sdk/checkpoint.py): the ledger with its
archive, or a JSON directory holding the index and the bytes."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from ..domain.record import ExecutionRecord, Status
from ..domain.reuse import reference
from .errors import TrackingError

if TYPE_CHECKING:
    from ..adapters.capture.reusing import Restored
    from ..application.ports import Archive
    from .backends import Backend
    from .checkpoint import Checkpoint
    from .tracking import JsonFileBackend


def reused_record(
    keyed: ExecutionRecord, original: ExecutionRecord, restored: list[Restored]
) -> ExecutionRecord:
    from ..adapters.capture.keeping import KEPT, kept_files

    now = datetime.now(UTC)
    return msgspec.structs.replace(
        keyed,
        status=Status.SUCCEEDED,
        ended=max(now, keyed.started or now),
        outputs=list(original.outputs),
        reused_from=reference(original),
        logs=[
            f"reused {reference(original)}: restored {len(restored)} kept file(s), each "
            "verified by sha256; the step did not run"
        ],
        attributes={
            **keyed.attributes,
            KEPT: kept_files(original),
            "reused": {"from": reference(original), "files": [r.uri for r in restored]},
        },
    )


class CheckpointStore:
    """Where a checkpoint looks its key up and keeps its outputs: the ledger and its archive,
    or a JSON run directory."""

    backend: Backend | None

    @staticmethod
    def of(backend: Backend | None) -> CheckpointStore:
        from .backends import LedgerBackend
        from .tracking import JsonFileBackend

        if backend is None or isinstance(backend, LedgerBackend):
            return LedgerStore(backend)
        if isinstance(backend, JsonFileBackend):
            return DirectoryStore(backend)
        raise TrackingError(
            f"checkpoint needs the ledger or a JsonFileBackend, not {type(backend).__name__}"
        )

    def try_reuse(self, step: Checkpoint, keyed: ExecutionRecord) -> bool:
        raise NotImplementedError

    def keep(self, step: Checkpoint) -> None:
        raise NotImplementedError


class LedgerStore(CheckpointStore):
    def __init__(self, backend: Backend | None) -> None:
        self.given = backend
        self.backend = backend  # None: track() opens the ledger from settings

    def _archive(self) -> Archive:
        from ..adapters.archive import archive_for
        from ..adapters.settings import Settings

        return archive_for(Settings())

    def try_reuse(self, step: Checkpoint, keyed: ExecutionRecord) -> bool:
        from ..adapters.capture.reusing import availability, restore
        from ..application.capture import start_execution
        from ..application.reuse import finish_reused, look_up
        from .backends import LedgerBackend

        backend = self.given if isinstance(self.given, LedgerBackend) else LedgerBackend()
        try:
            archive = self._archive()
            found = look_up(backend.ledger, keyed, availability(archive, step.outputs))
            if found.original is None:
                return False
            restored = restore(archive, found.original.record, Path.cwd())
            final = reused_record(keyed, found.original.record, restored)
            running = msgspec.structs.replace(keyed, reuse_key=None)
            start_execution(backend.ledger, running)
            finish_reused(backend.ledger, final, found.original, [r.uri for r in restored])
        finally:
            if backend is not self.given:
                backend.close()
        step.restored, step.reused_from = restored, final.reused_from
        step.execution_id = final.execution_id
        return True

    def keep(self, step: Checkpoint) -> None:
        assert step.run is not None
        from ..adapters.capture.keeping import KEPT, keep_files

        cwd = step.run.cwd
        kept = keep_files(
            self._archive(),
            list(step.run.outputs),
            lambda uri: Path(uri) if Path(uri).is_absolute() else cwd / uri,
        )
        step.run.attributes[KEPT] = kept


class DirectoryStore(CheckpointStore):
    """`dir/checkpoints/<key>.json`: the succeeded run and what it kept (`dir/files/...`)."""

    def __init__(self, backend: JsonFileBackend) -> None:
        from ..adapters.archive.folder import FolderArchive

        self.backend = self.directory_backend = backend
        self.directory = Path(backend.directory)
        self.archive = FolderArchive(self.directory)

    def _index(self, key: str) -> Path:
        return self.directory / "checkpoints" / f"{key}.json"

    def try_reuse(self, step: Checkpoint, keyed: ExecutionRecord) -> bool:
        from ..adapters.capture.reusing import availability, restore

        assert keyed.reuse_key is not None
        try:
            entry = json.loads(self._index(keyed.reuse_key).read_text())
            original = msgspec.convert(entry["record"], ExecutionRecord)
        except (OSError, ValueError, KeyError, msgspec.ValidationError):
            return False
        if availability(self.archive, step.outputs)(original) is not None:
            return False
        restored = restore(self.archive, original, Path.cwd())
        final = reused_record(keyed, original, restored)
        self.directory_backend.finish(final)  # the reuse is a run of its own in the directory
        step.restored, step.reused_from = restored, final.reused_from
        step.execution_id = final.execution_id
        return True

    def keep(self, step: Checkpoint) -> None:
        from ..adapters.capture.keeping import KEPT, keep_files

        assert step.run is not None
        assert step.key is not None
        cwd = step.run.cwd
        kept = keep_files(
            self.archive,
            list(step.run.outputs),
            lambda uri: Path(uri) if Path(uri).is_absolute() else cwd / uri,
        )
        step.run.attributes[KEPT] = kept
        record = msgspec.structs.replace(
            step.run.record(Status.SUCCEEDED, datetime.now(UTC)), reuse_key=step.key
        )
        index = self._index(step.key)
        index.parent.mkdir(parents=True, exist_ok=True)
        tmp = index.with_name(f".{index.name}.{os.getpid()}.tmp")
        tmp.write_bytes(msgspec.json.encode({"record": record}))
        os.replace(tmp, index)
