"""SimBoard's own ingestion tests (E3SM-Project/simboard, backend/tests/features/ingestion/, from
the case/canonical redesign 040d00e to 8092bac), ported: each scenario's input is rebuilt on disk
in the formats CIME writes (tests/support/e3sm_archive.py), ingested into a real ledger, and the
fields SimBoard's test checks are read back under SimBoard's names (`simboard_view`).

Where provledger deliberately differs, the test says so and checks provledger's documented
behaviour instead (docs/importers.md, "Agreement with SimBoard").
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from provledger.adapters.bootstrap import bootstrap
from provledger.adapters.readers.policies import display_name
from provledger.adapters.readers.walk import read_items
from provledger.adapters.settings import Settings
from provledger.application.ingest import IngestSummary, ingest
from provledger.application.ledger import Ledger
from provledger.domain.record import ExecutionRecord, Status
from tests.support.e3sm_archive import E3smRun, exec_id

CAP = 1024 * 1024
SIMBOARD_STATUS = {
    Status.SUCCEEDED: "completed",
    Status.FAILED: "failed",
    Status.RUNNING: "running",
    Status.UNKNOWN: "unknown",
}


@pytest.fixture
def sqlite_ledger(tmp_path: Path) -> Iterator[Ledger]:
    built = bootstrap(Settings(home=tmp_path / "home"))
    try:
        yield built
    finally:
        built.close()


def _naive(record: ExecutionRecord, attr: str, local: str) -> str | None:
    value = getattr(record, attr)
    if value is not None:  # CaseStatus times, stored naive by SimBoard
        return str(value.replace(tzinfo=None).isoformat(timespec="seconds"))
    found = record.attributes.get(local)  # the timing file's local time, zone unknown
    return str(found) if found is not None else None


def simboard_view(record: ExecutionRecord) -> dict[str, Any]:
    """The record under the names of SimBoard's ParsedExecution."""
    resolved = record.spec.resolved if record.spec else {}
    code = record.code
    env = record.environment
    return {
        "execution_id": record.execution_id,
        "case_name": record.case,
        "case_group": record.group,
        "machine": env.machine if env else None,
        "hpc_username": env.user if env else None,
        **{
            key: resolved.get(key)
            for key in (
                "compset",
                "compset_alias",
                "grid_name",
                "grid_resolution",
                "initialization_type",
                "compiler",
                "campaign",
                "experiment_type",
                "simulation_start_date",
                "simulation_end_date",
                "case_hash",
            )
        },
        "git_tag": code.tag if code else None,
        "git_commit_hash": code.commit if code else None,
        "git_branch": code.branch if code else None,
        "git_repository_url": code.repository if code else None,
        "run_start_date": _naive(record, "started", "run_started_local"),
        "run_end_date": _naive(record, "ended", "run_ended_local"),
        "status": SIMBOARD_STATUS.get(record.status, record.status.value),
    }


def ingest_runs(ledger: Ledger, root: Path, *runs: E3smRun) -> IngestSummary:
    for run in runs:
        run.write(root)
    return ingest(ledger, read_items([root], CAP))


def view_of(ledger: Ledger, execution_id: str) -> dict[str, Any]:
    return simboard_view(ledger.record_of(execution_id))


def deltas_of(ledger: Ledger, execution_id: str) -> dict[str, Any]:
    """The execution's deltas under SimBoard's field names."""
    deltas = ledger.execution_row(execution_id)["deltas"] or {}
    return {display_name("e3sm", key): change for key, change in deltas.items()}


NO_CASE_STATUS = ("case_status",)  # the timing file's times are then the only ones


# -- parsers/test_e3sm_timing.py -----------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
def test_timing_parse_gives_the_execution_id_and_run_dates(
    sqlite_ledger: Ledger, tmp_path: Path, gz: bool
) -> None:
    run = E3smRun(omit=NO_CASE_STATUS, timing_gz=gz)
    ingest_runs(sqlite_ledger, tmp_path / "perf", run)
    view = view_of(sqlite_ledger, run.exec_id)
    assert view["execution_id"] == "1081156.251218-200923"
    assert view["run_end_date"] == "2025-12-18T20:54:58"
    assert view["run_start_date"] == "2025-12-18T20:09:33"


@pytest.mark.parametrize("label", ["Init Time", "Run Time", "Final Time"])
def test_a_missing_time_leaves_run_start_none(
    sqlite_ledger: Ledger, tmp_path: Path, label: str
) -> None:
    run = E3smRun(omit=NO_CASE_STATUS, timing_edit={label: None})
    ingest_runs(sqlite_ledger, tmp_path / "perf", run)
    view = view_of(sqlite_ledger, run.exec_id)
    assert view["run_end_date"] == "2025-12-18T20:54:58"
    assert view["run_start_date"] is None


