"""Write E3SM performance-archive execution directories (formats.md §1) for tests and benchmarks.

The content follows what CIME writes: CaseDocs/env_*.xml.<LID>.gz, README.case.<LID>.gz,
CaseStatus.<LID>.gz, e3sm_timing.<CASE>.<LID>, GIT_DESCRIBE/GIT_CONFIG/GIT_STATUS.<LID>.gz.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ENV_CASE = """<?xml version="1.0"?>
<file id="env_case.xml" version="2.0">
  <group id="case_desc">
    <entry id="CASE" value="{case}"><type>char</type></entry>
    <entry id="CASE_HASH" value="{case_hash}"><type>char</type></entry>
    <entry id="CASE_GROUP" value="{case_group}"><type>char</type></entry>
    <entry id="CASEROOT" value="/home/{user}/cases/{case}"><type>char</type></entry>
    <entry id="MACH" value="{machine}"><type>char</type></entry>
    <entry id="REALUSER" value="{user}"><type>char</type></entry>
    <entry id="COMPSET" value="{compset_long}"><type>char</type></entry>
  </group>
</file>
"""
ENV_BUILD = """<?xml version="1.0"?>
<file id="env_build.xml" version="2.0">
  <group id="build_grid">
    <entry id="GRID" value="{grid_long}"/>
  </group>
  <group id="build_def">
    <entry id="COMPILER" value="{compiler}"/>
    <entry id="MPILIB" value="{mpilib}"/>
    <entry id="CIME_OUTPUT_ROOT" value="/lcrc/group/e3sm/{user}/scratch"/>
  </group>
</file>
"""
ENV_RUN = """<?xml version="1.0"?>
<file id="env_run.xml" version="2.0">
  <group id="run_begin_stop_restart">
    <entry id="RUN_TYPE" value="{run_type}"/>
    <entry id="RUN_STARTDATE" value="1850-01-01"/>
    <entry id="RUN_REFDATE" value="0201-01-01"/>
    <entry id="STOP_OPTION" value="nyears"/>
    <entry id="STOP_N" value="1"/>
    <entry id="STOP_DATE" value="-999"/>
    <entry id="RUNDIR">$CIME_OUTPUT_ROOT/$CASE/run</entry>
    <entry id="DOUT_S_ROOT" value="${{CIME_OUTPUT_ROOT}}/archive/${{CASE}}"/>
  </group>
</file>
"""
README = (
    "2025-12-18 22:36:01: /home/{user}/E3SM/cime/scripts/create_newcase --case {case} "
    "--res {grid} --compset {compset} --mach {machine}\n"
    " ---------------------------------------------------\n"
)
TIMING = """---------------- TIMING PROFILE ---------------------
  Case        : {case}
  LID         : {lid}
  Machine     : {machine}
  Caseroot    : /home/{user}/cases/{case}
  Timeroot    : /home/{user}/cases/{case}/Tools
  User        : {user}
  Curr Date   : Thu Dec 18 20:54:58 2025
  grid        : {grid_long}
  compset     : {compset_long}
  run type    : startup, continue_run = FALSE (inittype = TRUE)
  stop option : nyears, stop_n = 1
  run length  : 365 days (364.97 for ocean)

  Overall Metrics:
    Model Cost:             450.63   pe-hrs/simulated_year
    Model Throughput:        10.42   simulated_years/day

    Init Time   :     124.909 seconds
    Run Time    :    2599.194 seconds        7.121 seconds/day
    Final Time  :       0.375 seconds
