"""Use cases: each module holds one command or query and its handler."""
