"""Several processes opening a brand-new ledger at the same moment all start cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from provledger.adapters.settings import Settings

FIRST_START = """
import sys, time
from provledger.adapters.archive import raw_log_of
from provledger.adapters.bootstrap import bootstrap
from provledger.adapters.http.tokens import token_store_for
start = float(sys.argv[1])
time.sleep(max(0.0, start - time.time()))
ledger = bootstrap()
token_store_for(ledger).create("read", name=sys.argv[2])
raw_log_of(ledger).rows(0, 1)
print(ledger.ledger_id)
ledger.close()
"""


def test_processes_racing_to_create_every_table_all_start_and_share_one_ledger_id(
    settings: Settings,
) -> None:
    env = {**os.environ, "PROVLEDGER_HOME": str(settings.home)}
    env.pop("PROVLEDGER_DATABASE_URL", None)
    if settings.database_url:
        env["PROVLEDGER_DATABASE_URL"] = settings.database_url
    start = time.time() + 3.0  # every process is past its imports by then
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", FIRST_START, str(start), f"t{i}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(6)
    ]
    outcomes = [p.communicate(timeout=120) for p in procs]
    failures = [err for p, (_, err) in zip(procs, outcomes, strict=True) if p.returncode != 0]
    assert failures == []
    assert len({out.strip() for out, _ in outcomes}) == 1
