import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from provledger.adapters.readers.files import RecordFileError
from provledger.adapters.readers.records import read_record_file
from provledger.domain.record import Status

MB = 1_000_000

DISSMODEL_NEW = {
    "experiment_id": "7ff5857ee5ae408f8dec88ff79cf7bdc",
    "created_at": "2026-09-22T11:48:28.107811Z",
    "model_name": "local",
    "model_commit": "local-cli",
    "code_version": "dev",
    "resolved_spec": {"model": {"name": "lucc_discrete", "parameters": {"n_steps": 6}}},
    "source": {"type": "local", "uri": "data/in.zip", "checksum": "6" * 64},
    "parameters": {"n_steps": 6},
    "output_path": "outputs/result_7ff5857e.tif",
    "artifacts": {"output": "9" * 64, "profiling": "2" * 64},
    "metrics": {"time_total_sec": 3.184, "1": {"uso": {"match_pct": 97.5}}},
    "status": "completed",
    "logs": ["Saved"],
}


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def test_a_dissmodel_record_maps_to_a_provledger_record(tmp_path: Path) -> None:
    record = read_record_file(write(tmp_path, "r.record.json", json.dumps(DISSMODEL_NEW)), MB)
    assert (record.execution_id, record.case, record.status) == (
        "7ff5857ee5ae408f8dec88ff79cf7bdc",
        "lucc_discrete",
        Status.SUCCEEDED,
    )
    assert record.outputs[0].sha256 == "9" * 64
    assert record.inputs[0].sha256 == "6" * 64
    assert record.metrics["uso.match_pct"][0].step == 1
    assert record.source is not None
    assert record.source.importer == "dissmodel"


def test_the_old_dissmodel_output_sha256_shape_and_naive_dates_are_read(tmp_path: Path) -> None:
    old = {**DISSMODEL_NEW, "created_at": "2026-04-19T23:16:14.643190", "output_sha256": "8" * 64}
    del old["artifacts"]
    record = read_record_file(write(tmp_path, "experiment_record.json", json.dumps(old)), MB)
    assert record.outputs[0].sha256 == "8" * 64
    assert record.started == datetime(2026, 4, 19, 23, 16, 14, 643190, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("bad.json", '{"execution_id": "a", ', "malformed JSON"),
        ("bad.toml", "execution_id = ", "malformed TOML"),
        ("bad.yaml", "execution_id: [a", "malformed YAML"),
        ("status.json", '{"execution_id": "a", "case": "c", "status": "done"}', "Invalid enum"),
        ("noid.json", '{"case": "c", "status": "succeeded"}', "not a record"),
        ("slash.json", '{"execution_id": "a/b", "case": "c"}', "path separators"),
        ("ctrl.json", '{"execution_id": "a\\u0007", "case": "c"}', "control characters"),
        ("list.json", "[1, 2]", "a record is an object"),
        ("type.json", '{"execution_id": "a", "case": "c", "params": 3}', "Expected `object`"),
    ],
)
def test_a_bad_record_file_gets_an_error_naming_the_file(
    tmp_path: Path, name: str, content: str, expected: str
) -> None:
    path = write(tmp_path, name, content)
    with pytest.raises(RecordFileError, match=expected) as error:
        read_record_file(path, MB)
    assert str(path) in str(error.value)


def test_the_error_names_the_field_that_is_wrong(tmp_path: Path) -> None:
    path = write(tmp_path, "r.json", '{"execution_id": "a", "case": "c", "status": "done"}')
    with pytest.raises(RecordFileError) as error:
        read_record_file(path, MB)
    assert error.value.field == "status"


def test_a_record_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.record.json"
    with path.open("wb") as f:
        f.truncate(100 * MB)  # sparse: 100 MB on paper, nothing on disk
    with pytest.raises(RecordFileError, match=r"100\.0 MB, over the 16\.8 MB record limit"):
        read_record_file(path, 16 * 1024 * 1024)


def test_an_unknown_dissmodel_status_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "r.json", json.dumps({**DISSMODEL_NEW, "status": "exploded"}))
    with pytest.raises(RecordFileError, match="unknown DissModel status 'exploded'"):
        read_record_file(path, MB)
