"""Refuse request bodies over a size limit with 413, before any of it is parsed."""

from __future__ import annotations

import msgspec
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import error_body

DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
DEFAULT_MAX_FILE_BYTES = 64 * 1024**3  # one uploaded data file (streamed, never buffered)
STREAMED_UPLOADS = "/api/v1/sync/files/"  # PUT bodies the route streams to disk itself


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
    ) -> None:
        payload = msgspec.json.encode(error_body(code, message, details))
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