@pytest.mark.parametrize("value", ["not-a-number", ""], ids=["malformed", "empty"])
def test_a_malformed_or_empty_init_time_leaves_run_start_none(
    sqlite_ledger: Ledger, tmp_path: Path, value: str
) -> None:
    run = E3smRun(omit=NO_CASE_STATUS, timing_edit={"Init Time": value})
    ingest_runs(sqlite_ledger, tmp_path / "perf", run)
    view = view_of(sqlite_ledger, run.exec_id)
    assert view["run_end_date"] == "2025-12-18T20:54:58"
    assert view["run_start_date"] is None


@pytest.mark.parametrize("value", ["Invalid Date Format", None], ids=["malformed", "missing"])
def test_a_malformed_or_missing_curr_date_leaves_both_dates_none(
    sqlite_ledger: Ledger, tmp_path: Path, value: str | None
) -> None:
    run = E3smRun(omit=NO_CASE_STATUS, timing_edit={"Curr Date": value})
    ingest_runs(sqlite_ledger, tmp_path / "perf", run)
    view = view_of(sqlite_ledger, run.exec_id)
    assert view["execution_id"] == "1081156.251218-200923"
    assert (view["run_start_date"], view["run_end_date"]) == (None, None)


def test_a_timing_file_without_lid_is_not_a_complete_execution(
    sqlite_ledger: Ledger, tmp_path: Path
) -> None:
    """SimBoard rejects it (missing_required_value); provledger records it incomplete."""
    run = E3smRun(timing_edit={"LID": None})
    ingest_runs(sqlite_ledger, tmp_path / "perf", run)
    record = sqlite_ledger.record_of(run.exec_id)
    assert record.status is Status.INCOMPLETE
    assert record.missing == ["LID (e3sm_timing has no LID)"]


# -- parsers/test_git_info.py --------------------------------------------------------------


@pytest.mark.parametrize(
    ("describe", "tag", "commit"),
    [
        ("v2.0.0-beta.3-3091-g3219b44fc", "v2.0.0-beta.3-3091", "3219b44fc"),
        ("release-2024-gabcdef1", "release", "abcdef1"),
    ],
    ids=["prerelease", "fallback"],
)
def test_git_describe_gives_tag_and_commit(
    sqlite_ledger: Ledger, tmp_path: Path, describe: str, tag: str, commit: str
) -> None:
    run = E3smRun(git_describe=describe)
    ingest_runs(sqlite_ledger, tmp_path / "perf", run)
    view = view_of(sqlite_ledger, run.exec_id)
    assert (view["git_tag"], view["git_commit_hash"]) == (tag, commit)


def test_git_status_gives_the_branch_and_git_config_the_origin_url(
    sqlite_ledger: Ledger, tmp_path: Path
) -> None:
    run = E3smRun(
        git_branch="feature/59-automate-ingestion", git_url="https://github.com/example/repo.git"
    )
    ingest_runs(sqlite_ledger, tmp_path / "perf", run)
    view = view_of(sqlite_ledger, run.exec_id)
    assert view["git_branch"] == "feature/59-automate-ingestion"
    assert view["git_repository_url"] == "https://github.com/example/repo.git"


