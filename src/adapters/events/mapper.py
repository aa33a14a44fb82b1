"""A msgspec mapper: domain events <-> stored events, with stable topics, upcasting and a
per-aggregate hash chain (docs/adr/0003-event-hash-chain.md)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Literal, Protocol
from uuid import UUID

import msgspec
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent
from eventsourcing.utils import get_topic, resolve_topic

from ...application.stored_log import CHAIN_KEY, GENESIS, event_digest
from ...domain.topics import register_topics

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()

PREV_KEY = CHAIN_KEY


class _StoredEvents(Protocol):
    def select_events(
        self, originator_id: Any, *, gt: int | None = None, lte: int | None = None
    ) -> Any: ...


class MsgspecMapper(Mapper[UUID]):
    """Stores each event's state as compact JSON; reads it back into the typed event class.

    Hash chain: the stored state of event v of an aggregate carries `_prev`, the digest of the
    aggregate's stored event v-1 (GENESIS for v1). Digests of events just encoded or decoded
    are kept in an LRU; on a miss the previous event is read from `recorder` (set by the event
    store once the application has built it). `_prev` never reaches the domain event.

    Upcasting: when a stored state's `class_version` is below the class's, the class's
    `upcast_vN_vN+1(state)` static methods run in turn on the plain dict before conversion.
    """

    def __init__(self, chain_cache_size: int = 100_000) -> None:
        register_topics()
        super().__init__(transcoder=None)  # type: ignore[arg-type]
        self.recorder: _StoredEvents | None = None
        self._digests: OrderedDict[tuple[UUID, int], str] = OrderedDict()
        self._cache_size = chain_cache_size
        self._typed: dict[str, Callable[[bytes], Any] | Literal[False]] = {}

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        state[PREV_KEY] = self._previous_digest(originator_id, originator_version)
        topic = get_topic(type(domain_event))
        encoded = _encoder.encode(state)
        self._remember(originator_id, originator_version, topic, encoded)
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=topic,
            state=encoded,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        """Decode, and remember the digest: the aggregate may be about to get a new event."""
        event = self.decode(stored_event)
        self._remember(
            stored_event.originator_id,
            stored_event.originator_version,
            stored_event.topic,
            stored_event.state,
        )
        return event

    def decode(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        """Decode only: for readers of the log (projections, replay) that never append."""
        typed = self._typed.get(stored_event.topic)
        if typed is None:
            typed = self._typed[stored_event.topic] = _typed_decoder(stored_event.topic)
        if typed is not False:
            # The identity goes in front of the stored state, and the event class is decoded
            # straight from the bytes: half the time of a dict first and then `convert`.
            state = stored_event.state
            head = b'{"originator_id":"%s","originator_version":%d%s' % (
                str(stored_event.originator_id).encode(),
                stored_event.originator_version,
                b"," if state[1:2] != b"}" else b"",
            )
            try:
                event: DomainEventProtocol[UUID] = typed(head + state[1:])
            except (msgspec.DecodeError, msgspec.ValidationError) as e:
                raise _unreadable(stored_event, e) from e
            return event
        return self._decode_upcasting(stored_event)

    def _decode_upcasting(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        """Through a plain dict, which the class's `upcast_vN_vN+1` methods bring up to date."""
        cls = resolve_topic(stored_event.topic)
        try:
            state: dict[str, Any] = _decoder.decode(stored_event.state)
            state.pop(PREV_KEY, None)
            state["originator_id"] = stored_event.originator_id
            state["originator_version"] = stored_event.originator_version
            upcast(cls, state)
            event: DomainEventProtocol[UUID] = msgspec.convert(state, cls, strict=False)
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            raise _unreadable(stored_event, e) from e
        return event

    # -- the chain --------------------------------------------------------------------------
    def _remember(self, originator_id: Any, version: int, topic: str, state: bytes) -> None:
        key = (_as_uuid(originator_id), version)
        self._digests[key] = event_digest(key[0], version, topic, state)
        self._digests.move_to_end(key)
        if len(self._digests) > self._cache_size:
            self._digests.popitem(last=False)

    def _previous_digest(self, originator_id: Any, version: int) -> str:
        if version <= 1:
            return GENESIS
        key = (_as_uuid(originator_id), version - 1)
        digest = self._digests.get(key)
        if digest is not None:
            return digest
        if self.recorder is None:
            msg = f"cannot chain event v{version} of {originator_id}: the mapper has no recorder"
            raise MapperDeserialisationError(msg)
        found = self.recorder.select_events(key[0], gt=version - 2, lte=version - 1)
        if not found:
            msg = f"cannot chain event v{version} of {originator_id}: v{version - 1} is not stored"
            raise MapperDeserialisationError(msg)
        previous = found[0]
        return event_digest(key[0], version - 1, previous.topic, previous.state)


def _typed_decoder(topic: str) -> Callable[[bytes], Any] | Literal[False]:
    """A decoder straight into the topic's class, or False when its stored states may be
    older than the class (class_version above 1): those go through the upcasters."""
    cls = resolve_topic(topic)
    if getattr(cls, "class_version", 1) > 1:
        return False
    return msgspec.json.Decoder(cls, strict=False).decode


def _unreadable(stored_event: StoredEvent, error: Exception) -> MapperDeserialisationError:
    return MapperDeserialisationError(
        f"cannot read stored event {stored_event.topic!r} of "
        f"{stored_event.originator_id} v{stored_event.originator_version}: {error}"
    )


def _as_uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def upcast(cls: type, state: dict[str, Any]) -> None:
    """Bring an old event state up to the class's current version, in place."""
    target = getattr(cls, "class_version", 1)
    version = state.pop("class_version", 1)
    while version < target:
        getattr(cls, f"upcast_v{version}_v{version + 1}")(state)
        version += 1
