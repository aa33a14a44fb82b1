"""Settings from the environment (`PROVLEDGER_*`), validated once by the composition root."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .events.settings import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_POOL_SIZE,
    DEFAULT_PROJECTION_BATCH_SIZE,
    StoreSettings,
    checked_database_url,
    checked_home,
)


class Settings(BaseSettings):
    """Where the ledger lives and how it behaves. Every field has an environment variable."""

    model_config = SettingsConfigDict(env_prefix="PROVLEDGER_", extra="ignore")

    home: Path = Field(default_factory=lambda: Path.cwd() / ".provledger")
    database_url: str | None = None
    archive_url: str | None = None
    batch_size: int = Field(default=DEFAULT_BATCH_SIZE, ge=1, le=100_000)
    projection_batch_size: int = Field(default=DEFAULT_PROJECTION_BATCH_SIZE, ge=1, le=100_000)
    max_record_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    pool_size: int = Field(default=DEFAULT_POOL_SIZE, ge=1, le=100)
    # Archive (docs/archive.md): endpoint/region default to the standard AWS variables.
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    archive_segment_events: int = Field(default=100_000, ge=1, le=10_000_000)
    archive_interval: float = Field(default=60.0, ge=0)  # persister: ship the log this often
    persist_interval: float = Field(default=1.0, gt=0)  # persister: poll the log this often
    snapshot_interval: float = Field(default=0.0, ge=0)  # worker: snapshot this often; 0: never
    # Service (docs/operations.md): /metrics behind a read token; /readyz's lag threshold.
    metrics_need_token: bool = False
    ready_max_lag: int = Field(default=10_000, ge=0)

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str | None) -> str | None:
        return checked_database_url(value)

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
        checked_home(self.home)
        return self

    def store(self) -> StoreSettings:
        """The part of the settings that opens the event store."""
        return StoreSettings(
            home=self.home,
            database_url=self.database_url,
            batch_size=self.batch_size,
            pool_size=self.pool_size,
            projection_batch_size=self.projection_batch_size,
        )

    @property
    def backend(self) -> str:
        return self.store().backend

    @property
    def sqlite_path(self) -> Path:
        return self.store().sqlite_path

    def eventsourcing_env(self) -> dict[str, str]:
        """The environment the eventsourcing library reads its persistence settings from."""
        return self.store().eventsourcing_env()
