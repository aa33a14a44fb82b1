"""The real MLflow, in its own virtualenv (its pins may clash with the project's), built once and
reused: `$PROVLEDGER_MLFLOW_VENV`, else `<repo>/.mlflow-venv`. Tests write stores with it by
running tests/support/mlflow_writer.py as a subprocess.

The build is one `python -m venv` and one `pip install` (mlflow-skinny plus what its database
stores need: SQLAlchemy, Alembic, psycopg 3), about 25 s; a stamp file marks it complete, so an
interrupted build is redone, and a lock keeps concurrent test processes from building it twice.
When the package index cannot be reached, `mlflow_env()` skips the calling test, saying why.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ("mlflow-skinny>=3,<4", "sqlalchemy>=2,<3", "alembic", "psycopg[binary]>=3.1,<4")
WRITER = Path(__file__).with_name("mlflow_writer.py")
STAMP = ".provledger-mlflow"


def venv_dir() -> Path:
    return Path(os.environ.get("PROVLEDGER_MLFLOW_VENV") or ROOT / ".mlflow-venv")


@dataclass(frozen=True)
class MlflowEnv:
    python: Path

    def write(self, uri: str, mode: str, *args: str, cwd: Path) -> dict[str, Any]:
        """Run the writer against a store; its JSON result (run ids by name, ...)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        env["MLFLOW_ALLOW_FILE_STORE"] = "true"
        if uri.startswith("postgresql://"):  # SQLAlchemy through psycopg 3, whatever its default
            uri = "postgresql+psycopg://" + uri.removeprefix("postgresql://")
        proc = subprocess.run(
            [str(self.python), str(WRITER), uri, mode, *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if proc.returncode != 0:
            raise AssertionError(f"mlflow writer failed ({mode}):\n{proc.stderr[-3000:]}")
        result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        return result


def _ready(venv: Path) -> bool:
    stamp = venv / STAMP
    return stamp.is_file() and stamp.read_text() == "\n".join(REQUIREMENTS)


def _build(venv: Path) -> str | None:
    """Build the venv; None when done, else why it could not be."""
    if venv.exists():
        shutil.rmtree(venv)
    made = subprocess.run(
        [sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True, timeout=300
    )
    if made.returncode != 0:
        return f"python -m venv failed: {made.stderr.strip()[-500:]}"
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    pip += ["--disable-pip-version-check", "--retries", "2", "--timeout", "30"]
    try:
        installed = subprocess.run(
            [*pip, *REQUIREMENTS], capture_output=True, text=True, timeout=900
        )
    except subprocess.TimeoutExpired:
        return "pip install mlflow took over 15 minutes"
    if installed.returncode != 0:
        lines = [line for line in installed.stderr.splitlines() if "WARNING" not in line]
        return "pip install mlflow failed: " + " ".join(lines[-3:])[-500:]
    check = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import mlflow, sqlalchemy, psycopg"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check.returncode != 0:
        return f"mlflow installed but does not import: {check.stderr.strip()[-500:]}"
    (venv / STAMP).write_text("\n".join(REQUIREMENTS))
    return None


@functools.cache
def _env() -> MlflowEnv | str:
    venv = venv_dir()
    if not _ready(venv):
        venv.parent.mkdir(parents=True, exist_ok=True)
        with (venv.parent / f"{venv.name}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not _ready(venv):
                problem = _build(venv)
                if problem is not None:
                    return problem
    return MlflowEnv(venv / "bin" / "python")


def mlflow_env() -> MlflowEnv:
    """The real MLflow (built on first use, then reused); skips the test if it cannot be had."""
    env = _env()
    if isinstance(env, str):
        pytest.skip(f"the real mlflow package is not available: {env}")
    return env
