"""The composition root: builds a wired Ledger when called, never at import."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..application.ledger import Ledger
from ..domain.deltas import DeltaPolicies
from ..projections.runner import ProjectionRunner
from ..projections.views import CasesView, ExecutionsView
from .eventstore import EventsourcingEventStore
from .readers.policies import importer_policies
from .sql_queries import SqlQueries
from .sql_views import SqlDialect, SqlViewStore
from .store import StoreSettings

if TYPE_CHECKING:
    from .settings import Settings


def bootstrap(settings: Settings | StoreSettings | None = None) -> Ledger:
    """Event store, read models, projection runner and use cases, for the configured backend.

    Without settings they are read (and validated) from the environment."""
    if settings is None:
        from .settings import Settings

        settings = Settings()
    if not isinstance(settings, StoreSettings):
        settings = settings.store()
    if settings.backend == "sqlite":
        settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    events = EventsourcingEventStore(settings.eventsourcing_env())
    dialect = SqlDialect(settings.backend)
    datastore = events.recorder.datastore
    views = SqlViewStore(datastore, dialect)
    policies = DeltaPolicies(by_source=importer_policies())
    runner = ProjectionRunner(
        events, views, [CasesView(), ExecutionsView(policies)], batch_size=settings.batch_size
    )
    return Ledger(
        events,
        runner,
        SqlQueries(datastore, dialect),
        batch_size=settings.batch_size,
        policies=policies,
        ledger_id=views.ledger_id(),
    )
