"""Layout detection: walk a path once and hand each unit to the importer that reads it.

Units: E3SM execution directories (`<jobid>.<YYMMDD-HHMMSS>/`, at any depth), MLflow stores
(`mlruns/`, and `*.db` SQLite files holding MLflow's tables), `.zip`/`.tar.gz` uploads
(extracted safely, then scanned), usher sidecars (`*.provenance*.json`), entrenar run records
and provledger/DissModel record files. Items are yielded lazily, one per execution, so memory
stays flat whatever the size of the tree.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import msgspec

from ...application.ingest import ReadItem
from ..readers.files import RECORD_SUFFIXES, RecordFileError, load_document, too_deep
from ..readers.records import detect_format, parse_record
from . import archives, e3sm, e3sm_files, entrenar, mlflow, mlflow_db, openlineage, parallel, usher
from .reading import ImportFileError
from .validate import checked

IMPORT_FORMATS = ("e3sm", "mlflow", "entrenar", "usher")
RECORD_NAMES = ("experiment_record.json",)
EXTRACT_CAP = 1 << 30

Kind = Literal["e3sm", "mlflow", "mlflow_db", "archive", "file", "skip", "error"]


@dataclass(frozen=True)
class Unit:
    kind: Kind
    path: Path
    message: str = ""


def wants(fmt: str, kind: str) -> bool:
    return fmt in ("auto", kind)


def _symlink_loop(path: Path) -> bool:
    """A link to a directory that contains the link (following it would never end)."""
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return True
    return target == path.parent.resolve() or target in path.parent.resolve().parents


def units(root: Path, fmt: str) -> Iterator[Unit]:
    """Every unit under `root`, in a stable order; links to directories are not followed."""
    if root.is_symlink() and not root.exists():
        yield Unit("error", root, "broken symbolic link or symbolic link loop")
        return
    if root.is_file():
        db = _mlflow_db(root, fmt, explicit=True)
        yield db or Unit("archive" if archives.is_archive(root) else "file", root)
        return
    if wants(fmt, "e3sm") and e3sm_files.is_execution_path(root):
        yield Unit("e3sm", root)
        return
    if wants(fmt, "mlflow") and mlflow.is_store(root):
        yield Unit("mlflow", root)
        return
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        keep = []
        for name in sorted(dirnames):
            path = here / name
            if name.startswith("."):
                continue
            if path.is_symlink():
                if _symlink_loop(path):
                    yield Unit("error", path, "symbolic link loop (not followed)")
                continue
            if wants(fmt, "e3sm") and e3sm_files.is_execution_path(path):
                yield Unit("e3sm", path)
            elif wants(fmt, "mlflow") and mlflow.is_store(path):
                yield Unit("mlflow", path)
            else:
                keep.append(name)
        dirnames[:] = keep
        why = e3sm_files.skip_reason(here.name, filenames) if wants(fmt, "e3sm") else None
        if why is not None:
            yield Unit("skip", here, why)
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = here / name
            dangling = _dangling_link(path)
            if dangling is not None:  # never silently dropped: named, with the reason
                yield Unit("error" if _is_candidate(name, fmt) else "skip", path, dangling)
                continue
            db = _mlflow_db(path, fmt, explicit=False)
            if db is not None:
                yield db
            elif archives.is_archive(path) and fmt not in ("provledger", "dissmodel"):
                yield Unit("archive", path)
            elif _is_candidate(name, fmt):
                yield Unit("file", path)


def _dangling_link(path: Path) -> str | None:
    """Why a file-level symbolic link cannot be followed (`a -> b -> a`, or a missing target)."""
    if not path.is_symlink():
        return None
    try:
        path.stat()
    except OSError as e:
        if e.errno == errno.ELOOP:
            return "symbolic link loop (not followed)"
        return f"broken symbolic link ({e.strerror})"
    return None


def _mlflow_db(path: Path, fmt: str, explicit: bool) -> Unit | None:
    """An MLflow SQLite store (`*.db`, `*.sqlite`; given explicitly: any SQLite file); a `*.db`
    that is not one is an error when given explicitly, a skip (with the reason) in a walk."""
    if not wants(fmt, "mlflow"):
        return None
    suffixed = path.name.lower().endswith(mlflow_db.SQLITE_SUFFIXES)
    if not suffixed and not (explicit and mlflow_db.looks_like_sqlite(path)):
        return None
    problem = mlflow_db.sqlite_problem(path)
    if problem is None:
        return Unit("mlflow_db", path)
    if not suffixed:
        return None
    return Unit("error" if explicit else "skip", path, problem)


def _is_candidate(name: str, fmt: str) -> bool:
    lowered = name.lower()
    if fmt == "usher":
        return usher.is_sidecar(name)
    if fmt == "entrenar":
        return lowered.endswith(".json")
    if fmt in ("e3sm", "mlflow"):
        return False
    return lowered.endswith(RECORD_SUFFIXES) or (
        fmt == "auto" and lowered.endswith(openlineage.SUFFIXES)  # OpenLineage's file transport
    )


def count(paths: Sequence[Path | str], fmt: str) -> int | None:
    """How many items a scan will yield, or None when unknown (archives to extract)."""
    total = 0
    for root in paths:
        if isinstance(root, str):  # a database URL
            total += mlflow_db.count_url(root) if wants(fmt, "mlflow") else 1
            continue
        if not root.exists() and not root.is_symlink():
            total += 1
            continue
        here = 0
        for unit in units(root, fmt):
            if unit.kind == "archive":
                return None
            if unit.kind == "mlflow":
                here += sum(1 for _ in mlflow_runs(unit.path))
            else:
                here += mlflow_db.count_sqlite(unit.path) if unit.kind == "mlflow_db" else 1
        total += here if here or fmt == "auto" else 1  # "no <fmt> data found"
    return total


def mlflow_runs(store: Path) -> Iterator[Path]:
    for exp in sorted(p for p in store.iterdir() if p.is_dir() and (p / "meta.yaml").is_file()):
        if exp.name in mlflow.NOT_EXPERIMENTS or exp.name.startswith("."):
            continue
        for run in exp.iterdir():
            if run.name not in mlflow.NOT_RUNS and (run / "meta.yaml").is_file():
                yield run


def scan_url(url: str, fmt: str) -> Iterator[ReadItem]:
    """A database URL (`postgresql://…`): an MLflow tracking store, read-only."""
    if not wants(fmt, "mlflow"):
        where = mlflow_db.shown_url(url)
        yield ReadItem(where, error=f"{where}: only MLflow stores are read from a database URL")
        return
    yield from mlflow_db.read_url(url)


def scan(root: Path, fmt: str, cap: int, workers: int | None = None) -> Iterator[ReadItem]:
    """ReadItems for everything under `root`, in walk order (E3SM directories may be parsed in
    worker processes: importers/parallel.py)."""
    return parallel.ordered(_jobs(root, fmt, cap), read_job, workers)


def _jobs(
    root: Path, fmt: str, cap: int, *, top: Path | None = None, shown: str | None = None
) -> Iterator[parallel.Job | ReadItem | parallel.Barrier]:
    """Items, or E3SM jobs to read. `top`/`shown`: the extraction dir of an upload and how to
    name its contents (`upload.tar.gz!user/case/exec`)."""
    for unit in units(root, fmt):
        where = _shown(unit.path, top, shown)
        if unit.kind == "error":
            yield ReadItem(where, error=f"{where}: {unit.message}")
        elif unit.kind == "e3sm":
            yield ("dir", unit.path, cap, top, where)
        elif unit.kind == "mlflow":
            yield from mlflow.read_store(unit.path, cap, where if shown else None)
        elif unit.kind == "mlflow_db":
            yield from mlflow_db.read_sqlite(unit.path, where)
        elif unit.kind == "skip":
            yield ReadItem(where, skipped=True, error=unit.message)  # the reason, shown
        elif unit.kind == "archive":
            yield from _archive_jobs(unit.path, fmt, cap, where)
        elif fmt == "auto" and openlineage.looks_like_events(unit.path):
            yield from openlineage.read_event_file(unit.path, cap, where)
        else:
            yield _file_item(unit.path, fmt, cap, where, explicit=unit.path == root)


def _shown(path: Path, top: Path | None, shown: str | None) -> str:
    if top is None or shown is None:
        return str(path)
    relative = path.relative_to(top).as_posix() if path != top else ""
    return f"{shown}!{relative}" if relative else shown


def read_job(job: parallel.Job) -> ReadItem:
    """One E3SM execution: `("dir", path, cap, top, where)` or `("members", key, members, cap,
    where)` (an upload's execution directory held in memory). Runs in worker processes."""
    where: str = job[-1]
    try:
        if job[0] == "dir":
            _, path, cap, top, _ = job
            try:
                record = e3sm.read_execution(path, cap, top=top, shown_as=where)
            except ImportFileError as e:
                return ReadItem(where, error=_named(e, path, top, where))
        else:
            _, key, members, cap, _ = job
            parts = [p for p in key.split("/") if p not in ("", ".")]
            user_dir = parts[-3] if len(parts) >= 3 else None
            case_dir = parts[-2] if len(parts) >= 2 else None
            record = e3sm.read_members(parts[-1], members, cap, user_dir, case_dir, where)
        return ReadItem(where, record=checked(record, where))
    except ImportFileError as e:
        return ReadItem(where, error=str(e))
    except Exception as e:  # a bad directory must never stop the batch (nor a worker)
        return ReadItem(where, error=f"{where}: cannot read: {type(e).__name__}: {e}")


def _named(error: ImportFileError, path: Path, top: Path | None, where: str) -> str:
    """Error text with extraction paths replaced by the upload's name."""
    text = str(error)
    if top is not None:
        text = text.replace(str(path), where)
    return text


def _wanted_member(fmt: str) -> Callable[[str], bool]:
    def wanted(name: str) -> bool:
        parts = name.replace("\\", "/").split("/")
        in_exec = any(e3sm_files.is_execution_dir(p) for p in parts[:-1])
        if in_exec or fmt == "e3sm":  # also bare-stamp LIDs and misnamed runs (to skip)
            return any(spec.pattern.match(parts[-1]) for spec in e3sm_files.SPECS)
        return True

    return wanted


def _group_of(fmt: str) -> archives.GroupOf:
    """Members of E3SM execution directories are read in memory, not extracted."""

    def group_of(name: str) -> tuple[str, str] | None:
        if fmt not in ("auto", "e3sm"):
            return None
        parts = name.replace("\\", "/").strip("/").split("/")
        for i, part in enumerate(parts[:-1]):
            if e3sm_files.is_execution_dir(part):
                return "/".join(parts[: i + 1]), "/".join(parts[i + 1 :])
        return None

    return group_of


def _archive_jobs(
    path: Path, fmt: str, cap: int, where: str
) -> Iterator[parallel.Job | ReadItem | parallel.Barrier]:
    """Read an upload: E3SM executions from memory, everything else extracted into a private
    temporary directory (removed afterwards) and scanned."""
    tmp = Path(tempfile.mkdtemp(prefix="provledger-upload-"))
    try:
        events = archives.stream(path, tmp, EXTRACT_CAP, _wanted_member(fmt), _group_of(fmt))
        try:
            for event in events:
                if isinstance(event, archives.Refused):
                    name = f"{where}!{event.member}" if event.member else where
                    yield ReadItem(name, error=f"{name}: {event.reason}")
                elif isinstance(event, archives.Group):
                    shown = f"{where}!{event.key.removeprefix('./')}"
                    yield ("members", event.key, event.members, cap, shown)
        except archives.ArchiveError as e:
            yield ReadItem(where, error=f"{where}: {e}")
            return
        yield from _jobs(tmp, fmt, cap, top=tmp, shown=where)
        yield parallel.Barrier()
    finally:
        archives.remove_tree(tmp)


def _file_item(path: Path, fmt: str, cap: int, where: str, explicit: bool) -> ReadItem:
    try:
        if fmt == "usher" or (fmt == "auto" and usher.is_sidecar(path.name)):
            return ReadItem(where, record=usher.read_sidecar(path, cap, where))
        if fmt == "entrenar":
            return ReadItem(where, record=entrenar.read_run_file(path, cap, where))
        if fmt == "mlflow":
            return ReadItem(
                where,
                error=f"{where}: not an mlflow layout (give a folder, an mlflow.db or a "
                "postgresql:// URL)",
            )
        if fmt == "e3sm":
            return ReadItem(where, error=f"{where}: not an {fmt} layout (give a folder)")
        return _record_item(path, fmt, cap, where, explicit)
    except ImportFileError as e:
        return ReadItem(where, error=str(e).replace(str(path), where))
    except RecursionError:
        return ReadItem(where, error=f"{where}: {too_deep()}")
    except Exception as e:  # a hostile file must never stop the walk (nor the other files)
        return ReadItem(where, error=f"{where}: cannot read: {type(e).__name__}: {e}")


def _record_item(path: Path, fmt: str, cap: int, where: str, explicit: bool) -> ReadItem:
    """entrenar runs, provledger and DissModel records (auto-detected from the content)."""
    try:
        data = load_document(path, cap)
    except RecordFileError as e:
        return ReadItem(where, error=f"{where}: {e.message}")
    if fmt == "auto" and entrenar.looks_like_run(data):
        try:
            run = msgspec.convert(data, entrenar.RunRecord)
        except msgspec.ValidationError as e:
            return ReadItem(where, error=f"{where}: not an entrenar run record: {e}")
        return ReadItem(where, record=checked(entrenar.from_run(run, where), where))
    name = path.name.lower()
    must = explicit or ".record." in name or name in RECORD_NAMES
    if fmt == "auto" and detect_format(data) is None and not must:
        return ReadItem(where, skipped=True)
    try:
        return ReadItem(where, record=parse_record(data, fmt, source_path=where, where=where))
    except RecordFileError as e:
        return ReadItem(where, error=str(e))
