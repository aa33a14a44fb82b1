"""Sync between ledgers: commit, push, receive (server side), status (docs/sync.md)."""
