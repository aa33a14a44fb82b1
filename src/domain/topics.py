"""Every stored topic, stable whatever module the classes move to.

Stored events name these strings, never Python paths. When an event's shape changes, bump its
`class_version` and add `upcast_vN_vN+1` (see docs/events.md).
"""

from __future__ import annotations

from eventsourcing.utils import register_topic

from .base import LedgerEvent
from .case import Case
from .execution import Execution

STORED_CLASSES: tuple[type, ...] = (
    LedgerEvent,
    Case,
    Case.Event,
    Case.Created,
    Case.Opened,
    Case.CanonicalChosen,
    Case.Grouped,
    Execution,
    Execution.Event,
    Execution.Created,
    Execution.Recorded,
    Execution.Annotated,
    Execution.RecordPersisted,
    Execution.Finished,
    Execution.Updated,
    Execution.Observed,
    Execution.Reused,
    Execution.ReproductionRequested,
    Execution.Published,
    Execution.Retracted,
    Execution.Committed,
    Execution.Pushed,
)


def register_topics() -> None:
    """Make every stable topic resolvable (idempotent)."""
    for cls in STORED_CLASSES:
        register_topic(cls.TOPIC, cls)  # type: ignore[attr-defined]
