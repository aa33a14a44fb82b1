"""`sys.exit()` inside `with provledger.track(...)`: code 0 or None ends it succeeded."""

from __future__ import annotations

import sys

import pytest

from provledger.sdk import MemoryBackend, track


@pytest.mark.parametrize(
    ("code", "status"),
    [(None, "Completed"), (0, "Completed"), (1, "Failed"), (3, "Failed"), ("bad input", "Failed")],
)
def test_sys_exit_in_the_block_ends_the_run_by_its_exit_code(code: object, status: str) -> None:
    backend = MemoryBackend()
    with (
        pytest.raises(SystemExit),
        track(case="heat", backend=backend, capture_environment=False) as run,
    ):
        sys.exit(code)
    assert backend.load(run.run_id).status == status
