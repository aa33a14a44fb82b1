"""Infrastructure: event store, read models, archive, readers, HTTP API and CLI."""
