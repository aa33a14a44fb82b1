import json
from pathlib import Path

import msgspec

from provledger.domain.record import ExecutionRecord

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "record-format.schema.json"


def test_the_documented_json_schema_is_the_records_own() -> None:
    generated = msgspec.json.schema(ExecutionRecord)
    assert json.loads(SCHEMA.read_text()) == json.loads(json.dumps(generated))
