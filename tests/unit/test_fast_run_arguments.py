"""`provledger run`'s fast path parses what it can and hands everything else to typer."""

from __future__ import annotations

from pathlib import Path

import pytest

from provledger.adapters.cli.fast_run import parse_run_arguments
from provledger.adapters.events.settings import StoreSettings, store_from_environment


def test_options_before_the_separator_are_parsed_and_the_rest_is_the_command() -> None:
    parsed = parse_run_arguments(
        ["--case", "c1", "--input=a.dat", "--input", "b.dat", "--quiet", "--", "echo", "--case"]
    )
    assert parsed is not None
    assert parsed.case == "c1"
    assert parsed.inputs == ["a.dat", "b.dat"]
    assert parsed.quiet is True
    assert parsed.command == ["echo", "--case"]


def test_the_first_word_that_is_not_an_option_starts_the_command() -> None:
    parsed = parse_run_arguments(["--json", "python", "-c", "pass"])
    assert parsed is not None
    assert parsed.as_json is True
    assert parsed.command == ["python", "-c", "pass"]


@pytest.mark.parametrize(
    "args",
    [
        [],  # no command: typer says "Missing argument"
        ["--"],
        ["--help"],
        ["--bogus", "--", "true"],  # unknown option: typer names it
        ["--case"],  # option without a value
        ["--case=", "--", "true"],
        ["--quiet=yes", "--", "true"],
    ],
)
def test_anything_it_does_not_understand_goes_to_the_full_cli(args: list[str]) -> None:
    assert parse_run_arguments(args) is None


def test_the_run_config_form_goes_to_the_full_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.yaml").write_text("run_metadata: {script: 'true'}\n")
    assert parse_run_arguments(["config.yaml"]) is None
    assert parse_run_arguments(["--config", "config.yaml", "true"]) is not None


def test_the_store_comes_from_home_and_database_url_alone(tmp_path: Path) -> None:
    store = store_from_environment(
        {"PROVLEDGER_HOME": str(tmp_path), "PROVLEDGER_ACTOR": "me", "PATH": "/bin"}
    )
    assert store == StoreSettings(home=tmp_path)
    assert store.sqlite_path == tmp_path / "ledger.sqlite3"


@pytest.mark.parametrize(
    "environ",
    [
        {"PROVLEDGER_BATCH_SIZE": "10"},  # any other setting needs pydantic's validation
        {"provledger_home": "/tmp/x"},  # pydantic-settings matches names case-insensitively
        {"PROVLEDGER_DATABASE_URL": "mysql://db"},  # a bad value: Settings reports it
    ],
)
def test_other_settings_or_bad_values_are_left_to_the_validated_settings(
    environ: dict[str, str],
) -> None:
    assert store_from_environment(environ) is None


def test_a_home_that_is_a_file_is_left_to_the_validated_settings(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.write_text("")
    assert store_from_environment({"PROVLEDGER_HOME": str(home)}) is None
