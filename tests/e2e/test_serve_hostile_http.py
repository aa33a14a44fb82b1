"""Hostile requests against a real `provledger serve`: a body nested thousands of levels deep and a
body that is not JSON are 4xx with a one-line JSON error, and the keep-alive connection they came
on goes on serving the next request (a 500 would make the server drop it)."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator

import pytest

from tests.e2e.test_serve_http import Server, _cli


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    home = tmp_path_factory.mktemp("hostile") / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVLEDGER_")}
    env["PROVLEDGER_HOME"] = str(home)
    token = _cli(env, "token", "create", "--scope", "write", "--name", "hostile")
    running = Server(env)
    try:
        yield running, token
    finally:
        running.stop()


class Connection:
    """One HTTP/1.1 keep-alive connection, spoken by hand so reuse is certain."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buffer = b""

    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        while b"\r\n\r\n" not in self.buffer:
            self._more()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        answer = {k.lower(): v.strip() for k, v in (h.split(":", 1) for h in header_lines)}
        length = int(answer.get("content-length", "0"))
        while len(self.buffer) < length:
            self._more()
        content, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(status_line.split()[1]), answer, content

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk

    def close(self) -> None:
        self.sock.close()


def _one_line_error(content: bytes, code: str) -> str:
    assert b"\n" not in content
    error = json.loads(content)["error"]
    assert error["code"] == code, error
    assert "\n" not in error["message"]
    return str(error["message"])


def _still_usable(conn: Connection) -> None:
    status, headers, _ = conn.request("GET", "/health")
    assert status == 200
    assert headers.get("connection", "").lower() != "close"


@pytest.mark.parametrize("depth", [5000, 100_000, 300])
def test_a_deeply_nested_body_is_a_400_and_the_connection_is_kept(
    server: tuple[Server, str], depth: int
) -> None:
    running, token = server
    conn = Connection(running.port)
    try:
        params = "[" * depth + "]" * depth
        body = f'{{"execution_id": "deep", "case": "c", "params": {{"a": {params}}}}}'.encode()
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        status, headers, content = conn.request("POST", "/api/v1/executions", body, auth)
        assert status == 400, content[:300]
        assert headers.get("connection", "").lower() != "close"
        assert "nests more than" in _one_line_error(content, "invalid_json")
        _still_usable(conn)
        ok = b'{"execution_id": "beside-deep", "case": "c", "status": "succeeded"}'
        status, _, content = conn.request("POST", "/api/v1/executions", ok, auth)
        assert status in (200, 201), content
    finally:
        conn.close()


def test_a_record_deeper_than_the_record_limit_is_refused_as_invalid(
    server: tuple[Server, str],
) -> None:
    running, token = server
    conn = Connection(running.port)
    try:
        params = "[" * 110 + "]" * 110
        body = f'{{"execution_id": "d2", "case": "c", "params": {{"a": {params}}}}}'.encode()
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        status, _, content = conn.request("POST", "/api/v1/executions", body, auth)
        assert status == 422, content
        assert "nested more than 100 levels deep" in _one_line_error(content, "invalid_record")
        _still_usable(conn)
    finally:
        conn.close()


JSON_ROUTES = [
    ("POST", "/api/v1/executions", b'{"execution_id": "t1", "case": "c", "status": "succeeded"}'),
    ("PUT", "/api/v1/cases/default/c/canonical", b'{"execution_id": "t1", "reason": "x"}'),
    ("POST", "/api/v1/sync/executions", b'{"executions": []}'),
    ("POST", "/api/v1/sync/files/missing", b'{"sha256": []}'),
    ("POST", "/api/v1/experiments/t1/reproduce", b'{"note": "again"}'),
    ("POST", "/experiments/t1/reproduce", b'{"note": "again"}'),
]


@pytest.mark.parametrize(("method", "path", "body"), JSON_ROUTES)
@pytest.mark.parametrize("content_type", ["text/plain", None, "application/x-www-form-urlencoded"])
def test_a_json_body_without_a_json_content_type_is_a_415(
    server: tuple[Server, str], method: str, path: str, body: bytes, content_type: str | None
) -> None:
    running, token = server
    conn = Connection(running.port)
    try:
        headers = {"Authorization": f"Bearer {token}"}
        if content_type:
            headers["Content-Type"] = content_type
        status, answer, content = conn.request(method, path, body, headers)
        assert status == 415, content
        assert answer.get("connection", "").lower() != "close"
        message = _one_line_error(content, "unsupported_media_type")
        assert "Content-Type: application/json" in message
        _still_usable(conn)
    finally:
        conn.close()


def test_json_with_a_charset_is_accepted(server: tuple[Server, str]) -> None:
    running, token = server
    conn = Connection(running.port)
    try:
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json; charset=utf-8",
        }
        body = b'{"execution_id": "charset", "case": "c", "status": "succeeded"}'
        status, _, content = conn.request("POST", "/api/v1/executions", body, headers)
        assert status == 201, content
    finally:
        conn.close()
