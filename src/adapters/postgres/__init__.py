"""PostgreSQL specifics: the application recorder provledger uses (see docs/adr/0004)."""
