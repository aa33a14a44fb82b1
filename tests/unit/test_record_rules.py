import pytest

from provledger.domain.errors import InvalidRecordError
from provledger.domain.record import FileRef
from provledger.domain.rules import validated
from tests.unit.records import T0, make_record


@pytest.mark.parametrize(
    "bad_id", ["", "  ", "a/b", "a\\b", "..", "run\n1", "run\x00", "x" * 201, " lead"]
)
def test_an_execution_id_that_cannot_be_a_path_segment_is_refused(bad_id: str) -> None:
    with pytest.raises(InvalidRecordError) as error:
        validated(make_record(bad_id))
    assert error.value.field == "execution_id"


def test_a_case_name_with_a_control_character_is_refused() -> None:
    with pytest.raises(InvalidRecordError, match="control characters") as error:
        validated(make_record(case="bad\x07case"))
    assert error.value.field == "case"


def test_a_file_checksum_must_be_a_sha256() -> None:
    with pytest.raises(InvalidRecordError) as error:
        validated(make_record(outputs=[FileRef(uri="out.nc", sha256="abc")]))
    assert error.value.field == "outputs[0].sha256"


def test_an_execution_cannot_end_before_it_starts() -> None:
    with pytest.raises(InvalidRecordError, match="before it starts") as error:
        validated(make_record(ended=T0.replace(year=2020)))
    assert error.value.field == "ended"


def test_naive_times_are_read_as_utc() -> None:
    record = validated(make_record(started=None, ended=T0.replace(tzinfo=None)))
    assert record.ended == T0
