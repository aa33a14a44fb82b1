"""`provledger status EXECUTION|PATH`: one item's sync state."""

import json
from pathlib import Path

import pytest

from provledger.adapters.settings import Settings
from tests.conftest import EXAMPLES
from tests.e2e.cli import Cli

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def test_status_of_one_execution_shows_its_sync_state(settings: Settings, tmp_path: Path) -> None:
    cli = Cli(settings, tmp_path)
    cli("ingest", str(EXAMPLES / "records"))
    item = json.loads(cli("status", "run-2", "--json").stdout)["item"]
    assert (item["execution_id"], item["sync"]) == ("run-2", "local only")
    cli("commit", "run-2")
    assert json.loads(cli("status", "run-2", "--json").stdout)["item"]["sync"] == "committed"
    missing = cli("status", "nope", check=False)
    assert missing.returncode == 2
    assert "no execution 'nope'" in missing.stderr
