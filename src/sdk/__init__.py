"""The Python tracking SDK (see docs/capture.md): `provledger.track(case=..., config=...)`."""

from __future__ import annotations

from .backends import Backend, HttpBackend, LedgerBackend
from .checkpoint import Checkpoint, checkpoint, has_checkpoint
from .errors import TrackingError
from .run import Run, track
from .search import search
from .tracking import JsonFileBackend, MemoryBackend, RunRecord, to_run_record

__all__ = [
    "Backend",
    "Checkpoint",
    "HttpBackend",
    "JsonFileBackend",
    "LedgerBackend",
    "MemoryBackend",
    "Run",
    "RunRecord",
    "TrackingError",
    "checkpoint",
    "has_checkpoint",
    "search",
    "to_run_record",
    "track",
]
