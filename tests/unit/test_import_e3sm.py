"""E3SM execution directories become records: found at any depth, mapped as SimBoard maps them,
incomplete runs kept with what is missing, unreadable files reported per item."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from provledger.adapters.readers.walk import count_items, read_items
from provledger.application.ingest import ReadItem
from provledger.domain.record import Status
from tests.support.e3sm_archive import E3smRun, exec_id, write_tar_gz, write_zip

CAP = 1024 * 1024


def items(*paths: Path, fmt: str = "auto") -> list[ReadItem]:
    return list(read_items(list(paths), CAP, fmt))


def only(found: list[ReadItem]) -> ReadItem:
    assert len(found) == 1, found
    return found[0]


def test_a_complete_execution_maps_every_simboard_field(tmp_path: Path) -> None:
    E3smRun().write(tmp_path / "archive")
    record = only(items(tmp_path / "archive")).record
    assert record is not None
    assert (record.namespace, record.case) == ("ac.user", "v3.LR.historical_0121")
    assert record.execution_id == "1081156.251218-200923"
    assert record.status is Status.SUCCEEDED
    assert record.group == "v3.LR"
    assert record.started is not None
    assert record.started.isoformat() == "2025-12-18T20:09:33+00:00"
    resolved = record.spec.resolved if record.spec else {}
    assert resolved["compset"] == "WCYCL20TR"
    assert resolved["compset_alias"].startswith("20TR_EAM")
    assert resolved["grid_name"] == "ne30pg2_r05_IcoswISC30E3r5"
    assert resolved["grid_resolution"].startswith("a%ne30np4")
    assert resolved["initialization_type"] == "startup"
    assert (resolved["compiler"], resolved["mpilib"]) == ("intel", "openmpi")
    assert resolved["campaign"] == "v3.LR.historical"
    assert resolved["experiment_type"] == "historical"
    assert resolved["output_path"] == "/lcrc/group/e3sm/ac.user/scratch/v3.LR.historical_0121/run"
    assert resolved["archive_path"] == (
        "/lcrc/group/e3sm/ac.user/scratch/archive/v3.LR.historical_0121"
    )
    assert resolved["simulation_start_date"] == "1850-01-01"
    assert resolved["simulation_end_date"] == "1851-01-01"
    assert record.code is not None
    assert (record.code.tag, record.code.commit) == ("v3.0.2-2", "7c4ec379a6")
    assert record.code.branch == "maint-3.0"
    assert record.code.repository == "https://github.com/E3SM-Project/E3SM.git"
    assert record.environment is not None
    assert record.environment.machine == "chrysalis"
    roles = {a.role for a in record.artifacts}
    assert {"env_case", "e3sm_timing", "case_status", "output", "archive", "run_script"} <= roles
    assert all(a.sha256 for a in record.artifacts if a.role == "env_case")
    assert record.metrics["run_time_sec"][0].value == 2599.194
    assert record.source is not None
    assert record.source.importer == "e3sm"
    assert record.missing == []


def test_executions_are_found_at_any_depth_and_namespaced_by_user_directory(
    tmp_path: Path,
) -> None:
    deep = tmp_path / "2026-05" / "performance_archive_2026_05_22_08_01_32" / "COMPLETED"
    E3smRun(user="feng809", exec_id=exec_id(1)).write(deep)
    E3smRun(user="ac.kai", exec_id=exec_id(2)).write(tmp_path / "staging")
    found = items(tmp_path)
    assert sorted((i.record.namespace, i.record.execution_id) for i in found if i.record) == [
        ("ac.kai", exec_id(2)),
        ("feng809", exec_id(1)),
    ]
    assert count_items([tmp_path]) == 2


def test_a_single_execution_directory_can_be_given_directly(tmp_path: Path) -> None:
    exec_dir = E3smRun(status="error").write(tmp_path)
    record = only(items(exec_dir, fmt="e3sm")).record
    assert record is not None
    assert record.status is Status.FAILED


def test_a_run_without_a_terminal_line_is_running(tmp_path: Path) -> None:
    record = only(items(E3smRun(status="running").write(tmp_path))).record
    assert record is not None
    assert record.status is Status.RUNNING
    assert record.ended is None


def test_a_missing_required_file_makes_the_run_incomplete_listing_it(tmp_path: Path) -> None:
    E3smRun(omit=("env_run", "git_describe")).write(tmp_path)
    record = only(items(tmp_path)).record
    assert record is not None
    assert record.status is Status.INCOMPLETE
    assert record.missing == ["CaseDocs/env_run.xml.*", "GIT_DESCRIBE.*"]
    assert record.attributes["run_status"] == "succeeded"


def test_optional_git_files_may_be_missing(tmp_path: Path) -> None:
    E3smRun(omit=("git_config", "git_status")).write(tmp_path)
    record = only(items(tmp_path)).record
    assert record is not None
    assert record.status is Status.SUCCEEDED
    assert record.code is not None
    assert record.code.repository is None


def test_a_required_file_present_twice_makes_the_run_incomplete(tmp_path: Path) -> None:
    run = E3smRun(extra={"CaseStatus.other.gz": gzip.compress(b"")})
    E3smRun.write(run, tmp_path)
    record = only(items(tmp_path)).record
    assert record is not None
    assert record.status is Status.INCOMPLETE
    assert record.missing[0].startswith("CaseStatus.* (found 2:")


def test_an_empty_lid_makes_the_run_incomplete(tmp_path: Path) -> None:
    E3smRun(lid="").write(tmp_path)
    record = only(items(tmp_path)).record
    assert record is not None
    assert record.status is Status.INCOMPLETE
    assert record.missing == ["LID (e3sm_timing has no LID)"]


def test_plain_uncompressed_files_are_read_too(tmp_path: Path) -> None:
    E3smRun(gz=False).write(tmp_path)
    record = only(items(tmp_path)).record
    assert record is not None
    assert record.status is Status.SUCCEEDED


def test_the_directory_name_wins_over_a_different_lid(tmp_path: Path) -> None:
    E3smRun(lid="999.250101-000000").write(tmp_path)
    record = only(items(tmp_path)).record
    assert record is not None
    assert record.execution_id == "1081156.251218-200923"
    assert record.attributes["lid"] == "999.250101-000000"


def _break(tmp_path: Path, name: str, data: bytes) -> Path:
    exec_dir = E3smRun().write(tmp_path)
    target = next(p for p in exec_dir.rglob("*") if p.name.startswith(name))
    target.write_bytes(data)
    return target


def test_a_corrupt_gzip_is_a_per_item_error_naming_the_file(tmp_path: Path) -> None:
    _break(tmp_path, "CaseStatus", b"\x1f\x8b\x08\x00garbage-not-deflate")
    item = only(items(tmp_path))
    assert item.record is None
    assert item.error is not None
    assert "CaseStatus" in item.error
    assert "corrupt gzip" in item.error


def test_a_truncated_gzip_is_a_per_item_error(tmp_path: Path) -> None:
    _break(tmp_path, "GIT_DESCRIBE", gzip.compress(b"v1.0.0-1-gabc\n" * 50)[:20])
    item = only(items(tmp_path))
    assert item.error is not None
    assert "truncated" in item.error


def test_invalid_xml_is_a_per_item_error_naming_the_file(tmp_path: Path) -> None:
    _break(tmp_path, "env_build", gzip.compress(b"<file><entry id='GRID'></file>"))
    item = only(items(tmp_path))
    assert item.error is not None
    assert "env_build.xml" in item.error
    assert "invalid XML" in item.error


def test_a_directory_where_a_file_is_expected_is_a_per_item_error(tmp_path: Path) -> None:
    target = _break(tmp_path, "CaseStatus", b"")
    target.unlink()
    target.mkdir()
    item = only(items(tmp_path))
    assert item.error is not None
    assert "is a directory" in item.error


def test_a_symlink_loop_is_a_per_item_error(tmp_path: Path) -> None:
    target = _break(tmp_path, "e3sm_timing", b"")
    target.unlink()
    os.symlink("zz-loop", target)
    os.symlink(target.name, target.parent / "zz-loop")
    item = only(items(tmp_path))
    assert item.error is not None
    assert "symbolic link loop" in item.error


def test_a_directory_symlink_loop_is_reported_and_not_followed(tmp_path: Path) -> None:
    E3smRun().write(tmp_path / "archive")
    os.symlink(tmp_path / "archive", tmp_path / "archive" / "ac.user" / "loop")
    found = items(tmp_path / "archive")
    assert sum(1 for i in found if i.record) == 1
    assert [i.error for i in found if i.error and "symbolic link loop" in i.error]


def test_a_huge_file_is_a_per_item_error_and_not_read_whole(tmp_path: Path) -> None:
    _break(tmp_path, "e3sm_timing", b"x" * (CAP + 10))
    item = only(items(tmp_path))
    assert item.error is not None
    assert "larger than" in item.error


def test_a_gzip_bomb_is_refused_by_its_decompressed_size(tmp_path: Path) -> None:
    _break(tmp_path, "README.case", gzip.compress(b"\0" * (CAP * 3)))
    item = only(items(tmp_path))
    assert item.error is not None
    assert "decompresses to more than" in item.error


def test_one_bad_execution_leaves_the_others_readable(tmp_path: Path) -> None:
    E3smRun(exec_id=exec_id(1)).write(tmp_path)
    bad = E3smRun(exec_id=exec_id(2)).write(tmp_path)
    next(bad.glob("CaseStatus*")).write_bytes(b"\x1f\x8bbroken")
    found = items(tmp_path)
    assert [bool(i.record) for i in found] == [True, False]


def test_tar_gz_and_zip_uploads_are_extracted_and_read(tmp_path: Path) -> None:
    runs = [E3smRun(exec_id=exec_id(n)) for n in range(3)]
    tgz = write_tar_gz(runs, tmp_path / "upload.tar.gz")
    zipped = write_zip(runs[:1], tmp_path / "upload.zip", prefix="perf/")
    from_tar = items(tgz)
    from_zip = items(zipped)
    assert [i.record.execution_id for i in from_tar if i.record] == [exec_id(n) for n in range(3)]
    record = only(from_zip).record
    assert record is not None
    assert record.namespace == "ac.user"
    assert record.source is not None
    assert record.source.path is not None
    assert record.source.path.startswith(f"{zipped}!perf/ac.user/")


def test_an_upload_of_a_single_execution_directory_at_its_root_is_accepted(
    tmp_path: Path,
) -> None:
    run = E3smRun()
    exec_dir = run.write(tmp_path / "src")
    import tarfile

    with tarfile.open(tmp_path / "one.tgz", "w:gz") as tar:
        tar.add(exec_dir, arcname=run.exec_id)
    record = only(items(tmp_path / "one.tgz")).record
    assert record is not None
    assert (record.namespace, record.case) == ("ac.user", "v3.LR.historical_0121")


def test_the_same_archive_read_twice_gives_identical_records(tmp_path: Path) -> None:
    tgz = write_tar_gz([E3smRun()], tmp_path / "upload.tar.gz")
    E3smRun().write(tmp_path / "folder")
    a, b, c = (
        only(items(tgz)).record,
        only(items(tgz)).record,
        only(items(tmp_path / "folder")).record,
    )
    assert a is not None
    assert b is not None
    assert c is not None
    assert a == b
    assert a.artifacts == c.artifacts
    assert a.spec == c.spec


XML = ("env_case", "env_build", "env_run", "readme_case")


def test_without_the_xml_files_the_timing_header_gives_the_case_settings(tmp_path: Path) -> None:
    E3smRun(omit=XML).write(tmp_path / "perf")
    record = only(items(tmp_path / "perf")).record
    assert record is not None
    assert record.status is Status.INCOMPLETE
    assert (record.namespace, record.case) == ("ac.user", "v3.LR.historical_0121")
    assert record.environment is not None
    assert (record.environment.machine, record.environment.user) == ("chrysalis", "ac.user")
    resolved = record.spec.resolved if record.spec else {}
    assert resolved["machine"] == "chrysalis"
    assert resolved["case_root"] == "/home/ac.user/cases/v3.LR.historical_0121"
    assert resolved["grid_resolution"].startswith("a%ne30np4.pg2")
    assert resolved["compset_alias"].startswith("20TR_EAM%CMIP6")
    assert resolved["initialization_type"] == "startup"
    assert (resolved["stop_option"], resolved["stop_n"]) == ("nyears", "1")
    assert resolved["campaign"] == "v3.LR.historical"
    assert record.attributes["from_timing_header"] == [
        "CASE",
        "MACH",
        "REALUSER",
        "CASEROOT",
        "GRID",
        "COMPSET",
        "RUN_TYPE",
        "STOP_OPTION",
        "STOP_N",
    ]
    assert record.attributes["run_length_days"] == 365


def test_the_xml_files_win_over_the_timing_header(tmp_path: Path) -> None:
    run = E3smRun(timing_edit={"Machine": "elsewhere", "run type": "branch, continue_run = X"})
    run.write(tmp_path)
    record = only(items(tmp_path)).record
    assert record is not None
    assert record.spec is not None
    assert record.spec.resolved["machine"] == "chrysalis"
    assert record.spec.resolved["initialization_type"] == "startup"
    assert "from_timing_header" not in record.attributes


def test_curr_date_is_kept_as_local_time_and_never_taken_as_utc(tmp_path: Path) -> None:
    E3smRun(omit=("case_status",)).write(tmp_path)
    record = only(items(tmp_path)).record
    assert record is not None
    assert (record.started, record.ended) == (None, None)
    assert record.attributes["run_started_local"] == "2025-12-18T20:09:33"
    assert record.attributes["run_ended_local"] == "2025-12-18T20:54:58"
    assert record.attributes["local_time_zone"] == "unknown"


def test_a_timing_file_without_init_time_gives_no_start(tmp_path: Path) -> None:
    E3smRun(omit=("case_status",), timing_edit={"Init Time": None}).write(tmp_path)
    record = only(items(tmp_path)).record
    assert record is not None
    assert "run_started_local" not in record.attributes
    assert record.attributes["run_ended_local"] == "2025-12-18T20:54:58"
    assert "init_time_sec" not in record.metrics


def test_a_run_with_case_status_times_keeps_no_local_copies(tmp_path: Path) -> None:
    E3smRun().write(tmp_path)
    record = only(items(tmp_path)).record
    assert record is not None
    assert not {"run_started_local", "run_ended_local", "local_time_zone"} & set(record.attributes)


@pytest.mark.parametrize(
    "lid",
    [
        "9459679.chadmin1.180517-114852",
        "123456.desched1.ib0.example.org.240101-000000",
        "123[4].pbs01.240101-000000",
        "240101-120000",
    ],
)
def test_the_lid_forms_cime_writes_are_execution_directories(tmp_path: Path, lid: str) -> None:
    E3smRun(exec_id=lid).write(tmp_path)
    record = only(items(tmp_path)).record
    assert record is not None
    assert (record.execution_id, record.status) == (lid, Status.SUCCEEDED)


def test_a_host_named_lid_is_read_from_an_upload_too(tmp_path: Path) -> None:
    lid = "9459679.chadmin1.180517-114852"
    upload = write_tar_gz([E3smRun(exec_id=lid)], tmp_path / "up.tar.gz")
    record = only(items(upload)).record
    assert record is not None
    assert record.execution_id == lid


def test_a_bare_stamp_directory_without_e3sm_files_is_not_an_execution(tmp_path: Path) -> None:
    (tmp_path / "240101-120000").mkdir()
    (tmp_path / "240101-120000" / "notes.txt").write_text("x")
    assert items(tmp_path) == []


def test_a_directory_of_run_files_whose_name_is_no_lid_is_skipped_with_the_reason(
    tmp_path: Path,
) -> None:
    E3smRun(exec_id="copy-of-run").write(tmp_path)
    item = only(items(tmp_path))
    assert item.skipped
    assert item.record is None
    assert item.path.endswith("copy-of-run")
    assert item.error is not None
    assert "'copy-of-run' is not an execution LID" in item.error


def test_a_case_identity_setting_that_is_not_known_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVLEDGER_E3SM_CASE_IDENTITY", "host")
    E3smRun().write(tmp_path)
    item = only(items(tmp_path))
    assert item.error is not None
    assert "PROVLEDGER_E3SM_CASE_IDENTITY must be 'user' or 'machine', not 'host'" in item.error


@pytest.mark.parametrize("fmt", ["auto", "e3sm"])
def test_bare_stamp_and_misnamed_runs_in_an_upload_are_read_and_skipped_as_in_a_folder(
    tmp_path: Path, fmt: str
) -> None:
    runs = [E3smRun(exec_id="240101-120000"), E3smRun(exec_id="copy-of-run")]
    found = items(write_zip(runs, tmp_path / "up.zip"), fmt=fmt)
    assert [i.record.execution_id for i in found if i.record] == ["240101-120000"]
    skipped = [i for i in found if i.skipped]
    assert len(skipped) == 1
    assert skipped[0].path.endswith("up.zip!ac.user/v3.LR.historical_0121/copy-of-run")
