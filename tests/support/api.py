"""Helpers for the HTTP API tests: an app with tokens, an in-memory archive, record bodies."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from provledger.adapters.archive.memory import InMemoryArchive
from provledger.adapters.http.app import create_app
from provledger.adapters.http.tokens import token_store_for
from provledger.application.ledger import Ledger
from provledger.application.ports import Archive

# The archive fake is the one beside the real archives.
MemoryArchive = InMemoryArchive


@dataclass
class Api:
    client: TestClient
    read_token: str
    write_token: str

    @property
    def read(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.read_token}"}

    @property
    def write(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.write_token}"}

    def get(self, path: str, **kwargs: Any) -> Any:
        kwargs.setdefault("headers", self.read)
        return self.client.get(path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        kwargs.setdefault("headers", self.write)
        return self.client.post(path, json=body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        kwargs.setdefault("headers", self.write)
        return self.client.put(path, json=body, **kwargs)


@contextmanager
def running_api(ledger: Ledger, archive: Archive | None = None, **options: Any) -> Iterator[Api]:
    tokens = options.pop("tokens", None) or token_store_for(ledger)
    read = tokens.create("read").secret
    write = tokens.create("write").secret
    app = create_app(ledger, archive=archive, tokens=tokens, follow_interval=0.05, **options)
    with TestClient(app, raise_server_exceptions=True) as client:
        yield Api(client, read, write)


def record(execution_id: str, case: str = "climate/ocean", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "execution_id": execution_id,
        "case": case,
        "status": "succeeded",
        "started": "2026-01-01T10:00:00+00:00",
        "params": {"dt": 0.5, "compiler": "gnu"},
    }
    body.update(fields)
    return body


def dissmodel_record(experiment_id: str, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "experiment_id": experiment_id,
        "created_at": "2026-09-22T11:48:28.107811Z",
        "model_name": "lucc",
        "model_commit": "local-cli",
        "code_version": "dev",
        "resolved_spec": {"model": {"name": "lucc_discrete"}},
        "source": {"type": "local", "uri": "data/input/cs.zip", "checksum": "a" * 64},
        "parameters": {"n_steps": 6},
        "output_path": "outputs/result.tif",
        "artifacts": {"output": "b" * 64},
        "metrics": {"time_total_sec": 3.2},
        "status": "completed",
        "logs": ["Loaded", "Saved"],
    }
    body.update(fields)
    return body