def test_git_config_without_an_origin_url_gives_none(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    run = E3smRun()
    run.write(tmp_path / "perf")
    config = next((tmp_path / "perf").rglob("GIT_CONFIG.*"))
    config.write_bytes(
        gzip.compress(
            b'[remote "origin"]\n    fetch = +refs/heads/*:refs/remotes/origin/*\n'
            b'[branch "main"]\n    remote = origin\n'
        )
    )
    ingest(sqlite_ledger, read_items([tmp_path / "perf"], CAP))
    assert view_of(sqlite_ledger, run.exec_id)["git_repository_url"] is None


# -- parsers/test_case_status.py -----------------------------------------------------------

CASE_STATUS_SCENARIOS = {
    "completed-latest-attempt": (
        "2025-01-01 00:00:00: case.run starting 111\n2025-01-01 01:00:00: case.run error\n"
        "2025-01-01 02:00:00: case.run starting 222\n2025-01-01 03:00:00: case.run success\n",
        ("completed", "2025-01-01T02:00:00", "2025-01-01T03:00:00"),
    ),
    "failed": (
        "2025-01-01 00:00:00: case.run starting 111\n2025-01-01 01:00:00: case.run error\n",
        ("failed", "2025-01-01T00:00:00", "2025-01-01T01:00:00"),
    ),
    "running": (
        "2025-01-01 00:00:00: case.run starting 111\n2025-01-01 00:10:00: unrelated log line\n",
        ("running", "2025-01-01T00:00:00", None),
    ),
}


@pytest.mark.parametrize("scenario", sorted(CASE_STATUS_SCENARIOS))
def test_case_status_gives_status_and_run_dates(
    sqlite_ledger: Ledger, tmp_path: Path, scenario: str
) -> None:
    text, expected = CASE_STATUS_SCENARIOS[scenario]
    run = E3smRun(case_status_text=text)
    ingest_runs(sqlite_ledger, tmp_path / "perf", run)
    view = view_of(sqlite_ledger, run.exec_id)
    assert (view["status"], view["run_start_date"], view["run_end_date"]) == expected


def test_case_status_without_case_run_lines_is_unknown(
    sqlite_ledger: Ledger, tmp_path: Path
) -> None:
    """CaseStatus wins over the timing file in SimBoard, even with no run times; provledger
    leaves started/ended unknown too and keeps the timing file's local times apart."""
    run = E3smRun(case_status_text="2025-01-01 00:00:00: xmlchange success\n")
    ingest_runs(sqlite_ledger, tmp_path / "perf", run)
    record = sqlite_ledger.record_of(run.exec_id)
    assert record.status is Status.UNKNOWN
    assert (record.started, record.ended) == (None, None)
    assert record.attributes["local_time_zone"] == "unknown"


# -- test_ingest.py: canonical and config deltas (040d00e … 7738f5b) -----------------------


def test_the_canonical_run_has_no_deltas_and_a_later_run_records_the_compiler_change(
    sqlite_ledger: Ledger, tmp_path: Path
) -> None:
    first, second = exec_id(1), exec_id(2)
    ingest_runs(
        sqlite_ledger,
        tmp_path / "perf",
        E3smRun(exec_id=first, compiler="gcc-11"),
        E3smRun(exec_id=second, compiler="gcc-12"),
    )
    case = sqlite_ledger.case_row("ac.user/v3.LR.historical_0121")
    assert case["canonical_execution_id"] == first
    assert deltas_of(sqlite_ledger, first) == {}
    assert deltas_of(sqlite_ledger, second) == {
        "compiler": {"canonical": "gcc-11", "current": "gcc-12"}
    }


def test_identical_configs_have_no_deltas(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    ingest_runs(
        sqlite_ledger, tmp_path / "perf", E3smRun(exec_id=exec_id(1)), E3smRun(exec_id=exec_id(2))
    )
    assert deltas_of(sqlite_ledger, exec_id(2)) == {}


def test_ssh_and_https_urls_of_one_repository_are_no_delta(
    sqlite_ledger: Ledger, tmp_path: Path
) -> None:
    ingest_runs(
        sqlite_ledger,
        tmp_path / "perf",
        E3smRun(exec_id=exec_id(1), git_url="https://github.com/E3SM-Project/E3SM.git"),
        E3smRun(exec_id=exec_id(2), git_url="git@github.com:E3SM-Project/E3SM.git"),
    )
    assert deltas_of(sqlite_ledger, exec_id(2)) == {}


def test_mpilib_is_not_a_config_delta(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    """SimBoard's snapshot has 13 fields and no mpilib; provledger compares the same ones."""
    ingest_runs(
        sqlite_ledger,
        tmp_path / "perf",
        E3smRun(exec_id=exec_id(1), mpilib="openmpi"),
        E3smRun(exec_id=exec_id(2), mpilib="mpich", git_describe="v3.0.3-0-gabc1234"),
    )
    assert deltas_of(sqlite_ledger, exec_id(2)) == {
        "git_tag": {"canonical": "v3.0.2-2", "current": "v3.0.3-0"},
        "git_commit_hash": {"canonical": "7c4ec379a6", "current": "abc1234"},
    }


def test_an_incomplete_run_shows_no_delta_for_what_it_lacks(
    sqlite_ledger: Ledger, tmp_path: Path
) -> None:
    """SimBoard skips incomplete runs; provledger records them, and a field the run does not
    have is missing, not changed."""
    ingest_runs(
        sqlite_ledger,
        tmp_path / "perf",
        E3smRun(exec_id=exec_id(1)),
        E3smRun(exec_id=exec_id(2), omit=("env_build", "readme_case"), run_type="hybrid"),
    )
    assert sqlite_ledger.record_of(exec_id(2)).status is Status.INCOMPLETE
    assert deltas_of(sqlite_ledger, exec_id(2)) == {
        "initialization_type": {"canonical": "startup", "current": "hybrid"}
    }


def test_the_canonical_is_the_first_succeeded_run_not_the_first_complete_one(
    sqlite_ledger: Ledger, tmp_path: Path
) -> None:
    """SimBoard (040d00e…7738f5b) took the first complete run in directory order, whatever
    its status; provledger takes the first *succeeded* one (earliest start)."""
    ingest_runs(
        sqlite_ledger,
        tmp_path / "perf",
        E3smRun(exec_id=exec_id(1), status="error"),
        E3smRun(exec_id=exec_id(2)),
    )
    case = sqlite_ledger.case_row("ac.user/v3.LR.historical_0121")
    assert case["canonical_execution_id"] == exec_id(2)


# -- test_ingest.py: case identity (a644c19 … 8092bac) -------------------------------------


def test_different_case_names_are_different_cases(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    ingest_runs(
        sqlite_ledger,
        tmp_path / "perf",
        E3smRun(exec_id=exec_id(1), case="case_alpha"),
        E3smRun(exec_id=exec_id(2), case="case_beta"),
    )
    for name in ("case_alpha", "case_beta"):
        assert sqlite_ledger.case_row(f"ac.user/{name}")["name"] == name


def test_the_same_case_name_and_identity_is_one_case(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    ingest_runs(
        sqlite_ledger, tmp_path / "perf", E3smRun(exec_id=exec_id(1)), E3smRun(exec_id=exec_id(2))
    )
    case = sqlite_ledger.case_row("ac.user/v3.LR.historical_0121")
    rows = [sqlite_ledger.execution_row(exec_id(n)) for n in (1, 2)]
    assert {r["case_id"] for r in rows} == {case["case_id"]}


def test_the_same_case_name_by_another_user_is_another_case(
    sqlite_ledger: Ledger, tmp_path: Path
) -> None:
    ingest_runs(
        sqlite_ledger,
        tmp_path / "perf",
        E3smRun(exec_id=exec_id(1), user="ac.one"),
        E3smRun(exec_id=exec_id(2), user="ac.two"),
    )
    one = sqlite_ledger.case_row("ac.one/v3.LR.historical_0121")
    two = sqlite_ledger.case_row("ac.two/v3.LR.historical_0121")
    assert one["case_id"] != two["case_id"]


@pytest.mark.parametrize(
    ("identity", "cases"),
    [
        (None, ["ac.user/v3.LR.historical_0121"]),
        (
            "machine",
            ["ac.user@chrysalis/v3.LR.historical_0121", "ac.user@pm-cpu/v3.LR.historical_0121"],
        ),
    ],
    ids=["default-user", "simboard-machine"],
)
def test_the_same_case_name_on_another_machine_is_another_case_only_by_machine_identity(
    sqlite_ledger: Ledger,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    identity: str | None,
    cases: list[str],
) -> None:
    if identity:
        monkeypatch.setenv("PROVLEDGER_E3SM_CASE_IDENTITY", identity)
    ingest_runs(
        sqlite_ledger,
        tmp_path / "perf",
        E3smRun(exec_id=exec_id(1), machine="chrysalis"),
        E3smRun(exec_id=exec_id(2), machine="pm-cpu"),
    )
    for ref in cases:
        sqlite_ledger.case_row(ref)  # found, unambiguous
    rows = [sqlite_ledger.execution_row(exec_id(n)) for n in (1, 2)]
    assert len({r["case_id"] for r in rows}) == len(cases)


def test_every_execution_carries_its_case_group(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    """SimBoard sets the case's group from the first execution that has one; the importer puts
    CASE_GROUP on every record it is known for (the case's group is the domain's choice)."""
    ingest_runs(
        sqlite_ledger,
        tmp_path / "perf",
        E3smRun(exec_id=exec_id(1), case_group=""),
        E3smRun(exec_id=exec_id(2), case_group="v3.LR"),
    )
    assert view_of(sqlite_ledger, exec_id(1))["case_group"] is None
    assert view_of(sqlite_ledger, exec_id(2))["case_group"] == "v3.LR"


# -- execution directory names (CIME LIDs) --------------------------------------------------


def test_an_execution_whose_lid_carries_a_pbs_host_name_is_ingested(
    sqlite_ledger: Ledger, tmp_path: Path
) -> None:
    run = E3smRun(exec_id="9459679.chadmin1.180517-114852")
    summary = ingest_runs(sqlite_ledger, tmp_path / "perf", run)
    assert (summary.created, summary.skipped, summary.error_count) == (1, 0, 0)
    assert view_of(sqlite_ledger, run.exec_id)["execution_id"] == run.exec_id


def test_a_directory_with_run_files_but_no_lid_name_is_skipped_with_its_reason(
    sqlite_ledger: Ledger, tmp_path: Path
) -> None:
    E3smRun(exec_id="my-run-copy").write(tmp_path / "perf")
    E3smRun(exec_id=exec_id(1)).write(tmp_path / "perf")
    summary = ingest(sqlite_ledger, read_items([tmp_path / "perf"], CAP))
    assert (summary.created, summary.skipped, summary.error_count) == (1, 1, 0)
    path, why = summary.skipped_details[0]
    assert path.endswith("my-run-copy")
    assert "is not an execution LID" in why
