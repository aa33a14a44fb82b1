"""The documented upcasting path: bump class_version, add upcast_vN_vN+1."""

from typing import Any, ClassVar

from eventsourcing.persistence import StoredEvent

from provledger.adapters.events.mapper import MsgspecMapper
from provledger.domain.case import Case
from provledger.domain.ids import case_id


class OpenedV2(Case.Opened):
    """A future CaseOpened that also carries a description."""

    TOPIC = "provledger:test.CaseOpenedV2"
    class_version: ClassVar[int] = 2
    description: str

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["description"] = ""


def test_an_event_stored_by_an_older_version_is_upcast_when_read() -> None:
    mapper = MsgspecMapper()
    old = Case.open("default", "ocean").collect_events()[0]
    stored = mapper.to_stored_event(old)
    from eventsourcing.utils import register_topic

    register_topic(OpenedV2.TOPIC, OpenedV2)
    as_v2 = StoredEvent(
        stored.originator_id, stored.originator_version, OpenedV2.TOPIC, stored.state
    )
    event = mapper.to_domain_event(as_v2)
    assert isinstance(event, OpenedV2)
    assert event.description == ""
    assert event.name == "ocean"
    assert event.originator_id == case_id("default", "ocean")


def test_an_event_of_a_version_one_class_reads_back_equal_to_what_was_stored() -> None:
    mapper = MsgspecMapper()
    opened = Case.open("default", "ocean").collect_events()[0]
    assert mapper.decode(mapper.to_stored_event(opened)) == opened


def test_an_unreadable_stored_event_names_its_topic_originator_and_version() -> None:
    import pytest
    from eventsourcing.persistence import MapperDeserialisationError
    from eventsourcing.utils import register_topic

    register_topic(OpenedV2.TOPIC, OpenedV2)
    mapper = MsgspecMapper()
    stored = mapper.to_stored_event(Case.open("default", "ocean").collect_events()[0])
    for topic in (stored.topic, OpenedV2.TOPIC):  # straight into the class; through upcasters
        for state in (b'{"name": 7}', b"{not json"):
            broken = StoredEvent(stored.originator_id, 1, topic, state)
            with pytest.raises(MapperDeserialisationError) as raised:
                mapper.decode(broken)
            assert f"{topic!r} of {stored.originator_id} v1" in str(raised.value)
