"""MLflow database stores (MLflow 3's default `mlflow.db`, or PostgreSQL), read-only, straight
from MLflow's tables (experiments, experiment_tags, runs, params, tags, metrics, inputs,
datasets) into `RunData`, mapped by `mlflow_map.to_record` as the file store is.

Artifacts are hashed from the run's artifact root when it is a local folder (`file://…` or a
path); other roots (`s3://`, `mlflow-artifacts:`) are named in `attributes.artifact_uri` only.
"""

from __future__ import annotations

import hashlib
import math
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from ...application.ingest import ReadItem
from ...domain.record import FileRef
from .mlflow_map import Point, RunData, hash_artifacts, status_of, to_record
from .reading import ImportFileError
from .validate import checked

SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
SQLITE_MAGIC = b"SQLite format 3\x00"
URL_PREFIXES = ("postgresql://", "postgres://")
# What makes a database an MLflow tracking store (alembic_version: MLflow's migrations).
REQUIRED_TABLES = ("experiments", "runs", "params", "metrics", "tags", "alembic_version")
# MLflow's SQL store keeps +/-inf as +/-DBL_MAX and NaN as 0 with is_nan set.
DBL_MAX = 1.7976931348623157e308

Rows = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]


class NotAStoreError(Exception):
    """The database is readable but is not an MLflow tracking store (the message says why)."""


# --- SQLite -------------------------------------------------------------------------------


def looks_like_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(16) == SQLITE_MAGIC
    except OSError:
        return False


def _connect_sqlite(path: Path) -> sqlite3.Connection:
    uri = f"file:{quote(path.resolve().as_posix())}?mode=ro"
    return sqlite3.connect(uri, uri=True, timeout=10)


def sqlite_problem(path: Path) -> str | None:
    """None for an MLflow SQLite store, else a one-line reason it is not one."""
    if not looks_like_sqlite(path):
        return "not an SQLite database (an MLflow database store is one, such as mlflow.db)"
    try:
        conn = _connect_sqlite(path)
        try:
            _check_tables(_tables_sqlite(conn))
        finally:
            conn.close()
    except sqlite3.Error as e:
        return f"cannot read the SQLite database: {e}"
    except NotAStoreError as e:
        return str(e)
    return None


def is_sqlite_store(path: Path) -> bool:
    return path.suffix.lower() in SQLITE_SUFFIXES and sqlite_problem(path) is None


