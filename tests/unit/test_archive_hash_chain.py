import msgspec

from provledger.application.stored_log import GENESIS, event_digest
from tests.fakes import memory_ledger
from tests.unit.archive_support import raw_log_of
from tests.unit.records import make_record


def test_each_stored_event_carries_the_hash_of_its_aggregates_previous_event() -> None:
    ledger, _ = memory_ledger()
    ledger.record([make_record("a")])
    ledger.annotate("a", tags={"k": "v"})
    ledger.annotate("a", note="again")
    rows = [r for r in raw_log_of(ledger).stored if r.topic.startswith("provledger:Execution")]
    assert [r.version for r in rows] == [1, 2, 3]
    prevs = [msgspec.json.decode(r.state)["_prev"] for r in rows]
    assert prevs[0] == GENESIS
    for before, prev in zip(rows, prevs[1:], strict=False):
        assert prev == event_digest(
            before.originator_id, before.version, before.topic, before.state
        )


def test_the_chain_stays_out_of_the_domain_events() -> None:
    ledger, _ = memory_ledger()
    ledger.record([make_record("a")])
    (event,) = [e.event for e in ledger.history("a")]
    assert not hasattr(event, "_prev")
    assert ledger.record_of("a").execution_id == "a"


def test_a_fresh_mapper_chains_from_the_stored_previous_event() -> None:
    ledger, _ = memory_ledger()
    ledger.record([make_record("a")])
    mapper = ledger.events.app.mapper  # type: ignore[attr-defined]
    mapper._digests.clear()  # as after a restart: the previous digest comes from the recorder
    ledger.annotate("a", tags={"k": "v"})
    rows = [r for r in raw_log_of(ledger).stored if r.topic.startswith("provledger:Execution")]
    first, second = rows
    assert msgspec.json.decode(second.state)["_prev"] == event_digest(
        first.originator_id, first.version, first.topic, first.state
    )
