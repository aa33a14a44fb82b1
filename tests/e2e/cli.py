"""Run the CLI as a user does: a real process, settings from the environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provledger.adapters.settings import Settings


@dataclass
class Cli:
    settings: Settings
    cwd: Path

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PROVLEDGER_HOME": str(self.settings.home), "COLUMNS": "200"}
        env.pop("PROVLEDGER_DATABASE_URL", None)
        if self.settings.database_url:
            env["PROVLEDGER_DATABASE_URL"] = self.settings.database_url
        proc = subprocess.run(
            [sys.executable, "-m", "provledger", *args],
            cwd=self.cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
        return proc

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--json").stdout)