def _tables_sqlite(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _check_tables(tables: set[str]) -> None:
    missing = [t for t in REQUIRED_TABLES if t not in tables]
    if missing:
        raise NotAStoreError(
            f"not an MLflow tracking store (no {', '.join(missing)} table"
            f"{'s' if len(missing) > 1 else ''})"
        )


def read_sqlite(path: Path, shown: str | None = None) -> Iterator[ReadItem]:
    """One ReadItem per run of an `mlflow.db` (or one error item for the whole file)."""
    where = shown or str(path)
    try:
        conn = _connect_sqlite(path)
    except sqlite3.Error as e:
        yield ReadItem(where, error=f"{where}: cannot open the SQLite database: {e}")
        return
    try:

        def rows(sql: str, args: Sequence[Any]) -> list[tuple[Any, ...]]:
            return list(conn.execute(sql, args).fetchall())

        yield from _read(rows, _tables_sqlite, conn, where, path.resolve().parent)
    except sqlite3.Error as e:
        yield ReadItem(where, error=f"{where}: cannot read the SQLite database: {e}")
    finally:
        conn.close()


def count_sqlite(path: Path) -> int:
    try:
        conn = _connect_sqlite(path)
        try:
            return max(1, _count(lambda s, a: list(conn.execute(s, a).fetchall())))
        finally:
            conn.close()
    except sqlite3.Error:
        return 1


# --- PostgreSQL ---------------------------------------------------------------------------


def is_db_url(text: str) -> bool:
    return text.lower().startswith(URL_PREFIXES)


def shown_url(url: str) -> str:
    """The URL without its password (item names and errors never show it)."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        netloc = f"{parts.username}@{host}" if parts.username else host
        return urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        return url.split("@", 1)[-1]


def _connect_pg(url: str) -> Any:
    import psycopg

    conn = psycopg.connect(url, connect_timeout=10)
    conn.read_only = True
    # One snapshot for the whole read; a read-only transaction never blocks MLflow's writers.
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    return conn


def _pg_rows(conn: Any) -> Rows:
    def rows(sql: str, args: Sequence[Any]) -> list[tuple[Any, ...]]:
        return list(conn.execute(sql.replace("?", "%s"), list(args)).fetchall())

    return rows


def _tables_pg(conn: Any) -> set[str]:
    found = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
    ).fetchall()
    return {r[0] for r in found}


def read_url(url: str) -> Iterator[ReadItem]:
    """One ReadItem per run of an MLflow store in PostgreSQL (`postgresql://…`)."""
    import psycopg

    where = shown_url(url)
    try:
        conn = _connect_pg(url)
    except psycopg.Error as e:
        yield ReadItem(where, error=f"{where}: cannot connect: {_first_line(e)}")
        return
    try:
        yield from _read(_pg_rows(conn), _tables_pg, conn, where, None)
    except psycopg.Error as e:
        yield ReadItem(where, error=f"{where}: cannot read: {_first_line(e)}")
    finally:
        conn.close()


def count_url(url: str) -> int:
    import psycopg

    try:
        with _connect_pg(url) as conn:
            return max(1, _count(_pg_rows(conn)))
    except psycopg.Error:
        return 1


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


# --- Both -----------------------------------------------------------------------------------


def _count(rows: Rows) -> int:
    found = rows(
        "SELECT count(*) FROM runs r JOIN experiments e ON e.experiment_id = r.experiment_id "
        "WHERE COALESCE(e.lifecycle_stage, 'active') <> 'deleted'",
        (),
    )
    return int(found[0][0])


def _read(
    rows: Rows, tables_of: Callable[[Any], set[str]], conn: Any, where: str, base: Path | None
) -> Iterator[ReadItem]:
    """Experiments in the file store's order (ids as text), runs by id; a deleted experiment
    is skipped as the file store's `.trash/` is, a deleted run is read (`lifecycle_stage`)."""
    tables = tables_of(conn)
    try:
        _check_tables(tables)
    except NotAStoreError as e:
        yield ReadItem(where, error=f"{where}: {e}")
        return
    experiments = rows("SELECT experiment_id, name, lifecycle_stage FROM experiments", ())
    for exp_id, name, stage in sorted(experiments, key=lambda e: str(e[0])):
        if stage == "deleted":
            continue
        exp_tags: dict[str, str] = {}
        if "experiment_tags" in tables:
            found = rows(
                'SELECT "key", value FROM experiment_tags WHERE experiment_id = ?', [exp_id]
            )
            exp_tags = {k: v or "" for k, v in sorted(found)}
        runs = sorted(
            rows(
                "SELECT run_uuid, name, user_id, status, start_time, end_time, source_name, "
                "source_version, lifecycle_stage, artifact_uri FROM runs WHERE experiment_id = ?",
                [exp_id],
            )
        )
        ids = frozenset(r[0] for r in runs)
        for run_row in runs:
            run_where = f"{where}!{exp_id}/{run_row[0]}"
            try:
                run = _run(rows, tables, run_row, str(exp_id), str(name), exp_tags, run_where, base)
                yield ReadItem(run_where, record=checked(to_record(run, ids), run_where))
            except ImportFileError as e:
                yield ReadItem(run_where, error=str(e))


def _run(
    rows: Rows,
    tables: set[str],
    row: tuple[Any, ...],
    exp_id: str,
    exp_name: str,
    exp_tags: dict[str, str],
    shown: str,
    base: Path | None,
) -> RunData:
    run_id, run_name, user, status, start, end, source_name, source_version, stage, uri = row
    meta = {
        "run_name": run_name,
        "artifact_uri": uri,
        "lifecycle_stage": stage,
        "source_name": source_name,
        "source_version": source_version,
    }
    params = rows('SELECT "key", value FROM params WHERE run_uuid = ?', [run_id])
    tags = rows('SELECT "key", value FROM tags WHERE run_uuid = ?', [run_id])
    folder = artifact_folder(uri, base)
    artifacts, unreadable = hash_artifacts(folder) if folder else ([], {})
    inputs, outputs = _links(rows, tables, run_id)
    return RunData(
        run_id=str(run_id),
        experiment_id=exp_id,
        experiment_name=exp_name or exp_id,
        shown=shown,
        status=status_of(status if status is not None else "RUNNING"),
        start_ms=None if start is None else int(start),
        end_ms=None if end is None else int(end),
        user_id=str(user) if user else None,
        meta={k: v for k, v in meta.items() if v is not None},
        experiment_tags=exp_tags,
        params={k: v or "" for k, v in sorted(params)},
        tags={k: v or "" for k, v in sorted(tags)},
        metrics=_metrics(rows, run_id),
        artifacts=artifacts,
        unhashed=unreadable,
        inputs=inputs,
        outputs=outputs,
    )


def _metrics(rows: Rows, run_id: str) -> dict[str, list[Point]]:
    found = rows(
        'SELECT "key", timestamp, step, value, is_nan FROM metrics WHERE run_uuid = ? '
        'ORDER BY "key", timestamp, step, value',
        [run_id],
    )
    out: dict[str, list[Point]] = {}
    for key, ts, step, value, is_nan in found:
        number = float(value)
        if is_nan:
            number = math.nan
        elif abs(number) == DBL_MAX:
            number = math.copysign(math.inf, number)
        out.setdefault(key, []).append(Point(int(ts), number, int(step or 0), str(number)))
    return out


def _md5(*parts: str) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    for part in parts:
        digest.update(part.encode())
    return digest.hexdigest()


def _links(rows: Rows, tables: set[str], run_id: str) -> tuple[list[FileRef], list[FileRef]]:
    """Dataset and model inputs, logged-model outputs; in the order the file store lists them
    (its input folders are named md5(dataset or model id + run id))."""
    if "inputs" not in tables:
        return [], []
    inputs: list[tuple[str, str]] = []
    if "datasets" in tables:
        for name, digest in rows(
            "SELECT d.name, d.digest FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id "
            "WHERE i.source_type = 'DATASET' AND i.destination_type = 'RUN' "
            "AND i.destination_id = ?",
            [run_id],
        ):
            folder = _md5(_md5(name, digest), run_id)
            inputs.append((folder, f"mlflow-dataset:{name}@{digest or ''}"))
    for (model_id,) in rows(
        "SELECT destination_id FROM inputs WHERE source_type = 'RUN_INPUT' "
        "AND destination_type = 'MODEL_INPUT' AND source_id = ?",
        [run_id],
    ):
        inputs.append((_md5(model_id, run_id), f"mlflow-model:{model_id}"))
    models = rows(
        "SELECT destination_id FROM inputs WHERE source_type = 'RUN_OUTPUT' "
        "AND destination_type = 'MODEL_OUTPUT' AND source_id = ?",
        [run_id],
    )
    return (
        [FileRef(uri=uri, role="input") for _, uri in sorted(inputs)],
        [FileRef(uri=f"models:/{m}", role="model") for (m,) in sorted(models)],
    )


def artifact_folder(uri: str | None, base: Path | None) -> Path | None:
    """The local folder of an artifact root: `file://…`, an absolute path, or a path relative
    to the SQLite file's folder; None for remote roots."""
    if not uri:
        return None
    parts = urlsplit(uri)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    if parts.scheme:
        return None
    path = Path(uri)
    if path.is_absolute():
        return path
    return base / path if base is not None else None
