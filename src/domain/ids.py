"""Deterministic identities from natural keys, so every ledger derives the same ids."""

from __future__ import annotations

from functools import lru_cache
from uuid import UUID, uuid5

# Fixed forever: changing it would change every id ever derived.
PROVLEDGER_NAMESPACE = UUID("6f1c2a8e-5b0e-4c55-9a53-8e4f1b7d2c10")
DEFAULT_NAMESPACE = "default"


def split_case_key(key: str, default_namespace: str = DEFAULT_NAMESPACE) -> tuple[str, str]:
    """`ns/name` -> (ns, name); a bare `name` goes in the default namespace."""
    namespace, sep, name = key.partition("/")
    if not sep:
        return default_namespace, key
    return namespace, name


@lru_cache(maxsize=65_536)  # pure, and asked for many times per recorded execution
def case_id(namespace: str, name: str) -> UUID:
    return uuid5(PROVLEDGER_NAMESPACE, f"case:{namespace}/{name}")


@lru_cache(maxsize=65_536)
def execution_id(case: UUID, external_id: str) -> UUID:
    return uuid5(PROVLEDGER_NAMESPACE, f"execution:{case}/{external_id}")
