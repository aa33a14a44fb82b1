"""OpenLineage RunEvents -> ExecutionRecords (docs/importers.md, "OpenLineage").

One mapping serves `POST /api/v1/lineage` and `provledger ingest` of the files OpenLineage's
file transport writes (one JSON event a line, or one event a file):

- job -> case: namespace = job namespace, case = job name (`/` becomes `-`);
- run -> execution: execution_id = runId; START/RUNNING running, COMPLETE succeeded, FAIL
  failed, ABORT cancelled, OTHER unknown (adds to the run, never moves its status);
- input and output datasets -> inputs and outputs, identified by a uri made of the dataset's
  namespace and name; a sha256 only from a `version` facet that is one (other versions stay
  in the facets);
- every facet is kept under `attributes.openlineage.events["<eventTime> <eventType>"]`, one
  entry per event, so a later event never contradicts an earlier one and a repeat is a
  duplicate;
- the parent run facet becomes `parent` when the parent is a run of the same job.

Each event is one snapshot of its run: the ledger's update path (domain/progress.py) merges
them, so events arriving twice, late or out of order (COMPLETE before START) end the same.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from ...application.ingest import ReadItem
from ...domain.progress import progress
from ...domain.record import CodeVersion, ExecutionRecord, FileRef, Source, Status
from .reading import ImportFileError
from .validate import checked

IMPORTER = "openlineage"
SCHEMA_FILE = Path(__file__).with_name("openlineage_spec") / "OpenLineage.json"
STATUS = {
    "START": Status.RUNNING,
    "RUNNING": Status.RUNNING,
    "COMPLETE": Status.SUCCEEDED,
    "FAIL": Status.FAILED,
    "ABORT": Status.CANCELLED,
    "OTHER": Status.UNKNOWN,
}
FINAL_EVENTS = ("COMPLETE", "FAIL", "ABORT")
SUFFIXES = (".jsonl", ".ndjson")
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
SNIFF_BYTES = 1 << 16


class InvalidEventError(ValueError):
    """A body that is not a RunEvent of the spec; the message names where it is wrong."""


@functools.cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    schema = json.loads(SCHEMA_FILE.read_text())
    run_event = {k: v for k, v in schema.items() if k != "oneOf"}
    run_event["$ref"] = "#/$defs/RunEvent"
    return Draft202012Validator(run_event, format_checker=Draft202012Validator.FORMAT_CHECKER)


def schema_id() -> str:
    return str(json.loads(SCHEMA_FILE.read_text())["$id"])


def validate_event(data: Any) -> None:
    """Raise InvalidEventError unless `data` is a RunEvent under the spec's JSON Schema."""
    if not isinstance(data, Mapping):
        raise InvalidEventError(f"an event is a JSON object, not {type(data).__name__}")
    if "run" not in data and ("dataset" in data or "job" in data):
        kind = "DatasetEvent" if "dataset" in data else "JobEvent"
        raise InvalidEventError(
            f"this is an OpenLineage {kind}: only RunEvents (with a run and a job) are recorded"
        )
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        from jsonschema.exceptions import best_match

        error = best_match(errors)
        where = "/".join(str(p) for p in error.absolute_path) or "(the event)"
        raise InvalidEventError(f"not an OpenLineage RunEvent: at {where}: {error.message}")
    if _time(data["eventTime"]) is None:
        raise InvalidEventError(
            f"not an OpenLineage RunEvent: at eventTime: {data['eventTime']!r} is not a date-time"
        )


def dataset_uri(namespace: str, name: str) -> str:
    """The dataset's identity as a uri: `s3://bucket` + `a/b` -> `s3://bucket/a/b`;
    a namespace without a scheme becomes one (`bigquery` + `p.d.t` -> `bigquery://p.d.t`)."""
    if "://" in namespace:
        return f"{namespace.rstrip('/')}/{name.lstrip('/')}"
    return f"{namespace}://{name}"


def _name(text: str) -> str:
    return text.replace("/", "-").replace("\\", "-").strip() or "-"


