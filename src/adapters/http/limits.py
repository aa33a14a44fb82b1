"""Refuse request bodies over a size limit with 413, before any of it is parsed; refuse a body
that is not JSON (415) or that nests deeper than any record does (400), before a parser recurses
into it. Both answers are one-line JSON errors on a connection that stays open."""

from __future__ import annotations

import re

import msgspec
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import error_body

DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
DEFAULT_MAX_FILE_BYTES = 64 * 1024**3  # one uploaded data file (streamed, never buffered)
STREAMED_UPLOADS = (  # PUT bodies the route streams to disk itself
    "/api/v1/sync/files/",
    "/api/2.0/mlflow-artifacts/artifacts/",
    "/ajax-api/2.0/mlflow-artifacts/artifacts/",
)
# Deeper than a record may be (readers.files.MAX_DEPTH), plus the envelope of a batch or a pushed
# event; far below the interpreter's recursion limit, which a deeper body would exhaust.
MAX_BODY_DEPTH = 128
JSON_TYPE = re.compile(r"application/(?:[\w.-]+\+)?json\s*(?:;.*)?", re.IGNORECASE)
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_SQUARE = bytes.maketrans(b"{}", b"[]")


def is_json(content_type: str) -> bool:
    return JSON_TYPE.fullmatch(content_type.strip()) is not None


def is_web_form(path: str, content_type: str) -> bool:
    """An HTML form posted to the web UI (adapters/web), outside the JSON API's paths."""
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind in ("application/x-www-form-urlencoded", "multipart/form-data") and not (
        path.startswith(("/api/", "/experiments"))
    )


def nests_deeper_than(body: bytes, limit: int) -> bool:
    """Whether the JSON `body` nests arrays/objects more than `limit` deep (strings ignored).
    Each pass removes the innermost pairs at C speed; a malformed body is left to the parser."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    skeleton = _JSON_STRING.sub(b"", body).translate(_SQUARE, _NOT_BRACKETS)
    for _ in range(limit):
        if not skeleton:
            return False
        shorter = skeleton.replace(b"[]", b"")
        if len(shorter) == len(skeleton):
            return False  # unbalanced: not JSON, the parser says so
        skeleton = shorter
    return b"[]" in skeleton


class BodyLimitMiddleware:
    """Checks Content-Length up front and counts streamed (chunked) bodies as they arrive."""

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_file_bytes = max_file_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if scope["method"] == "PUT" and scope["path"].startswith(STREAMED_UPLOADS):
            # Data files stream to disk in the route, which also counts what arrives.
            if declared is not None and declared.isdigit() and int(declared) > self.max_file_bytes:
                await self._too_large(
                    send, int(declared), self.max_file_bytes, hint="--max-file-bytes"
                )
                return
            await self.app(scope, receive, send)
            return
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await self._reject(send, 400, "bad_request", "Content-Length is not a number")
                return
            if size > self.max_body_bytes:
                await self._too_large(send, size)
                return
        # Read the whole body (bounded), then replay it to the app.
        chunks: list[bytes] = []
        total = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.max_body_bytes:
                await self._too_large(send, None)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body.strip():
            content_type = dict(scope["headers"]).get(b"content-type", b"").decode("latin-1")
            if not is_json(content_type) and not is_web_form(scope["path"], content_type):
                got = repr(content_type) if content_type else "no content type"
                await self._reject(
                    send,
                    415,
                    "unsupported_media_type",
                    f"send the body as JSON with 'Content-Type: application/json' (got {got})",
                    close=False,
                )
                return
            if is_json(content_type) and nests_deeper_than(body, MAX_BODY_DEPTH):
                await self._reject(
                    send,
                    400,
                    "invalid_json",
                    f"the body nests more than {MAX_BODY_DEPTH} levels deep "
                    "(objects or lists inside each other)",
                    close=False,
                )
                return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(
        self,
        send: Send,
        size: int | None,
        limit: int | None = None,
        hint: str = "send a smaller batch",
    ) -> None:
        limit = limit or self.max_body_bytes
        what = f"{size} bytes" if size is not None else "too large"
        await self._reject(
            send,
            413,
            "payload_too_large",
            f"request body is {what}; the limit is {limit} bytes ({hint})",
            {"limit_bytes": limit},
        )

    async def _reject(
        self,
        send: Send,
        status: int,
        code: str,
        message: str,
        details: dict[str, int] | None = None,
        close: bool = True,
    ) -> None:
        """`close`: the body was not read, so the connection cannot be reused."""
        payload = msgspec.json.encode(error_body(code, message, details))
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
        ]
        if close:
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
