"""Which files of an E3SM execution directory are read (SimBoard's FILE_SPECS, gzip or plain)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

EXECUTION_DIR = re.compile(r"^\d+\.\d+-\d+$")


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
    return EXECUTION_DIR.match(name) is not None


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