def _time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return msgspec.convert(text, datetime)
    except msgspec.ValidationError:
        return None


def _sha256(facets: Mapping[str, Any]) -> str | None:
    version = facets.get("version")
    value = version.get("datasetVersion") if isinstance(version, Mapping) else None
    if isinstance(value, str) and _SHA256.match(value):
        return value.lower()
    return None


def _size(*facet_groups: Mapping[str, Any]) -> int | None:
    for facets in facet_groups:
        for key in ("outputStatistics", "inputStatistics"):
            stats = facets.get(key)
            size = stats.get("size") if isinstance(stats, Mapping) else None
            if isinstance(size, int) and not isinstance(size, bool) and size >= 0:
                return size
    return None


def _datasets(
    items: list[Any], extra: str, final: bool
) -> tuple[list[FileRef], dict[str, dict[str, Any]]]:
    refs: list[FileRef] = []
    kept: dict[str, dict[str, Any]] = {}
    for item in items:
        uri = dataset_uri(item["namespace"], item["name"])
        facets = item.get("facets") or {}
        more = item.get(extra) or {}
        # An output's version is its content only once the run ended.
        digest = _sha256(facets) if final or extra == "inputFacets" else None
        ref = FileRef(uri=uri, sha256=digest, size=_size(more) if digest else None)
        if uri not in kept:
            refs.append(ref)
        kept[uri] = {"namespace": item["namespace"], "name": item["name"]}
        if facets:
            kept[uri]["facets"] = facets
        if more:
            kept[uri][extra] = more
    return refs, kept


def _code(job_facets: Mapping[str, Any]) -> CodeVersion | None:
    location = job_facets.get("sourceCodeLocation")
    if not isinstance(location, Mapping):
        return None

    def text(key: str) -> str | None:
        value = location.get(key)
        return value if isinstance(value, str) and value else None

    code = CodeVersion(
        repository=text("repoUrl") or text("url"),
        commit=text("version"),
        tag=text("tag"),
        branch=text("branch"),
    )
    return code if code != CodeVersion() else None


def to_record(event: Mapping[str, Any], where: str | None = None) -> ExecutionRecord:
    """The snapshot of its run that one (validated) RunEvent gives."""
    job, run = event["job"], event["run"]
    kind = event.get("eventType") or "OTHER"
    final = kind in FINAL_EVENTS
    at = event["eventTime"]
    run_facets = run.get("facets") or {}
    job_facets = job.get("facets") or {}
    inputs, kept_inputs = _datasets(event.get("inputs") or [], "inputFacets", final)
    outputs, kept_outputs = _datasets(event.get("outputs") or [], "outputFacets", final)
    entry: dict[str, Any] = {"eventType": kind, "producer": event["producer"]}
    entry["schemaURL"] = event["schemaURL"]
    for key, value in (
        ("run_facets", run_facets),
        ("job_facets", job_facets),
        ("inputs", kept_inputs),
        ("outputs", kept_outputs),
    ):
        if value:
            entry[key] = value
    attributes: dict[str, Any] = {
        "openlineage": {
            "job": {"namespace": job["namespace"], "name": job["name"]},
            "events": {f"{at} {kind}": entry},
        }
    }
    parent = None
    facet = run_facets.get("parent")
    if isinstance(facet, Mapping):
        parent_job, parent_run = facet.get("job") or {}, facet.get("run") or {}
        same_job = (parent_job.get("namespace"), parent_job.get("name")) == (
            job["namespace"],
            job["name"],
        )
        parent_id = parent_run.get("runId")
        if isinstance(parent_id, str) and parent_id != run["runId"]:
            if same_job:
                parent = parent_id
            else:
                attributes["openlineage"]["parent"] = (
                    f"{parent_job.get('namespace')}/{parent_job.get('name')}/{parent_id}"
                )
    return ExecutionRecord(
        execution_id=run["runId"],
        case=_name(job["name"]),
        namespace=_name(job["namespace"]),
        status=STATUS.get(kind, Status.UNKNOWN),
        started=_time(at) if kind == "START" else None,
        ended=_time(at) if final else None,
        inputs=inputs,
        outputs=outputs,
        code=_code(job_facets),
        attributes=attributes,
        parent=parent,
        source=Source(importer=IMPORTER, path=where),
    )


