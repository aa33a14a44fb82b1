"""API tokens: random secrets shown once, stored as sha256 digests in the ledger's database.

Tokens carry 256 random bits, so a fast digest is enough (no password-stretching needed): a
stolen table reveals no usable token. Lookups are cached briefly so a read costs no extra query;
a revoked token stops working within `cache_seconds` on every server process.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from ...domain.errors import DomainError
from ..events.ddl import write_transaction

Scope = Literal["read", "write"]
SCOPES: tuple[Scope, ...] = ("read", "write")
TOKEN_PREFIX = "plt_"  # noqa: S105 (a prefix, not a secret)
TABLE = "api_tokens"


class TokenError(DomainError):
    """A token command that cannot be done (unknown scope, unknown token)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's id, name and scope (`anonymous` for public reads)."""

    token_id: str | None
    name: str
    scope: Scope
    created_at: str | None = None

    def can(self, scope: Scope) -> bool:
        return self.scope == "write" or scope == "read"


ANONYMOUS = Principal(None, "anonymous", "read")


@dataclass(frozen=True)
class IssuedToken:
    principal: Principal
    secret: str  # shown once, never stored


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenStore(Protocol):
    def create(self, scope: str, name: str | None = None) -> IssuedToken: ...

    def lookup(self, secret: str) -> Principal | None: ...

    def cached(self, secret: str) -> tuple[bool, Principal | None]:
        """(hit, principal) without I/O: a hit answers as lookup() would."""
        ...

    def list(self) -> list[Principal]: ...

    def revoke(self, ref: str) -> Principal: ...


def _new(scope: str, name: str | None) -> tuple[IssuedToken, str]:
    if scope not in SCOPES:
        raise TokenError(f"unknown scope {scope!r}; choose one of {', '.join(SCOPES)}")
    token_id = uuid.uuid4().hex[:12]
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    created = datetime.now(UTC).isoformat()
    principal = Principal(token_id, name or f"token-{token_id}", scope, created)
    return IssuedToken(principal, secret), digest(secret)


class _Cache:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._items: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[bool, Principal | None]:
        hit = self._items.get(key)
        if hit is None or hit[0] < time.monotonic():
            return False, None
        return True, hit[1]

    def put(self, key: str, value: Principal | None) -> None:
        with self._lock:
            if len(self._items) > 10_000:
                self._items.clear()
            self._items[key] = (time.monotonic() + self.seconds, value)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class SqlTokenStore:
    """Tokens in the `api_tokens` table of the ledger database (SQLite or Postgres)."""

    def __init__(self, datastore: Any, dialect: str, cache_seconds: float = 5.0) -> None:
        self.datastore = datastore
        self.backend = dialect
        self.mark = "?" if dialect == "sqlite" else "%s"
        self._cache = _Cache(cache_seconds)
        with write_transaction(self.datastore, dialect, schema=True) as c:
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} (id TEXT PRIMARY KEY, name TEXT NOT NULL, "
                "scope TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, "
                "revoked_at TEXT)"
            )

    def _sql(self, statement: str) -> str:
        return statement.replace("?", self.mark)

    def create(self, scope: str, name: str | None = None) -> IssuedToken:
        issued, hashed = _new(scope, name)
        p = issued.principal
        with write_transaction(self.datastore, self.backend) as c:  # reads, then writes
            c.execute(
                self._sql(f"SELECT id FROM {TABLE} WHERE name = ? AND revoked_at IS NULL"),
                (p.name,),
            )
            if c.fetchone() is not None:
                raise TokenError(f"a token named {p.name!r} exists; revoke it or pick another name")
            c.execute(
                self._sql(
                    f"INSERT INTO {TABLE} (id, name, scope, token_hash, created_at) "
                    "VALUES (?, ?, ?, ?, ?)"
                ),
                (p.token_id, p.name, p.scope, hashed, p.created_at),
            )
        return issued

    def cached(self, secret: str) -> tuple[bool, Principal | None]:
        return self._cache.get(digest(secret))

    def lookup(self, secret: str) -> Principal | None:
        key = digest(secret)
        hit, principal = self._cache.get(key)
        if hit:
            return principal
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                self._sql(
                    f"SELECT id, name, scope, created_at FROM {TABLE} "
                    "WHERE token_hash = ? AND revoked_at IS NULL"
                ),
                (key,),
            )
            row = c.fetchone()
        principal = (
            Principal(row["id"], row["name"], row["scope"], row["created_at"]) if row else None
        )
        self._cache.put(key, principal)
        return principal

    def list(self) -> list[Principal]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT id, name, scope, created_at FROM {TABLE} "
                "WHERE revoked_at IS NULL ORDER BY created_at"
            )
            rows = c.fetchall()
        return [Principal(r["id"], r["name"], r["scope"], r["created_at"]) for r in rows]

    def revoke(self, ref: str) -> Principal:
        """Revoke by id or name; the row stays (revoked_at set) so history keeps the name."""
        with write_transaction(self.datastore, self.backend) as c:  # reads, then writes
            c.execute(
                self._sql(
                    f"SELECT id, name, scope, created_at FROM {TABLE} "
                    "WHERE (id = ? OR name = ?) AND revoked_at IS NULL"
                ),
                (ref, ref),
            )
            rows = c.fetchall()
            if not rows:
                raise TokenError(f"no active token with id or name {ref!r}")
            row = rows[0]
            c.execute(
                self._sql(f"UPDATE {TABLE} SET revoked_at = ? WHERE id = ?"),
                (datetime.now(UTC).isoformat(), row["id"]),
            )
        self._cache.clear()
        return Principal(row["id"], row["name"], row["scope"], row["created_at"])


class MemoryTokenStore:
    """In-memory fake beside SqlTokenStore."""

    def __init__(self) -> None:
        self._by_hash: dict[str, Principal] = {}

    def create(self, scope: str, name: str | None = None) -> IssuedToken:
        issued, hashed = _new(scope, name)
        if any(p.name == issued.principal.name for p in self._by_hash.values()):
            raise TokenError(f"a token named {issued.principal.name!r} exists")
        self._by_hash[hashed] = issued.principal
        return issued

    def cached(self, secret: str) -> tuple[bool, Principal | None]:
        return True, self._by_hash.get(digest(secret))

    def lookup(self, secret: str) -> Principal | None:
        return self._by_hash.get(digest(secret))

    def list(self) -> list[Principal]:
        return list(self._by_hash.values())

    def revoke(self, ref: str) -> Principal:
        for key, p in list(self._by_hash.items()):
            if ref in (p.token_id, p.name):
                return self._by_hash.pop(key)
        raise TokenError(f"no active token with id or name {ref!r}")


def token_store_for(ledger: Any) -> TokenStore:
    """The token store in the ledger's own database (the eventsourcing datastore)."""
    events = ledger.events
    backend = getattr(events, "backend", None)
    if backend not in ("sqlite", "postgres"):
        return MemoryTokenStore()
    return SqlTokenStore(events.recorder.datastore, backend)
