"""Which files of an E3SM execution directory are read (SimBoard's FILE_SPECS, gzip or plain)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

# CIME names a run by its LID (CIME.utils.new_lid): `%y%m%d-%H%M%S` local time, prefixed by
# `<batch job id>.` under a batch system. Slurm, LSF and Cobalt ids are digits; a PBS id carries
# the server's host name (`9459679.chadmin1`, `123.pbs01.example.org`), an array job an index
# (`123[4].host`). SimBoard's own pattern (`\d+\.\d+-\d+`, e.g. `1.0-0` in its tests) is kept.
_STAMP = r"\d{6}-\d{6}"
_JOB = r"\d+(?:\[\d*\])?(?:\.[A-Za-z0-9][A-Za-z0-9_-]*)*"
EXECUTION_DIR = re.compile(rf"^(?:\d+\.\d+-\d+|{_JOB}\.{_STAMP})$")
# A run outside a batch system has a bare stamp as its LID: too common a directory name to be
# taken on its name alone, so such a directory must also hold an E3SM file (MARKERS).
BARE_LID = re.compile(rf"^{_STAMP}$")
MARKERS = re.compile(r"^(?:e3sm_timing|CaseStatus|GIT_DESCRIBE)\.")
LID_FORMS = "`<jobid>[.<host>].<YYMMDD>-<HHMMSS>` or `<YYMMDD>-<HHMMSS>`"


@dataclass(frozen=True)
class FileSpec:
    key: str
    pattern: re.Pattern[str]
    in_casedocs: bool
    required: bool
    label: str


SPECS = (
    FileSpec("env_case", re.compile(r"env_case\.xml\."), True, True, "CaseDocs/env_case.xml.*"),
    FileSpec("env_build", re.compile(r"env_build\.xml\."), True, True, "CaseDocs/env_build.xml.*"),
    FileSpec("env_run", re.compile(r"env_run\.xml\."), True, True, "CaseDocs/env_run.xml.*"),
    FileSpec("readme_case", re.compile(r"README\.case\."), True, True, "CaseDocs/README.case.*"),
    FileSpec("case_status", re.compile(r"CaseStatus\."), False, True, "CaseStatus.*"),
    FileSpec("e3sm_timing", re.compile(r"e3sm_timing\."), False, True, "e3sm_timing.*"),
    FileSpec("git_describe", re.compile(r"GIT_DESCRIBE\."), False, True, "GIT_DESCRIBE.*"),
    FileSpec("git_config", re.compile(r"GIT_CONFIG\."), False, False, "GIT_CONFIG.*"),
    FileSpec("git_status", re.compile(r"GIT_STATUS\."), False, False, "GIT_STATUS.*"),
)


def is_execution_dir(name: str) -> bool:
    """Whether a directory name alone makes it an execution directory (a job-prefixed LID)."""
    return EXECUTION_DIR.match(name) is not None


def is_execution_path(path: Path) -> bool:
    """A job-prefixed LID name, or a bare-stamp LID name on a directory holding E3SM files."""
    name = path.name
    if EXECUTION_DIR.match(name) is not None:
        return True
    if BARE_LID.match(name) is None:
        return False
    try:
        with os.scandir(path) as it:
            return any(MARKERS.match(e.name) for e in it)
    except OSError:
        return False


def skip_reason(name: str, filenames: list[str]) -> str | None:
    """Why a directory holding E3SM run files is not read as an execution (None if it has
    none): its name is not a LID CIME writes."""
    marker = next((f for f in filenames if MARKERS.match(f)), None)
    if marker is None:
        return None
    return (
        f"holds E3SM run files ({marker}) but its name {name!r} is not an execution LID "
        f"({LID_FORMS}): not read as an E3SM execution"
    )


def match_specs(names: list[str]) -> dict[str, list[str]]:
    """Names (relative to the execution directory: `file` or `CaseDocs…/file`) per spec."""
    found: dict[str, list[str]] = {s.key: [] for s in SPECS}
    for rel in names:
        folder, _, name = rel.rpartition("/")
        if "/" in folder or (folder and not folder.lower().startswith("casedocs")):
            continue
        for spec in SPECS:
            if spec.in_casedocs == bool(folder) and spec.pattern.match(name):
                found[spec.key].append(rel)
    return found


def list_names(exec_dir: Path) -> list[str]:
    """Files at the root of `exec_dir` and in its `CaseDocs*` subdirectories (not links)."""
    base = str(exec_dir)
    with os.scandir(base) as it:
        top = sorted(e.name for e in it)
    names = list(top)
    for name in top:
        full = os.path.join(base, name)
        if name.lower().startswith("casedocs") and os.path.isdir(full) and not os.path.islink(full):
            with os.scandir(full) as it:
                names += sorted(f"{name}/{e.name}" for e in it)
    return names
