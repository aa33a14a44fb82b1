"""`provledger run CONFIG`: the config names its script and runs against its working config."""

import json
from pathlib import Path

import pytest

from provledger.adapters.settings import Settings
from tests.e2e.cli import Cli

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def cli(settings: Settings, tmp_path: Path) -> Cli:
    return Cli(settings, tmp_path)


def test_a_config_runs_the_script_it_names(cli: Cli) -> None:
    (cli.cwd / "config.yaml").write_text(
        'run_metadata:\n  script: sh -c "echo hello > out.txt"\nparams:\n  n: 3\n'
    )
    result = json.loads(cli("run", "--json", "--output", "out.txt", "config.yaml").stdout)
    assert (result["status"], result["exit_code"]) == ("succeeded", 0)
    assert (cli.cwd / "out.txt").read_text() == "hello\n"
    assert (cli.cwd / "out.record.json").exists()


def test_a_config_that_reads_from_a_remote_needs_its_working_config_first(cli: Cli) -> None:
    (cli.cwd / "reads.yaml").write_text("read:\n  - case: x/y\nrun_metadata:\n  script: echo hi\n")
    proc = cli("run", "reads.yaml", check=False)
    assert proc.returncode == 2
    assert "run `provledger pull reads.yaml` first" in proc.stderr.replace("\n", " ")


def test_a_config_without_a_script_is_refused_naming_the_key(cli: Cli) -> None:
    (cli.cwd / "noscript.yaml").write_text("params: {a: 1}\n")
    proc = cli("run", "noscript.yaml", check=False)
    assert proc.returncode == 2
    assert "run_metadata.script" in proc.stderr
    assert cli.json("executions") == []
