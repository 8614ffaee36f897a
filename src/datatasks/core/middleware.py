"""Request id, access log and HTTP metrics (and a 405's whole Allow), as a plain ASGI middleware
(no per-request task overhead)."""

from __future__ import annotations

import logging
import os
import re
import time
from contextvars import ContextVar

import structlog
from starlette.requests import ClientDisconnect, Request
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from datatasks.core.metrics import observe_request
from datatasks.core.problems import internal_error

log = structlog.stdlib.get_logger("datatasks.access")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
# What the access log says of a request whose client went away before the answer (nginx's
# "client closed request"): not an error of ours, and nothing is sent.
CLIENT_CLOSED = 499

# The request's id, for what it hands on (a job's outbox entry carries it to the worker's log).
_REQUEST_ID: ContextVar[str | None] = ContextVar("datatasks_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being served (None outside one)."""
    return _REQUEST_ID.get()


class RequestContextMiddleware:
    """Binds a request id (the client's X-Request-ID if sane, else a new one) to every log line
    of the request, echoes it in the response, and logs one line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        status = 500
        responded = False
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status = message["status"]
                responded = True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
                if status == 405:
                    message["headers"] = _with_allow(message["headers"], scope)
            await send(message)

        token = _REQUEST_ID.set(request_id)
        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            except ClientDisconnect:
                # Not a server error: the route that read the body has logged it where it
                # happened (upload.client_disconnected) and cleaned up; no traceback here.
                status = CLIENT_CLOSED
            except Exception:
                # Handled here rather than by Starlette's outermost handler, so the log line and
                # the response carry the request id, and the error is logged once.
                log.exception("request.unhandled_error")
                status = 500
                if not responded:
                    await internal_error(Request(scope))(scope, receive, send_with_id)
            finally:
                seconds = time.perf_counter() - started
                level = logging.ERROR if status >= 500 else logging.INFO
                log.log(
                    level,
                    "http.request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    duration_ms=round(seconds * 1000, 2),
                )
                observe_request(scope, status, seconds)
                # Bound by the route that created a job; it must not outlive the request (tests
                # and other in-process callers share the context).
                structlog.contextvars.unbind_contextvars("job_id")
                _REQUEST_ID.reset(token)


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(scope: Scope) -> list[str]:
    """Every method the request's path answers, asking the app's routes as the router would.
    The router's own Allow names only the first route of the path it finds (`HEAD` for a
    download, which is declared GET and HEAD by two routes; `GET` for a dataset, also DELETE)."""
    router = getattr(scope.get("app"), "router", None)
    probe: Scope = {"type": "http", "path": scope["path"], "root_path": scope.get("root_path", "")}
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**probe, "method": method})[0] is Match.FULL
            for route in getattr(router, "routes", ())
        )
    ]


def _with_allow(headers: list[tuple[bytes, bytes]], scope: Scope) -> list[tuple[bytes, bytes]]:
    """A 405's headers, its Allow replaced by every method its path answers (RFC 9110 15.5.6)."""
    methods = allowed_methods(scope)
    if not methods:
        return headers
    kept = [(name, value) for name, value in headers if name.lower() != b"allow"]
    return [*kept, (b"allow", ", ".join(methods).encode())]


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _SAFE_ID.match(candidate):
                return candidate
    return os.urandom(16).hex()
