"""Where the SDK sends runs: the embedded (or configured) ledger, or a provledger server."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from ..domain.record import ExecutionRecord
from .errors import TrackingError

if TYPE_CHECKING:
    import httpx

    from ..application.ledger import Ledger


class Backend(Protocol):
    def start(self, record: ExecutionRecord) -> None: ...

    def checkpoint(self, record: ExecutionRecord) -> None: ...

    def finish(self, record: ExecutionRecord) -> None: ...

    def close(self) -> None: ...


class LedgerBackend:
    """Offline: the ledger from PROVLEDGER_* settings (embedded SQLite unless configured)."""

    def __init__(self, ledger: Ledger | None = None, home: Path | None = None) -> None:
        from ..adapters.bootstrap import bootstrap
        from ..adapters.settings import Settings

        settings = Settings(home=home) if home is not None else Settings()
        self.home = settings.home
        self._owned = ledger is None
        self.ledger = ledger or bootstrap(settings)

    def start(self, record: ExecutionRecord) -> None:
        from ..application.capture import start_execution

        start_execution(self.ledger, record)

    def checkpoint(self, record: ExecutionRecord) -> None:
        return None  # the event log keeps final records only; metrics stay buffered

    def finish(self, record: ExecutionRecord) -> None:
        from ..application.capture import finish_execution

        finish_execution(self.ledger, record)

    def close(self) -> None:
        if self._owned:
            self.ledger.close()


class AttachedBackend:
    """Inside `provledger run`: the block's record goes to the run's folder, and `run` folds it
    into its own execution (adapters/capture/attach.py); nothing is recorded here."""

    def __init__(self, directory: Path) -> None:
        import uuid

        self.directory = directory
        self.block_id = uuid.uuid4().hex

    def start(self, record: ExecutionRecord) -> None:
        self._write(record)

    def checkpoint(self, record: ExecutionRecord) -> None:
        self._write(record)

    def finish(self, record: ExecutionRecord) -> None:
        self._write(record)

    def close(self) -> None:
        return None

    def _write(self, record: ExecutionRecord) -> None:
        from ..adapters.capture.attach import write_block

        write_block(self.directory, self.block_id, record)


class HttpBackend:
    """A provledger server: `POST /api/v1/executions` with `Authorization: Bearer TOKEN`.

    The final record is sent once, at the end. It is first written to a spool folder and
    removed only when the server accepted it, so a refused or unreachable server loses nothing
    (`provledger ingest SPOOL` or `HttpBackend.resend()` sends it later).
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        spool: Path | None = None,
        client: httpx.Client | None = None,
        timeout: float = 30.0,
    ) -> None:
        import httpx

        if not url.startswith(("http://", "https://")):
            raise TrackingError(f"server URL must start with http:// or https://, not {url!r}")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.url = url.rstrip("/")
        self.client = client or httpx.Client(base_url=self.url, timeout=timeout)
        self.client.headers.update(headers)
        self.spool = spool or Path(os.environ.get("PROVLEDGER_HOME", ".provledger")) / "spool"

    def start(self, record: ExecutionRecord) -> None:
        self._spooled(record).parent.mkdir(parents=True, exist_ok=True)

    def checkpoint(self, record: ExecutionRecord) -> None:
        self._write(record)

    def finish(self, record: ExecutionRecord) -> None:
        path = self._write(record)
        self._post(path.read_bytes(), path)
        path.unlink()

    def resend(self) -> int:
        """POST every spooled final record again; returns how many the server took."""
        sent = 0
        for path in sorted(self.spool.glob("*.record.json")):
            self._post(path.read_bytes(), path)
            path.unlink()
            sent += 1
        return sent

    def close(self) -> None:
        self.client.close()

    def _spooled(self, record: ExecutionRecord) -> Path:
        return self.spool / f"{record.namespace}.{record.case}.{record.execution_id}.record.json"

    def _write(self, record: ExecutionRecord) -> Path:
        path = self._spooled(record)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(msgspec.json.encode(record))
        os.replace(tmp, path)
        return path

    def _post(self, body: bytes, path: Path) -> None:
        import httpx

        try:
            response = self.client.post(
                "/api/v1/executions", content=body, headers={"Content-Type": "application/json"}
            )
        except httpx.HTTPError as e:
            raise TrackingError(
                f"server {self.url} not reachable ({e}); the record is kept at {path}"
            ) from e
        if response.status_code >= 300:
            raise TrackingError(
                f"server {self.url} refused the record ({response.status_code}: "
                f"{_detail(response)}); the record is kept at {path}"
            )


def _detail(response: Any) -> str:
    try:
        data = response.json()
    except ValueError:
        return str(response.text)[:300]
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and "message" in error:
            return str(error["message"])
        return str(data.get("detail") or data.get("message") or data)[:300]
    return str(data)[:300]