"""
CASE_STATUS = {
    "success": (
        "2025-12-18 20:05:00: case.submit starting\n"
        "2025-12-18 20:09:33: case.run starting 1081156\n"
        "2025-12-18 20:54:58: case.run success\n"
    ),
    "error": (
        "2025-12-18 20:09:33: case.run starting 1081156\n2025-12-18 20:20:00: case.run error\n"
    ),
    "running": "2025-12-18 20:09:33: case.run starting 1081156\n",
    "retried": (
        "2025-12-18 19:00:00: case.run starting 1081100\n"
        "2025-12-18 19:10:00: case.run error\n"
        "2025-12-18 20:09:33: case.run starting 1081156\n"
        "2025-12-18 20:54:58: case.run success\n"
    ),
}


@dataclass
class E3smRun:
    """One execution directory's content; change fields to vary it."""

    user: str = "ac.user"
    case: str = "v3.LR.historical_0121"
    exec_id: str = "1081156.251218-200923"
    lid: str | None = None  # defaults to exec_id; "" writes an empty LID
    status: str = "success"
    compiler: str = "intel"
    mpilib: str = "openmpi"
    machine: str = "chrysalis"
    case_group: str = "v3.LR"
    run_type: str = "startup"
    git_describe: str = "v3.0.2-2-g7c4ec379a6"
    gz: bool = True
    omit: tuple[str, ...] = ()
    case_status_text: str | None = None  # instead of CASE_STATUS[status]
    # Timing lines by label ("Init Time", "Curr Date", "LID" …): a new value, or None to drop.
    timing_edit: dict[str, str | None] = field(default_factory=dict)
    timing_gz: bool = False
    git_url: str = "git@github.com:E3SM-Project/E3SM.git"
    git_branch: str = "maint-3.0"
    extra: dict[str, bytes] = field(default_factory=dict)  # relative path -> raw bytes

    def values(self) -> dict[str, str]:
        return {
            "user": self.user,
            "case": self.case,
            "case_hash": "f5f0d5b7eeb4c9527af168a441a914ca67dc03c62c56ace5a176151e52cc9409",
            "case_group": self.case_group,
            "machine": self.machine,
            "compiler": self.compiler,
            "mpilib": self.mpilib,
            "run_type": self.run_type,
            "lid": self.exec_id if self.lid is None else self.lid,
            "grid": "ne30pg2_r05_IcoswISC30E3r5",
            "grid_long": "a%ne30np4.pg2_l%r05_oi%IcoswISC30E3r5_r%r05_g%null_w%null_z%null",
            "compset": "WCYCL20TR",
            "compset_long": "20TR_EAM%CMIP6_ELM%SPBC_MPASSI_MPASO_MOSART_SGLC_SWAV",
        }

    def files(self) -> dict[str, bytes]:
        """Relative path -> bytes as they land on disk."""
        v = self.values()
        lid = self.exec_id
        gz = ".gz" if self.gz else ""
        docs = f"CaseDocs.{lid}"
        texts = {
            "env_case": (f"{docs}/env_case.xml.{lid}{gz}", ENV_CASE.format(**v)),
            "env_build": (f"{docs}/env_build.xml.{lid}{gz}", ENV_BUILD.format(**v)),
            "env_run": (f"{docs}/env_run.xml.{lid}{gz}", ENV_RUN.format(**v)),
            "readme_case": (f"{docs}/README.case.{lid}{gz}", README.format(**v)),
            "case_status": (
                f"CaseStatus.{lid}{gz}",
                self.case_status_text
                if self.case_status_text is not None
                else CASE_STATUS[self.status],
            ),
            "e3sm_timing": (
                f"e3sm_timing.{self.case}.{lid}{'.gz' if self.timing_gz else ''}",
                edit_timing(TIMING.format(**v), self.timing_edit),
            ),
            "git_describe": (f"GIT_DESCRIBE.{lid}{gz}", self.git_describe + "\n"),
            "git_config": (
                f"GIT_CONFIG.{lid}{gz}",
                f'[remote "origin"]\n\turl = {self.git_url}\n',
            ),
            "git_status": (
                f"GIT_STATUS.{lid}{gz}",
                f"On branch {self.git_branch}\nnothing to commit, working tree clean\n",
            ),
        }
        out: dict[str, bytes] = {}
        for key, (name, text) in texts.items():
            if key in self.omit:
                continue
            data = text.encode()
            compress = name.endswith(".gz")
            out[name] = gzip.compress(data, mtime=0) if compress else data
        out[f"replay.sh.{lid}.gz"] = gzip.compress(b"#!/bin/sh\n", mtime=0)
        out.update(self.extra)
        return out

    def relative_dir(self) -> str:
        return f"{self.user}/{self.case}/{self.exec_id}"

    def write(self, root: Path) -> Path:
        exec_dir = root / self.relative_dir()
        for name, data in self.files().items():
            path = exec_dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        return exec_dir


def edit_timing(text: str, edits: dict[str, str | None]) -> str:
    """The timing text with the lines labelled by `edits` given a new value or dropped."""
    out = []
    for line in text.splitlines(keepends=True):
        label = line.split(":", 1)[0].strip()
        if label not in edits:
            out.append(line)
        elif edits[label] is not None:
            out.append(f"{line.split(':', 1)[0]}: {edits[label]}\n")
    return "".join(out)


def exec_id(n: int) -> str:
    """A distinct `<jobid>.<YYMMDD-HHMMSS>` per n."""
    day, hour, minute, second = (n // 86400) % 28 + 1, (n // 3600) % 24, (n // 60) % 60, n % 60
    return f"{1000000 + n}.2512{day:02d}-{hour:02d}{minute:02d}{second:02d}"


def write_tar_gz(runs: Iterable[E3smRun], target: Path, prefix: str = "") -> Path:
    with tarfile.open(target, "w:gz") as tar:
        for run in runs:
            for name, data in run.files().items():
                info = tarfile.TarInfo(f"{prefix}{run.relative_dir()}/{name}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return target


def write_zip(runs: Iterable[E3smRun], target: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(target, "w") as zf:
        for run in runs:
            for name, data in run.files().items():
                zf.writestr(f"{prefix}{run.relative_dir()}/{name}", data)
    return target
