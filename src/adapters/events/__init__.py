"""The event store: eventsourcing 9.5 on SQLite or Postgres (store.py), the msgspec mapper with
its hash chain (mapper.py), the settings that open it (settings.py), shared DDL (ddl.py)."""
