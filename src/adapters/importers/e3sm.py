"""E3SM performance-archive execution directories -> ExecutionRecord (fields as SimBoard maps them).

An execution directory is `<user>/<case>/<jobid>.<YYMMDD-HHMMSS>/`. Required files missing (or
present twice) or an empty LID make the execution `incomplete` with `missing` naming them; it is
still recorded. Files that exist but cannot be read or parsed make the whole item an error.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from ...domain.record import (
    CodeVersion,
    Environment,
    ExecutionRecord,
    FileRef,
    MetricPoint,
    Source,
    Spec,
    Status,
)
from . import e3sm_parse as parse
from .e3sm_files import SPECS, list_names, match_specs
from .reading import Content, ImportFileError, content_of, read_capped, too_large

IMPORTER = "e3sm"


def read_execution(
    exec_dir: Path, cap: int, *, top: Path | None = None, shown_as: str | None = None
) -> ExecutionRecord:
    """Parse one execution directory. `top` bounds the user/case names taken from parents."""
    try:
        names = list_names(exec_dir)
    except OSError as e:
        raise ImportFileError(exec_dir, f"cannot list: {e.strerror or e}") from e
    base = str(exec_dir)
    user_dir, case_dir = _parents(exec_dir, top)
    return build(
        exec_dir.name,
        names,
        lambda rel: read_capped(os.path.join(base, rel), cap),
        lambda rel: os.path.join(base, rel),
        user_dir,
        case_dir,
        shown_as or base,
    )


def read_members(
    exec_name: str,
    members: dict[str, bytes | None],
    cap: int,
    user_dir: str | None,
    case_dir: str | None,
    shown_as: str,
) -> ExecutionRecord:
    """Parse an execution directory held in memory (an upload's members; None = over the cap)."""

    def read(rel: str) -> Content:
        raw = members[rel]
        if raw is None:
            raise too_large(f"{shown_as}/{rel}", cap)
        return content_of(raw, cap, f"{shown_as}/{rel}")

    return build(
        exec_name,
        sorted(members),
        read,
        lambda rel: f"{shown_as}/{rel}",
        user_dir,
        case_dir,
        shown_as,
    )


def build(
    exec_name: str,
    names: list[str],
    read: Callable[[str], Content],
    shown: Callable[[str], str],
    user_dir: str | None,
    case_dir: str | None,
    source: str,
) -> ExecutionRecord:
    """The record from the files of one execution: `read(rel)` gives a file's content."""
    found = match_specs(names)
    missing: list[str] = []
    contents: dict[str, Content] = {}
    files: list[FileRef] = []
    for spec in SPECS:
        paths = found[spec.key]
        if len(paths) > 1:
            listed = ", ".join(p.rsplit("/", 1)[-1] for p in paths)
            missing.append(f"{spec.label} (found {len(paths)}: {listed})")
        elif not paths:
            if spec.required:
                missing.append(spec.label)
        else:
            content = read(paths[0])
            contents[spec.key] = content
            files.append(
                FileRef(uri=paths[0], sha256=content.sha256, size=content.size, role=spec.key)
            )
    values = _parse_all(contents, {k: [shown(p) for p in v] for k, v in found.items()})
    return _record(exec_name, values, files, missing, user_dir, case_dir, source)


def _xml(contents: dict[str, Content], key: str, found: dict[str, list[str]]) -> dict[str, str]:
    if key not in contents:
        return {}
    try:
        return parse.xml_entries(contents[key].data)
    except ValueError as e:
        raise ImportFileError(found[key][0], str(e)) from e


def _parse_all(contents: dict[str, Content], found: dict[str, list[str]]) -> dict[str, Any]:
    v: dict[str, Any] = {"env": {}}
    for key in ("env_case", "env_build", "env_run"):
        v["env"].update(_xml(contents, key, found))
    text = {k: c.text() for k, c in contents.items() if not k.startswith("env_")}
    v["readme"] = parse.readme_case(text["readme_case"]) if "readme_case" in text else {}
    if "case_status" in text:
        v["status"] = parse.case_status(text["case_status"])
    v["timing"] = parse.timing(text["e3sm_timing"]) if "e3sm_timing" in text else None
    v["tag"], v["commit"] = parse.git_describe(text.get("git_describe", ""))
    v["repository"] = parse.git_remote_url(text.get("git_config", ""))
    v["branch"], v["dirty"] = parse.git_status(text.get("git_status", ""))
    return v


def _resolved(env: dict[str, str], readme: dict[str, Any]) -> dict[str, Any]:
    output = parse.substitute(env.get("RUNDIR"), env)
    archive = parse.substitute(env.get("DOUT_S_ROOT"), env)
    resolved: dict[str, Any] = {
        "compset": readme.get("compset"),
        "compset_alias": env.get("COMPSET"),
        "grid_name": readme.get("grid_name"),
        "grid_resolution": env.get("GRID"),
        "initialization_type": env.get("RUN_TYPE"),
        "compiler": env.get("COMPILER"),
        "mpilib": env.get("MPILIB"),
        "machine": env.get("MACH"),
        "case_group": env.get("CASE_GROUP"),
        "case_hash": env.get("CASE_HASH"),
        "case_root": env.get("CASEROOT"),
        "cime_output_root": env.get("CIME_OUTPUT_ROOT"),
        "run_startdate": env.get("RUN_STARTDATE"),
        "run_refdate": env.get("RUN_REFDATE"),
        "stop_option": env.get("STOP_OPTION"),
        "stop_n": env.get("STOP_N"),
        "stop_date": env.get("STOP_DATE"),
        "output_path": output,
        "archive_path": archive,
        "postprocessing_script": env.get("POSTRUN_SCRIPT"),
        "creation_date": readme.get("creation_date"),
    }
    resolved.update(parse.derived_names(env.get("CASE")))
    resolved.update(parse.simulation_dates(env))
    return {k: v for k, v in resolved.items() if v not in (None, "")}


def _path_artifacts(resolved: dict[str, Any]) -> list[FileRef]:
    refs = []
    for key, role in (("output_path", "output"), ("archive_path", "archive")):
        if resolved.get(key):
            refs.append(FileRef(uri=str(resolved[key]), role=role))
    if resolved.get("case_root"):
        refs.append(FileRef(uri=f"{resolved['case_root']}/.case.run", role="run_script"))
    script = str(resolved.get("postprocessing_script") or "").split()
    if script:
        refs.append(FileRef(uri=script[0], role="postprocessing_script"))
    return refs


def _first_name(candidates: tuple[str | None, ...], default: str) -> str:
    """The first candidate usable as a case or namespace name."""
    for name in candidates:
        if name and name == name.strip() and "/" not in name:
            return name
    return default


def _parents(exec_dir: Path, top: Path | None) -> tuple[str | None, str | None]:
    """(user dir, case dir) names above the execution directory, not above `top`."""
    if top is None:
        exec_dir = exec_dir.absolute()
    chain = [exec_dir.parent, exec_dir.parent.parent]
    names: list[str | None] = []
    for p in chain:
        inside = top is None or (p != top and top in p.parents)
        names.append(p.name if inside and p.name else None)
    return names[1], names[0]


# The timing file header (CIME get_timing.py) stands in for env_*.xml entries it repeats, when
# the XML files do not give them.
_FROM_TIMING = (
    ("CASE", "case"),
    ("MACH", "machine"),
    ("REALUSER", "user"),
    ("CASEROOT", "case_root"),
    ("GRID", "grid"),
    ("COMPSET", "compset"),
    ("RUN_TYPE", "run_type"),
    ("STOP_OPTION", "stop_option"),
    ("STOP_N", "stop_n"),
)
CASE_IDENTITY_ENV = "PROVLEDGER_E3SM_CASE_IDENTITY"
CASE_IDENTITIES = ("user", "machine")


def case_identity(where: str) -> str:
    """`user`: a case is (case name, user), the default; `machine`: (case name, machine, user),
    as SimBoard since its a644c19 (the namespace becomes `<user>@<machine>`)."""
    value = os.environ.get(CASE_IDENTITY_ENV, "").strip().lower() or "user"
    if value not in CASE_IDENTITIES:
        raise ImportFileError(
            where, f"{CASE_IDENTITY_ENV} must be 'user' or 'machine', not {value!r}"
        )
    return value


def _with_timing_header(env: dict[str, str], timing: dict[str, Any] | None) -> list[str]:
    """Fill the entries env_*.xml did not give from the timing header; the names filled."""
    filled = []
    for key, header in _FROM_TIMING:
        value = (timing or {}).get(header)
        if not env.get(key) and value:
            env[key] = value
            filled.append(key)
    return filled


def _local(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


def _record(
    exec_name: str,
    v: dict[str, Any],
    files: list[FileRef],
    missing: list[str],
    user_dir: str | None,
    case_dir: str | None,
    source: str,
) -> ExecutionRecord:
    env: dict[str, str] = v["env"]
    timing: dict[str, Any] | None = v["timing"]
    if timing is not None and not timing.get("lid"):
        missing.append("LID (e3sm_timing has no LID)")
    filled = _with_timing_header(env, timing)
    case = _first_name((env.get("CASE"), case_dir), "unknown")
    namespace = _first_name((user_dir, env.get("REALUSER")), "default")
    if env.get("MACH") and case_identity(source) == "machine":
        namespace = _first_name((f"{namespace}@{env['MACH']}",), namespace)
    run_status, started, ended = v.get("status") or ("unknown", None, None)
    attributes: dict[str, Any] = {}
    if timing and timing.get("lid"):
        attributes["lid"] = timing["lid"]
    if started is None and ended is None and timing is not None:
        # Curr Date is the machine's local time, zone unknown: kept as written, never as UTC.
        local = {
            "run_started_local": _local(timing.get("run_start")),
            "run_ended_local": _local(timing.get("curr_date")),
        }
        attributes.update((k, t) for k, t in local.items() if t is not None)
        if any(local.values()):
            attributes["local_time_zone"] = "unknown"
    if filled:
        attributes["from_timing_header"] = filled
        if timing and timing.get("run_length_days"):
            attributes["run_length_days"] = int(timing["run_length_days"])
    if missing:
        attributes["run_status"] = run_status
    resolved = _resolved(env, v["readme"])
    spec_bytes = msgspec.json.encode(resolved, order="sorted")
    code = CodeVersion(
        repository=v["repository"],
        commit=v["commit"],
        tag=v["tag"],
        branch=v["branch"],
        dirty=v["dirty"],
    )
    return ExecutionRecord(
        execution_id=exec_name,
        case=case,
        namespace=namespace,
        group=env.get("CASE_GROUP") or None,
        status=Status.INCOMPLETE if missing else Status(run_status),
        started=started,
        ended=ended,
        spec=Spec(
            format="e3sm-casedocs",
            resolved=resolved,
            sha256=hashlib.sha256(spec_bytes).hexdigest(),
        ),
        artifacts=files + _path_artifacts(resolved),
        code=code if code != CodeVersion() else None,
        environment=Environment(machine=env.get("MACH"), user=env.get("REALUSER"))
        if env.get("MACH") or env.get("REALUSER")
        else None,
        command=list(v["readme"].get("command") or []),
        metrics=_metrics(timing),
        attributes=attributes,
        source=Source(importer=IMPORTER, path=source),
        missing=missing,
    )


def _metrics(timing: dict[str, Any] | None) -> dict[str, list[MetricPoint]]:
    if not timing:
        return {}
    out = {f"{k}_time_sec": [MetricPoint(s)] for k, s in timing["seconds"].items()}
    for key in ("model_cost", "model_throughput"):
        if key in timing:
            out[key] = [MetricPoint(timing[key][0])]
    return out
