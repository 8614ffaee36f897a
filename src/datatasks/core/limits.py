"""Limits on what a client sends: body size and pace, and JSON where JSON is expected."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from datatasks.core.errors import (
    DataTasksError,
    HeadersTooLarge,
    PayloadTooLarge,
    RequestTimeout,
    UnsupportedMediaType,
)

# Multipart headers, boundaries and small form fields on top of an upload's file.
UPLOAD_FRAMING_BYTES = 64 * 1024


# Request headers beyond this are refused (uvicorn's httptools parser sets no limit itself).
MAX_HEADER_BYTES = 16 * 1024


class BodySizeLimitMiddleware:
    """Refuses oversized requests: headers over MAX_HEADER_BYTES with 431, and bodies over
    `max_bytes` with 413 before they are read into memory:
    by Content-Length when the client sends one, and by counting as the body streams in when
    it does not (chunked)."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, per_path: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Routes with a cap of their own (uploads), enforced here too as a backstop.
        self.per_path = dict(per_path or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if sum(len(name) + len(value) + 4 for name, value in scope["headers"]) > MAX_HEADER_BYTES:
            exc = HeadersTooLarge(f"the request headers are larger than {MAX_HEADER_BYTES} bytes")
            await self._send_problem(scope, send, exc)
            return
        limit = self.per_path.get(scope["path"], self.max_bytes)
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await self._send_problem(scope, send, self._error(limit))
                return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise self._error(limit)
            return message

        await self.app(scope, counting_receive, send)

    def _error(self, limit: int) -> PayloadTooLarge:
        return PayloadTooLarge(f"the request body is larger than {limit} bytes")

    async def _send_problem(self, scope: Scope, send: Send, exc: DataTasksError) -> None:
        from datatasks.core.problems import problem_response

        response = problem_response(
            Request(scope),
            status=exc.status,
            title=exc.title,
            detail=exc.detail,
            slug=exc.type_slug,
            headers={"Connection": "close"},
        )
        await response(scope, _no_body, send)


class BodyTimeoutMiddleware:
    """Gives up on a request whose next body chunk does not come within `timeout_s`: the
    route reading the body gets RequestTimeout, answered 408 with `Connection: close` (so the
    server drops the connection) unless it had started its answer already.

    Each wait is bounded by asyncio.timeout (a timer, no task of its own), and only while more
    body is expected: once the body is complete, receive() is a wait for the disconnect, which
    may rightly last as long as the response does."""

    def __init__(self, app: ASGIApp, timeout_s: float) -> None:
        self.app = app
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        timeout_s = self.timeout_s
        expecting = True

        async def timed_receive() -> Message:
            nonlocal expecting
            if not expecting:
                return await receive()
            try:
                async with asyncio.timeout(timeout_s):
                    message = await receive()
            except TimeoutError:
                raise RequestTimeout(
                    f"the request body stopped: nothing came for {timeout_s:g} s",
                    headers={"Connection": "close"},
                ) from None
            expecting = message["type"] == "http.request" and message.get("more_body", False)
            return message

        await self.app(scope, timed_receive, send)


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def is_json(content_type: str) -> bool:
    """Whether a Content-Type declares JSON: `application/json` or `application/*+json`."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


async def require_json(request: Request) -> None:
    """415 unless the body is declared JSON (see `is_json`)."""
    if not is_json(content_type := request.headers.get("content-type", "")):
        media_type = content_type.split(";", 1)[0].strip().lower()
        raise UnsupportedMediaType(
            f"expected Content-Type: application/json, got {media_type or 'none'!r}"
        )
