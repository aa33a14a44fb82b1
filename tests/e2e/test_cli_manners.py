"""How the CLI reads: --version, whole ids in tables, no Python reprs, conventional help, one-line
usage errors, a closed pipe, NO_COLOR, colour and width from the terminal."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from provledger.adapters.cli.plain import human, render_table
from provledger.adapters.settings import Settings
from tests.e2e.cli import Cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "records"


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(Settings(home=tmp_path / "home"), tmp_path)


def _env(cli: Cli, **extra: str) -> dict[str, str]:
    env = {**os.environ, "PROVLEDGER_HOME": str(cli.settings.home), **extra}
    env.pop("PROVLEDGER_DATABASE_URL", None)
    return env


def _plain(cli: Cli, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provledger", *args],
        cwd=cli.cwd,
        env=_env(cli, **extra),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_version_prints_the_installed_version() -> None:
    from importlib.metadata import version

    proc = subprocess.run(
        [sys.executable, "-m", "provledger", "--version"], capture_output=True, text=True
    )
    assert proc.returncode == 0
    assert proc.stdout == f"provledger {version('provledger')}\n"


def test_ids_and_event_names_are_whole_in_tables_at_100_columns(cli: Cli) -> None:
    run = cli("run", "--json", "--case", "width", "--", "true")
    execution_id = json.loads(run.stdout)["execution_id"]
    listing = _plain(cli, "executions", COLUMNS="100").stdout
    assert execution_id in listing
    assert "default/width" in listing
    history = _plain(cli, "history", execution_id, "--json").stdout
    correlation = json.loads(history)[0]["correlation_id"]
    table = _plain(cli, "history", execution_id, COLUMNS="100").stdout
    for name in ("ExecutionRecorded", "ExecutionFinished", "CanonicalChosen", correlation):
        assert f" {name} " in table


def test_long_free_text_is_cut_with_an_ellipsis_and_ids_are_not() -> None:
    long_id = "20261205T212343-0123abcd"
    table = render_table(
        ["execution", "event", "details"],
        [[long_id, "ExecutionRecorded", "x" * 300]],
        free=("details",),
        width=80,
    )
    row = table.splitlines()[-1]
    assert row.startswith(f"{long_id}  ExecutionRecorded  ")
    assert row.endswith("…")
    assert len(row) == 80


def test_values_read_as_a_person_writes_them() -> None:
    assert [human(v) for v in (None, True, False, 0.25, "gnu", {"a": [1, 2]})] == [
        "—",
        "yes",
        "no",
        "0.25",
        "gnu",
        '{"a":[1,2]}',
    ]


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="no shipped examples")
def test_cases_deltas_show_no_python_reprs(cli: Cli) -> None:
    cli("ingest", str(EXAMPLES))
    out = cli("cases").stdout
    assert "-> None" not in out
    assert "'" not in "".join(line.split(": ", 1)[-1] for line in out.splitlines() if "->" in line)


def test_help_uses_conventional_metavars_and_whole_sentences(cli: Cli) -> None:
    top = cli("--help").stdout
    run = cli("run", "--help").stdout
    executions = cli("executions", "--help").stdout
    for text in (top, run, executions):
        assert "<str>" not in text
        assert "<bool>" not in text
        assert "<list[" not in text
        assert "╭" not in text
    assert "--case TEXT" in run
    assert "--output PATH" in run
    assert "--limit N" in executions
    listing = {line.split()[0]: line for line in top.splitlines() if line.startswith("  ")}
    assert listing["executions"].rstrip().endswith("(also by a query: --where)")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--case", "x"], "error: no command to run"),
        (["executions", "--bogus"], "error: No such option: --bogus"),
        (["show"], "error: Missing argument 'EXECUTION'"),
        (["projections", "rebuild", "bogus"], "error: no projection named bogus"),
    ],
)
def test_usage_errors_are_one_line_with_exit_status_2(
    cli: Cli, args: list[str], message: str
) -> None:
    proc = cli(*args, check=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith(message)
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "━" not in proc.stderr
    assert "Usage" not in proc.stderr


def test_a_closed_pipe_is_not_an_error(cli: Cli) -> None:
    for i in range(30):
        cli("run", "--case", f"c{i}", "--", "true")
    env = _env(cli)
    for args in (["cases"], ["executions"], ["--help"]):
        producer = subprocess.Popen(
            [sys.executable, "-m", "provledger", *args],
            cwd=cli.cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert producer.stdout is not None
        producer.stdout.readline()
        producer.stdout.close()  # as `| head -1` does
        _, err = producer.communicate(timeout=60)
        assert producer.returncode == 0, err
        assert b"Traceback" not in err
        assert b"BrokenPipe" not in err


def _in_terminal(cli: Cli, *args: str, **extra: str) -> str:
    """Output of the CLI attached to a pseudo-terminal (as in an interactive shell)."""
    env = _env(cli, **extra)
    env.pop("COLUMNS", None)
    env.pop("NO_COLOR", None)
    env.update(extra)
    env["TERM"] = "xterm"
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "provledger", *args],
        cwd=cli.cwd,
        env=env,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode()


def test_colour_follows_the_terminal_and_no_color_turns_it_off(cli: Cli) -> None:
    cli("run", "--case", "colour", "--", "true")
    assert "\033[" in _in_terminal(cli, "cases")
    assert "\033[" not in _in_terminal(cli, "cases", NO_COLOR="1")
    assert "\033[" not in cli("cases").stdout  # a pipe


def test_every_table_command_has_json(cli: Cli) -> None:
    for args in (["token", "list"], ["stale"], ["remote", "list"], ["projections", "status"]):
        proc = cli(*args, "--json")
        assert proc.stdout.lstrip()[:1] in ("[", "{"), args


def test_token_list_and_stale_print_the_common_table(cli: Cli) -> None:
    cli("token", "create", "--name", "ci")
    out = cli("token", "list").stdout.splitlines()
    assert out[0] == "tokens"
    assert out[1].split() == ["id", "name", "scope", "created"]
    assert set(out[2].replace(" ", "")) == {"─"}
