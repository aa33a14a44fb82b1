"""MLflow tracking stores: the file store (`mlruns/`, `mlflow_files.py`) and the database stores
(SQLite `mlflow.db`, PostgreSQL; `mlflow_db.py`), both mapped by `mlflow_map.to_record`."""

from __future__ import annotations

from .mlflow_db import is_db_url, is_sqlite_store, read_sqlite, read_url
from .mlflow_files import NOT_EXPERIMENTS, NOT_RUNS, is_store, read_run, read_store, run_dirs
from .mlflow_map import IMPORTER, MAX_HASH_BYTES, NAMESPACE, STATUS, RunData, to_record

__all__ = [
    "IMPORTER",
    "MAX_HASH_BYTES",
    "NAMESPACE",
    "NOT_EXPERIMENTS",
    "NOT_RUNS",
    "STATUS",
    "RunData",
    "is_db_url",
    "is_sqlite_store",
    "is_store",
    "read_run",
    "read_sqlite",
    "read_store",
    "read_url",
    "run_dirs",
    "to_record",
]
