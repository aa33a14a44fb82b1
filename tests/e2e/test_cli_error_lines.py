"""Errors printed to a pipe (CI logs, scripts) are one plain line each, however long: rich would
wrap them at 80 columns when stderr is not a terminal, and some errors carry line breaks."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run(tmp_path: Path) -> Run:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVLEDGER_")}
    env.pop("COLUMNS", None)  # as in CI: no width given, stderr a pipe
    env.pop("LINES", None)
    env["PROVLEDGER_HOME"] = str(tmp_path / "home")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "provledger", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    return cli


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_a_long_error_is_one_unwrapped_line(run: Run, tmp_path: Path) -> None:
    missing = "an-execution-id-long-enough-to-be-wrapped-" + "x" * 120
    done = run("show", missing)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"error: no execution '{missing}'"]
    assert "\x1b[" not in done.stderr  # no colour codes in a pipe


def test_an_error_with_line_breaks_is_printed_on_one_line(run: Run, tmp_path: Path) -> None:
    bad = tmp_path / ("a-malformed-record-with-a-long-name-" + "y" * 60 + ".yaml")
    bad.write_text("execution_id: [unclosed\ncase: c\n")
    done = run("record", str(bad))
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"error: {bad}")
    assert "malformed YAML" in lines[0]


def test_ingest_errors_are_one_line_per_file(run: Run, tmp_path: Path) -> None:
    folder = tmp_path / ("records-in-a-folder-with-a-long-name-" + "z" * 50)
    folder.mkdir()
    (folder / "deep.record.json").write_text(
        '{"execution_id": "d", "case": "c", "params": {"a": ' + "[" * 3000 + "]" * 3000 + "}}"
    )
    (folder / "ok.record.json").write_text(
        '{"execution_id": "ok", "case": "c", "status": "succeeded"}'
    )
    done = run("ingest", str(folder))
    assert "Traceback" not in done.stderr
    errors = _error_lines(done.stderr)
    assert errors == [
        f"error: {folder / 'deep.record.json'}: nested more than 100 levels deep "
        "(objects or lists inside each other)"
    ]
    assert "created 1," in done.stdout
