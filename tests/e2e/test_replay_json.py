"""`replay --json` speaks the shapes of `cases --json` and `executions --json` (one presenter)."""

from pathlib import Path

import pytest

from provledger.adapters.settings import Settings
from tests.conftest import EXAMPLES
from tests.e2e.cli import Cli


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_replay_at_the_head_answers_exactly_what_cases_and_executions_answer(
    settings: Settings, tmp_path: Path
) -> None:
    cli = Cli(settings, tmp_path)
    cli("ingest", str(EXAMPLES / "records"))
    cli("canonical", "set", "climate/ocean-box", "run-3", "--reason", "reviewed")
    now = cli.json("replay", "--as-of", "2999-01-01T00:00:00Z")
    by_name = {c["name"]: c for c in cli.json("cases")}
    assert {c["name"]: c for c in now["cases"]} == by_name
    assert {"group", "counts", "id"} <= set(now["cases"][0])
    assert not {"grp", "n_executions", "case_id"} & set(now["cases"][0])
    listed = {e["id"]: e for e in cli.json("executions")}
    replayed = {e["id"]: e for e in now["executions"]}
    assert replayed.keys() == listed.keys()
    for key, row in replayed.items():
        assert "sort_started" not in row
        assert {k: v for k, v in row.items() if k != "position"} == {
            k: v for k, v in listed[key].items() if k != "position"
        }
