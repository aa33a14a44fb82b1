"""MLflow file store (`mlruns/`, MLflow 2 and 3 layouts): experiments -> cases, runs ->
executions, read into `RunData` and mapped by `mlflow_map.to_record`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from ...application.ingest import ReadItem
from ...domain.record import ExecutionRecord, FileRef
from .mlflow_map import RUN_ATTRIBUTES, Point, RunData, hash_artifacts, status_of, to_record
from .reading import ImportFileError, read_capped
from .validate import checked

NOT_EXPERIMENTS = frozenset({"models", ".trash"})
NOT_RUNS = frozenset({"tags", "datasets", "traces", "models"})
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def is_store(path: Path) -> bool:
    """`mlruns/`, or a folder holding `<digits>/meta.yaml` experiments."""
    if path.name == "mlruns":
        return True
    try:
        with os.scandir(path) as it:
            return any(
                e.name.isdigit() and e.is_dir() and (Path(e.path) / "meta.yaml").is_file()
                for e in it
            )
    except OSError:
        return False


def _yaml(path: Path, cap: int) -> dict[str, Any]:
    content = read_capped(path, cap)
    try:
        data = yaml.load(content.data, Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as e:
        raise ImportFileError(path, f"malformed YAML: {e}") from e
    if not isinstance(data, dict):
        raise ImportFileError(path, "expected a YAML mapping")
    return data


def _subdirs(path: Path) -> list[Path]:
    try:
        with os.scandir(path) as it:
            return sorted(Path(e.path) for e in it if e.is_dir(follow_symlinks=False))
    except OSError:
        return []


def _key_files(folder: Path, cap: int) -> dict[str, str]:
    """`params/`, `tags/`: one file per key; keys with `/` are subfolders."""
    out: dict[str, str] = {}
    if not folder.is_dir():
        return out
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            out[path.relative_to(folder).as_posix()] = read_capped(path, cap).text()
    return out


def run_dirs(exp_dir: Path) -> list[Path]:
    return [
        run_dir
        for run_dir in _subdirs(exp_dir)
        if run_dir.name not in NOT_RUNS and (run_dir / "meta.yaml").is_file()
    ]


def read_store(root: Path, cap: int, shown: str | None = None) -> Iterator[ReadItem]:
    """One ReadItem per run (or per unreadable experiment)."""
    for exp_dir in _subdirs(root):
        if exp_dir.name in NOT_EXPERIMENTS or exp_dir.name.startswith("."):
            continue
        meta_path = exp_dir / "meta.yaml"
        if not meta_path.is_file():
            continue
        where = _shown(exp_dir, root, shown)
        try:
            experiment = _yaml(meta_path, cap)
            experiment_tags = _key_files(exp_dir / "tags", cap)
        except ImportFileError as e:
            yield ReadItem(where, error=str(e))
            continue
        runs = run_dirs(exp_dir)
        ids = frozenset(d.name for d in runs)
        for run_dir in runs:
            run_where = _shown(run_dir, root, shown)
            try:
                record = read_run(run_dir, experiment, experiment_tags, cap, run_where, ids)
                yield ReadItem(run_where, record=checked(record, run_where))
            except ImportFileError as e:
                yield ReadItem(run_where, error=str(e))


def _shown(path: Path, root: Path, shown: str | None) -> str:
    if shown is None:
        return str(path)
    return f"{shown}/{path.relative_to(root).as_posix()}"


def _ms(value: Any) -> int | None:
    if value in (None, ""):
        return None
    return int(value)


def read_run(
    run_dir: Path,
    experiment: dict[str, Any],
    experiment_tags: dict[str, str],
    cap: int,
    shown: str,
    experiment_runs: frozenset[str] = frozenset(),
) -> ExecutionRecord:
    """`experiment_runs`: the run directories of the experiment (a parent must be one)."""
    meta = _yaml(run_dir / "meta.yaml", cap)
    try:
        start, end = _ms(meta.get("start_time")), _ms(meta.get("end_time"))
    except (TypeError, ValueError) as e:
        raise ImportFileError(run_dir / "meta.yaml", f"bad start_time/end_time: {e}") from e
    artifacts, unreadable = hash_artifacts(run_dir / "artifacts")
    run = RunData(
        run_id=str(meta.get("run_id") or meta.get("run_uuid") or run_dir.name),
        experiment_id=str(meta.get("experiment_id") or run_dir.parent.name),
        experiment_name=str(
            experiment.get("name") or experiment.get("experiment_id") or run_dir.parent.name
        ),
        shown=shown,
        status=status_of(meta.get("status", 1)),
        start_ms=start,
        end_ms=end,
        user_id=str(meta["user_id"]) if meta.get("user_id") else None,
        meta={k: meta[k] for k in RUN_ATTRIBUTES if k in meta},
        experiment_tags=experiment_tags,
        params=_key_files(run_dir / "params", cap),
        tags=_key_files(run_dir / "tags", cap),
        metrics=_metrics(run_dir / "metrics", cap),
        artifacts=artifacts,
        unhashed=unreadable,
        inputs=_inputs(run_dir, cap),
        outputs=_outputs(run_dir, cap),
    )
    return to_record(run, experiment_runs)


def _metrics(folder: Path, cap: int) -> dict[str, list[Point]]:
    """`<ts_ms> <value> [<step> [dataset_name dataset_digest]]` lines; step read from field 3;
    exact repeated lines kept once."""
    out: dict[str, list[Point]] = {}
    for key, text in _key_files(folder, cap).items():
        seen: set[tuple[str, ...]] = set()
        points = []
        for n, line in enumerate(text.splitlines(), 1):
            parts = tuple(line.split())
            if not parts or parts in seen:
                continue
            seen.add(parts)
            try:
                ts, value = int(parts[0]), float(parts[1])
                step = int(parts[2]) if len(parts) >= 3 else 0
            except (ValueError, IndexError) as e:
                raise ImportFileError(
                    folder / key, f"line {n} is not `timestamp value [step]`: {line!r}"
                ) from e
            points.append(Point(ts, value, step, parts[1]))
        out[key] = points
    return out


def _inputs(run_dir: Path, cap: int) -> list[FileRef]:
    refs = []
    for link in _subdirs(run_dir / "inputs"):
        if not (link / "meta.yaml").is_file():
            continue
        meta = _yaml(link / "meta.yaml", cap)
        source_id = str(meta.get("source_id") or link.name)
        dataset = run_dir.parent / "datasets" / source_id / "meta.yaml"
        if meta.get("source_type") == "DATASET" and dataset.is_file():
            d = _yaml(dataset, cap)
            uri = f"mlflow-dataset:{d.get('name') or source_id}@{d.get('digest') or ''}"
        else:
            uri = f"mlflow-{str(meta.get('source_type') or 'input').lower()}:{source_id}"
        refs.append(FileRef(uri=uri, role="input"))
    return refs


def _outputs(run_dir: Path, cap: int) -> list[FileRef]:
    refs = []
    for link in _subdirs(run_dir / "outputs"):
        if (link / "meta.yaml").is_file():
            meta = _yaml(link / "meta.yaml", cap)
            refs.append(FileRef(uri=f"models:/{meta.get('source_id') or link.name}", role="model"))
    return refs