def record_of(data: Any, where: str | None = None) -> ExecutionRecord:
    """Validate one decoded event and map it (InvalidEventError when it is not a RunEvent)."""
    validate_event(data)
    return to_record(data, where)


# -- files --------------------------------------------------------------------------------
def looks_like_events(path: Path) -> bool:
    """A `.jsonl`/`.ndjson` file, or a `.json` one whose head reads like an OpenLineage event
    (`eventTime` and the spec's schemaURL or a producer), as the file transport writes them."""
    name = path.name.lower()
    if not name.endswith((".json", *SUFFIXES)):
        return False
    try:
        with path.open("rb") as f:
            head = f.read(SNIFF_BYTES)
    except OSError:
        return False
    start = head.lstrip()
    if not start.startswith(b"{"):
        return False
    return b'"eventTime"' in head and (b"openlineage" in head.lower() or b'"producer"' in head)


def _events(path: Path, cap: int, where: str) -> Iterator[tuple[str, Any]]:
    """(where, decoded event) for each event: one a line, or the whole file as one event
    (the file transport's pretty `debug_mode`)."""
    try:
        with path.open("rb") as f:
            first = f.readline(cap + 1).strip()
    except OSError as e:
        raise ImportFileError(where, e.strerror or str(e)) from e
    try:
        json.loads(first)
        one_a_line = True
    except ValueError:
        one_a_line = False
    if not one_a_line:
        raw = path.read_bytes()[: cap + 1]
        if len(raw) > cap:
            raise ImportFileError(where, f"file is larger than the {cap / 1e6:.1f} MB limit")
        try:
            yield where, json.loads(raw)
        except (ValueError, RecursionError) as e:
            raise ImportFileError(where, f"malformed JSON: {e}") from e
        return
    with path.open("rb") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            at = f"{where}:{number}"
            if len(line) > cap:
                yield at, ImportFileError(at, f"line is longer than the {cap / 1e6:.1f} MB limit")
                continue
            try:
                yield at, json.loads(line)
            except (ValueError, RecursionError) as e:
                yield at, ImportFileError(at, f"malformed JSON: {e}")


def read_event_file(path: Path, cap: int, where: str) -> Iterator[ReadItem]:
    """One ReadItem a run: its events in time order merged into one record (an event the run
    cannot take is its own item, so the ledger names the conflict); bad events are errors."""
    runs: dict[tuple[str, str], list[tuple[datetime | None, str, ExecutionRecord]]] = {}
    try:
        for at, data in _events(path, cap, where):
            if isinstance(data, ImportFileError):
                yield ReadItem(at, error=str(data))
                continue
            try:
                record = checked(record_of(data, at), at)
            except InvalidEventError as e:
                yield ReadItem(at, error=f"{at}: {e}")
                continue
            except ImportFileError as e:
                yield ReadItem(at, error=str(e))
                continue
            when = _time(data.get("eventTime"))
            runs.setdefault((record.case_key, record.execution_id), []).append((when, at, record))
    except ImportFileError as e:
        yield ReadItem(where, error=str(e))
        return
    for events in runs.values():
        events.sort(key=lambda e: (e[0] is None, e[0] or datetime.min, e[1]))
        merged = events[0][2]
        for _, at, record in events[1:]:
            step = progress(merged, record)
            if step.is_conflict:
                yield ReadItem(at, record=record)
                continue
            if step.record is not None:
                merged = step.record
            if step.tags:
                merged = msgspec.structs.replace(merged, tags={**merged.tags, **step.tags})
        shown = where if len(runs) == 1 else f"{where} (run {merged.execution_id})"
        yield ReadItem(shown, record=msgspec.structs.replace(merged, source=_source(shown)))


def _source(where: str) -> Source:
    return Source(importer=IMPORTER, path=where)
