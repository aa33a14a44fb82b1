"""A remote ledger over HTTP (`provledger serve`): the sync endpoints under /api/v1/sync."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import msgspec

from ...application.sync.receive import IncomingExecution, Received, ReceiveResult
from ...application.sync.wire import RemoteUnavailableError, SyncError
from .registry import RemoteConfig

TIMEOUT = httpx.Timeout(60.0, connect=5.0)
MAX_BODY = 16 * 1024 * 1024  # below `provledger serve --max-body-bytes` (32 MiB by default)


class HttpRemote:
    def __init__(
        self,
        config: RemoteConfig,
        client: httpx.Client | None = None,
        timeout: httpx.Timeout = TIMEOUT,
    ) -> None:
        self.name = config.name
        self.url = config.url
        headers = {"Authorization": f"Bearer {config.token}"} if config.token else {}
        self._client = client or httpx.Client(base_url=config.url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def _unreachable(self, error: httpx.TransportError) -> RemoteUnavailableError:
        return RemoteUnavailableError(
            f"remote {self.name!r} ({self.url}) is not reachable: {error}; local work is unchanged"
        )

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._client.request(method, f"/api/v1{path}", **kwargs)
        except httpx.TransportError as e:
            raise self._unreachable(e) from e
        return self._checked(response)

    def _checked(self, response: httpx.Response) -> httpx.Response:
        """Server errors: unavailable (retry later); 401/403: refused."""
        if response.status_code >= 500:
            raise RemoteUnavailableError(
                f"remote {self.name!r} answered {response.status_code}: {_message(response)}"
            )
        if response.status_code in (401, 403):
            raise SyncError(f"remote {self.name!r} refused: {_message(response)}")
        return response

    def ledger_id(self) -> str:
        response = self._call("GET", "/sync/info")
        _ok(self.name, response)
        return str(response.json()["ledger_id"])

    def push(self, items: Sequence[IncomingExecution]) -> list[ReceiveResult]:
        """One request per batch; a body over MAX_BODY is split in halves (servers refuse more)."""
        body = msgspec.json.encode(
            {
                "executions": [
                    {"id": str(i.id), "events": [e.to_builtins() for e in i.events]} for i in items
                ]
            }
        )
        if len(body) > MAX_BODY and len(items) > 1:
            half = len(items) // 2
            return self.push(items[:half]) + self.push(items[half:])
        response = self._call(
            "POST",
            "/sync/executions",
            content=body,
            headers={"Content-Type": "application/json"},
        )
        _ok(self.name, response)
        return [
            ReceiveResult(
                UUID(r["id"]),
                Received(r["outcome"]),
                r.get("execution_id"),
                r.get("case"),
                r.get("position", 0),
                r.get("conflicting_fields") or [],
                r.get("error"),
            )
            for r in response.json()["items"]
        ]

    def missing_files(self, sha256s: Sequence[str]) -> list[str] | None:
        response = self._call("POST", "/sync/files/missing", json={"sha256": list(sha256s)})
        if response.status_code == 409:
            return None  # the remote keeps no files (no archive configured)
        _ok(self.name, response)
        return [str(s) for s in response.json()["missing"]]

    def put_file(self, sha256: str, data: bytes | Path) -> None:
        headers = {"Content-Type": "application/octet-stream"}
        if isinstance(data, Path):
            with data.open("rb") as f:  # httpx streams a file object in chunks
                headers["Content-Length"] = str(os.fstat(f.fileno()).st_size)
                response = self._call("PUT", f"/sync/files/{sha256}", content=f, headers=headers)
        else:
            response = self._call("PUT", f"/sync/files/{sha256}", content=data, headers=headers)
        _ok(self.name, response)

    @contextmanager
    def file_chunks(self, sha256: str) -> Iterator[Iterator[bytes] | None]:
        """The file streamed in 1 MiB chunks, or None when the remote lacks it."""
        try:
            with self._client.stream("GET", f"/api/v1/sync/files/{sha256}") as response:
                if response.status_code == 404:
                    yield None
                    return
                if response.status_code != 200:
                    response.read()  # the error body, for the message
                    _ok(self.name, self._checked(response))
                yield response.iter_bytes(1 << 20)
        except httpx.TransportError as e:
            raise self._unreachable(e) from e

    def case_keys(self) -> list[str]:
        keys: list[str] = []
        cursor: str | None = None
        while True:
            params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
            response = self._api("GET", "/cases", params=params)
            page = response.json()
            keys += [str(c["key"]) for c in page["items"]]
            cursor = page.get("next_cursor")
            if not cursor:
                return keys

    def case(self, key: str) -> dict[str, Any] | None:
        response = self._api("GET", f"/cases/{key}", allow_404=True)
        if response.status_code == 404:
            return None
        data: dict[str, Any] = response.json()
        return data

    def _api(self, method: str, path: str, allow_404: bool = False, **kw: Any) -> httpx.Response:
        response = self._call(method, path, **kw)
        if not (allow_404 and response.status_code == 404):
            _ok(self.name, response)
        return response

    def execution(self, id: UUID) -> dict[str, Any] | None:
        response = self._call("GET", f"/sync/executions/{id}")
        if response.status_code == 404:
            return None
        _ok(self.name, response)
        data: dict[str, Any] = response.json()
        return data


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.text[:200] or response.reason_phrase


def _ok(name: str, response: httpx.Response) -> None:
    if response.status_code >= 400:
        raise SyncError(f"remote {name!r} refused ({response.status_code}): {_message(response)}")
