"""The Python tracking SDK (see docs/capture.md): `provledger.track(case=..., config=...)`."""

from __future__ import annotations

from .backends import Backend, HttpBackend, LedgerBackend
from .errors import TrackingError
from .run import Run, track
from .search import search
from .tracking import JsonFileBackend, MemoryBackend, RunRecord, to_run_record

__all__ = [
    "Backend",
    "HttpBackend",
    "JsonFileBackend",
    "LedgerBackend",
    "MemoryBackend",
    "Run",
    "RunRecord",
    "TrackingError",
    "search",
    "to_run_record",
    "track",
]
