"""Settings from the environment (`PROVLEDGER_*`), validated once by the composition root."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

UNPIPELINED_RECORDER_TOPIC = (
    "provledger.adapters.postgres.recorder:UnpipelinedPostgresApplicationRecorder"
)


class Settings(BaseSettings):
    """Where the ledger lives and how it behaves. Every field has an environment variable."""

    model_config = SettingsConfigDict(env_prefix="PROVLEDGER_", extra="ignore")

    home: Path = Field(default_factory=lambda: Path.cwd() / ".provledger")
    database_url: str | None = None
    archive_url: str | None = None
    batch_size: int = Field(default=1000, ge=1, le=100_000)
    max_record_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    pool_size: int = Field(default=5, ge=1, le=100)
    # Archive (docs/archive.md): endpoint/region default to the standard AWS variables.
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    archive_segment_events: int = Field(default=100_000, ge=1, le=10_000_000)
    archive_interval: float = Field(default=60.0, ge=0)  # persister: ship the log this often
    persist_interval: float = Field(default=1.0, gt=0)  # persister: poll the log this often

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        scheme = urlparse(value).scheme
        if scheme not in ("sqlite", "postgresql", "postgres"):
            msg = f"must be sqlite:///PATH or postgresql://…, not a {scheme!r} URL"
            raise ValueError(msg)
        return value

    @field_validator("archive_url")
    @classmethod
    def _archive_scheme(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        scheme = urlparse(value).scheme
        if scheme not in ("s3", "file"):
            msg = f"must be s3://bucket/prefix or file:///path, not a {scheme or 'bare'!r} URL"
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _home_is_a_directory(self) -> Settings:
        if self.home.exists() and not self.home.is_dir():
            msg = f"PROVLEDGER_HOME {self.home} exists and is not a directory"
            raise ValueError(msg)
        return self

    @property
    def backend(self) -> str:
        if self.database_url and urlparse(self.database_url).scheme.startswith("postgres"):
            return "postgres"
        return "sqlite"

    @property
    def sqlite_path(self) -> Path:
        if self.database_url:
            return Path(unquote(urlparse(self.database_url).path))
        return self.home / "ledger.sqlite3"

    def eventsourcing_env(self) -> dict[str, str]:
        """The environment the eventsourcing library reads its persistence settings from."""
        if self.backend == "sqlite":
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(self.sqlite_path),
                "SQLITE_LOCK_TIMEOUT": "30",
            }
        return {"PERSISTENCE_MODULE": "eventsourcing.postgres", **postgres_env(self)}


def postgres_env(settings: Settings) -> dict[str, str]:
    """postgresql://user:pw@host:port/db?host=/socket/dir -> POSTGRES_* variables."""
    assert settings.database_url is not None
    url = urlparse(settings.database_url)
    query: dict[str, Any] = {k: v[-1] for k, v in parse_qs(url.query).items()}
    host = query.get("host") or url.hostname or "localhost"
    # The recorder's optional stored functions stay off: they lost events under concurrent
    # writers (docs/adr/0002).
    return {
        "POSTGRES_DBNAME": unquote(url.path.lstrip("/")) or "provledger",
        "POSTGRES_HOST": host,
        "POSTGRES_PORT": str(query.get("port") or url.port or 5432),
        "POSTGRES_USER": unquote(url.username or query.get("user") or "postgres"),
        "POSTGRES_PASSWORD": unquote(url.password or query.get("password") or ""),
        "POSTGRES_POOL_SIZE": str(settings.pool_size),
        "POSTGRES_MAX_OVERFLOW": str(settings.pool_size * 2),
        "POSTGRES_LOCK_TIMEOUT": "30",
        "POSTGRES_CONNECT_TIMEOUT": "10",
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "60",
        # Inserts without psycopg's pipeline mode, which can hang on large saves (ADR 0004).
        "APPLICATION_RECORDER_TOPIC": UNPIPELINED_RECORDER_TOPIC,
    }
