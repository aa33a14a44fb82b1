"""Sync adapters: the remote registry and the HTTP client of a remote ledger."""
