"""The composition root: builds a wired Ledger when called, never at import."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..application.ledger import Ledger, ReadSide
from ..domain.deltas import DeltaPolicies
from .events.ddl import ledger_id
from .events.settings import StoreSettings
from .events.store import EventsourcingEventStore
from .readers.policies import importer_policies

if TYPE_CHECKING:
    from .settings import Settings


def bootstrap(settings: Settings | StoreSettings | None = None) -> Ledger:
    """Event store, use cases, and (built on first use) read models and projection runner.

    Without settings they are read (and validated) from the environment."""
    if settings is None:
        from .settings import Settings

        settings = Settings()
    if not isinstance(settings, StoreSettings):
        settings = settings.store()
    if settings.backend == "sqlite":
        settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    events = EventsourcingEventStore(settings.eventsourcing_env())
    datastore = events.recorder.datastore
    policies = DeltaPolicies(by_source=importer_policies())
    backend, batch_size = settings.backend, settings.batch_size
    projection_batch_size = settings.projection_batch_size

    def read_side() -> ReadSide:
        from ..projections.runner import ProjectionRunner
        from ..projections.views import CasesView, ExecutionsView, SearchView
        from .sqlviews.queries import SqlQueries
        from .sqlviews.rows import SqlDialect
        from .sqlviews.views import SqlViewStore

        dialect = SqlDialect(backend)
        views = SqlViewStore(datastore, dialect)
        projections = [CasesView(), ExecutionsView(policies), SearchView()]
        runner = ProjectionRunner(events, views, projections, batch_size=projection_batch_size)
        return ReadSide(runner, SqlQueries(datastore, dialect))

    return Ledger(
        events,
        read_side,
        batch_size=batch_size,
        policies=policies,
        ledger_id=ledger_id(datastore, backend),
    )
