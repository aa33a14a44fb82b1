"""The hash chain holds when two ledgers (two mappers, two LRUs) append to the same aggregates."""

from __future__ import annotations

import threading

from provledger.adapters.archive import raw_log_of
from provledger.adapters.bootstrap import bootstrap
from provledger.adapters.settings import Settings
from provledger.application.audit import AuditReport, check_chains
from tests.unit.records import make_record


def test_chains_stay_intact_when_two_writers_race_on_the_same_executions(
    settings: Settings,
) -> None:
    first, second = bootstrap(settings), bootstrap(settings)
    try:
        first.record([make_record(f"r{i}", minutes=i) for i in range(3)])
        second.catch_up()

        def annotate(ledger: object, tag: str) -> None:
            for n in range(15):
                ledger.annotate(f"r{n % 3}", tags={tag: str(n)})  # type: ignore[attr-defined]

        threads = [
            threading.Thread(target=annotate, args=(first, "a")),
            threading.Thread(target=annotate, args=(second, "b")),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        report = AuditReport()
        check_chains(raw_log_of(first), report, str)
        assert report.ok, report.discrepancies
        assert report.unchained == 0
        assert (
            report.events == raw_log_of(first).count() == 35
        )  # opened, canonical, 3 runs, 30 tags
    finally:
        first.close()
        second.close()
