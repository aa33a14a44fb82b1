"""A msgspec mapper: domain events <-> stored events, with stable topics and upcasting."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent
from eventsourcing.utils import get_topic, resolve_topic

from ..domain.topics import register_topics

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


class MsgspecMapper(Mapper[UUID]):
    """Stores each event's state as compact JSON; reads it back into the typed event class.

    Upcasting: when a stored state's `class_version` is below the class's, the class's
    `upcast_vN_vN+1(state)` static methods run in turn on the plain dict before conversion.
    """

    def __init__(self) -> None:
        register_topics()
        super().__init__(transcoder=None)  # type: ignore[arg-type]

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=get_topic(type(domain_event)),
            state=_encoder.encode(state),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        cls = resolve_topic(stored_event.topic)
        try:
            state: dict[str, Any] = _decoder.decode(stored_event.state)
            state["originator_id"] = stored_event.originator_id
            state["originator_version"] = stored_event.originator_version
            upcast(cls, state)
            event: DomainEventProtocol[UUID] = msgspec.convert(state, cls, strict=False)
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            msg = (
                f"cannot read stored event {stored_event.topic!r} of "
                f"{stored_event.originator_id} v{stored_event.originator_version}: {e}"
            )
            raise MapperDeserialisationError(msg) from e
        return event


def upcast(cls: type, state: dict[str, Any]) -> None:
    """Bring an old event state up to the class's current version, in place."""
    target = getattr(cls, "class_version", 1)
    version = state.pop("class_version", 1)
    while version < target:
        getattr(cls, f"upcast_v{version}_v{version + 1}")(state)
        version += 1
