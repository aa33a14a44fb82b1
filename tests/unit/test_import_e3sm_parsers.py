"""The E3SM file parsers read the fields SimBoard reads (formats.md §1.2), from strings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from provledger.adapters.importers import e3sm_parse as parse


def test_xml_entries_prefer_the_value_attribute_and_fall_back_to_text() -> None:
    data = b"""<?xml version="1.0"?><file><group>
      <entry id="CASE" value="v3.LR.historical_0121"/>
      <entry id="RUNDIR">$CIME_OUTPUT_ROOT/$CASE/run</entry>
      <entry id="CASE" value="second-ignored"/></group></file>"""
    entries = parse.xml_entries(data)
    assert entries["CASE"] == "v3.LR.historical_0121"
    assert entries["RUNDIR"] == "$CIME_OUTPUT_ROOT/$CASE/run"


def test_invalid_xml_is_refused_with_a_message_naming_the_problem() -> None:
    with pytest.raises(ValueError, match="invalid XML"):
        parse.xml_entries(b"<file><entry id='CASE' value='x'></file>")


def test_xml_entity_expansion_is_refused() -> None:
    bomb = b"""<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">
      <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><file><entry id="X">&b;</entry></file>"""
    with pytest.raises(ValueError, match="invalid XML"):
        parse.xml_entries(bomb)


def test_readme_case_gives_grid_name_compset_and_creation_date() -> None:
    text = (
        "2025-12-18 22:36:01: /path/create_newcase --case v3.LR.historical_0121 "
        "--res ne30pg2_r05_IcoswISC30E3r5 --compset WCYCL20TR\n"
    )
    out = parse.readme_case(text)
    assert out["grid_name"] == "ne30pg2_r05_IcoswISC30E3r5"
    assert out["compset"] == "WCYCL20TR"
    assert out["creation_date"] == "2025-12-18T22:36:01"
    assert out["command"][0] == "/path/create_newcase"


def test_the_latest_case_run_start_decides_the_status() -> None:
    text = (
        "2025-12-18 19:00:00: case.run starting 1\n"
        "2025-12-18 19:10:00: case.run error\n"
        "2025-12-18 20:09:33: case.run starting 2\n"
        "2025-12-18 20:54:58: case.run success\n"
    )
    status, started, ended = parse.case_status(text)
    assert status == "succeeded"
    assert started == datetime(2025, 12, 18, 20, 9, 33, tzinfo=UTC)
    assert ended == datetime(2025, 12, 18, 20, 54, 58, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-01-01 00:00:00: case.run starting\n2025-01-01 01:00:00: case.run error\n", "failed"),
        ("2025-01-01 00:00:00: case.run starting\n", "running"),
        ("2025-01-01 00:00:00: case.submit starting\n", "unknown"),
        (
            "2025-01-01 00:00:00: case.run success\n2025-01-02 00:00:00: case.run starting\n",
            "running",
        ),
    ],
)
def test_case_status_maps_success_error_and_no_end(text: str, expected: str) -> None:
    assert parse.case_status(text)[0] == expected


def test_timing_gives_lid_end_and_a_start_derived_from_init_run_final_times() -> None:
    text = (
        "  LID         : 1081156.251218-200923\n"
        "  Curr Date   : Thu Dec 18 20:54:58 2025\n"
        "    Init Time   :     124.909 seconds\n"
        "    Run Time    :    2599.194 seconds        7.121 seconds/day\n"
        "    Final Time  :       0.375 seconds\n"
    )
    out = parse.timing(text)
    assert out["lid"] == "1081156.251218-200923"
    assert out["curr_date"] == datetime(2025, 12, 18, 20, 54, 58)  # local time: naive
    assert out["run_start"] == datetime(2025, 12, 18, 20, 9, 33)  # to the second, as SimBoard


TIMES = {
    "Init": "    Init Time   :     124.909 seconds\n",
    "Run": "    Run Time    :    2599.194 seconds        7.121 seconds/day\n",
    "Final": "    Final Time  :       0.375 seconds\n",
}


@pytest.mark.parametrize("left_out", ["Init", "Run", "Final"])
def test_a_missing_time_leaves_the_run_start_unknown(left_out: str) -> None:
    text = "  Curr Date   : Thu Dec 18 20:54:58 2025\n" + "".join(
        line for key, line in TIMES.items() if key != left_out
    )
    out = parse.timing(text)
    assert out["curr_date"] == datetime(2025, 12, 18, 20, 54, 58)
    assert "run_start" not in out


@pytest.mark.parametrize("value", ["not-a-number", "", "seconds"])
def test_a_malformed_or_empty_time_leaves_the_run_start_unknown(value: str) -> None:
    text = (
        "  Curr Date   : Thu Dec 18 20:54:58 2025\n"
        f"    Init Time   : {value}\n" + TIMES["Run"] + TIMES["Final"]
    )
    out = parse.timing(text)
    assert "init" not in out["seconds"]
    assert "run_start" not in out


@pytest.mark.parametrize("curr", ["  Curr Date   : Invalid Date Format\n", ""])
def test_a_malformed_or_missing_curr_date_leaves_both_times_unknown(curr: str) -> None:
    out = parse.timing("  LID : 1081156.251218-200923\n" + curr + "".join(TIMES.values()))
    assert out["lid"] == "1081156.251218-200923"
    assert "curr_date" not in out
    assert "run_start" not in out


def test_a_single_digit_day_as_ctime_writes_it_is_read() -> None:
    out = parse.timing("  Curr Date   : Thu Dec  4 20:54:58 2025\n")
    assert out["curr_date"] == datetime(2025, 12, 4, 20, 54, 58)


def test_the_timing_header_gives_machine_user_case_grid_compset_run_type_and_stop() -> None:
    text = (
        "---------------- TIMING PROFILE ---------------------\n"
        "  Case        : b.e21.B1850.f09_g17.001\n"
        "  LID         : 9459679.chadmin1.180517-114852\n"
        "  Machine     : cheyenne\n"
        "  Caseroot    : /glade/u/home/jdoe/cases/b.e21.B1850.f09_g17.001\n"
        "  Timeroot    : /glade/u/home/jdoe/cases/b.e21.B1850.f09_g17.001/Tools\n"
        "  User        : jdoe\n"
        "  Curr Date   : Thu May 17 11:48:52 2018\n"
        "  grid        : a%0.9x1.25_l%0.9x1.25_oi%gx1v7_r%r05_g%gland4_w%null_m%gx1v7\n"
        "  compset     : 1850_CAM60_CLM50%BGC-CROP_CICE_POP2%ECO_MOSART_CISM2%NOEVOLVE"
        "_WW3_BGC%BDRD\n"
        "  run type    : hybrid, continue_run = TRUE (inittype = FALSE)\n"
        "  stop option : nmonths, stop_n = 6\n"
        "  run length  : 181 days (180.97916666666666 for ocean)\n"
    )
    out = parse.timing(text)
    assert out["lid"] == "9459679.chadmin1.180517-114852"
    assert (out["case"], out["machine"], out["user"]) == (
        "b.e21.B1850.f09_g17.001",
        "cheyenne",
        "jdoe",
    )
    assert out["case_root"] == "/glade/u/home/jdoe/cases/b.e21.B1850.f09_g17.001"
    assert out["grid"].startswith("a%0.9x1.25")
    assert out["compset"].startswith("1850_CAM60")
    assert (out["run_type"], out["stop_option"], out["stop_n"]) == ("hybrid", "nmonths", "6")
    assert out["run_length_days"] == "181"


def test_git_files_give_tag_hash_branch_and_an_https_url() -> None:
    assert parse.git_describe("v2.0.0-beta.3-3091-g3219b44fc\n") == (
        "v2.0.0-beta.3-3091",
        "3219b44fc",
    )
    # Other describe outputs as SimBoard reads them: the text up to the first `-`, `-g<hash>`.
    assert parse.git_describe("release-2024-gabcdef1\n") == ("release", "abcdef1")
    assert parse.git_describe("not-a-tag") == ("not", None)
    assert parse.git_describe("") == (None, None)
    config = '[remote "origin"]\n\turl = git@github.com:E3SM-Project/E3SM.git\n'
    assert parse.git_remote_url(config) == "https://github.com/E3SM-Project/E3SM.git"
    assert parse.git_status("On branch feature/59-automate-ingestion\n")[0] == (
        "feature/59-automate-ingestion"
    )


def test_campaign_and_experiment_type_come_from_a_dotted_case_name() -> None:
    assert parse.derived_names("v3.LR.historical_0121") == {
        "campaign": "v3.LR.historical",
        "experiment_type": "historical",
    }
    assert parse.derived_names("plain_case_01") == {}


def test_simulation_dates_use_refdate_for_branch_runs_and_stop_n_units() -> None:
    run = {"RUN_TYPE": "branch", "RUN_STARTDATE": "1850-01-01", "RUN_REFDATE": "0201-01-01"}
    out = parse.simulation_dates({**run, "STOP_OPTION": "nmonths", "STOP_N": "14"})
    assert out == {"simulation_start_date": "0201-01-01", "simulation_end_date": "0202-03-01"}
    startup = {"RUN_TYPE": "startup", "RUN_STARTDATE": "1850-01-01"}
    dated = parse.simulation_dates({**startup, "STOP_OPTION": "date", "STOP_DATE": "18551231"})
    assert dated["simulation_end_date"] == "1855-12-31"
    assert "simulation_end_date" not in parse.simulation_dates({**startup, "STOP_OPTION": "nsteps"})


def test_case_and_output_root_variables_are_substituted_in_paths() -> None:
    values = {"CASE": "c1", "CIME_OUTPUT_ROOT": "/scratch"}
    assert parse.substitute("$CIME_OUTPUT_ROOT/$CASE/run", values) == "/scratch/c1/run"
    assert parse.substitute("${CIME_OUTPUT_ROOT}/archive/${CASE}", values) == "/scratch/archive/c1"
    assert parse.substitute("$CASEROOT/x", values) == "$CASEROOT/x"
