"""The fast lane: the routes that create jobs, served without FastAPI's per-request machinery.

`POST /generate` and `POST /export` are the service's hot path: clients call them in bulk and
expect an answer in a millisecond or two. Through FastAPI a request there passes its router,
its dependency solver, a JSON parse followed by a separate validation, and its response
serializer, which together cost more than the job's commit. This middleware serves the same
endpoint functions directly: it reads the body, validates it with the route's model in one
pass (`model_validate_json`), resolves the endpoint's other parameters from `app.state` by
name, and writes the endpoint's answer as JSON.

It declines, and hands the request (body included) to FastAPI, whenever anything is unusual:
a body that is not declared JSON, one that does not validate, an Idempotency-Key FastAPI would
refuse. So every error a client can cause is still FastAPI's own, with the same problem+json
shape, and the routes stay declared (and documented in OpenAPI) where they always were. Errors
raised by the endpoint go to the app's exception handlers, as they would through FastAPI.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from datatasks.core.limits import is_json
from datatasks.core.metrics import ROUTE_KEY
from datatasks.jobs.idempotency import KEY_MAX, KEY_PATTERN

Endpoint = Callable[..., Awaitable[BaseModel]]

# The Idempotency-Key header's rule; a key FastAPI would refuse declines.
_IDEMPOTENCY_KEY = re.compile(KEY_PATTERN.encode())


@dataclass(frozen=True, slots=True)
class _Lane:
    endpoint: Endpoint
    body: type[BaseModel]
    # The endpoint's parameters other than body, response and idempotency_key: each is the
    # attribute of that name on app.state (settings, writer, backlog).
    state: tuple[str, ...]
    status: int


class FastLaneMiddleware:
    """Serves `POST <path>` with `endpoints[path]`; everything else passes through."""

    def __init__(self, app: ASGIApp, endpoints: Mapping[str, Endpoint], status: int) -> None:
        self.app = app
        self.lanes = {path: _lane(endpoint, status) for path, endpoint in endpoints.items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        lane = self.lanes.get(scope["path"]) if scope["type"] == "http" else None
        if lane is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        # The first of each header, as Starlette's `headers.get` (what FastAPI reads) takes.
        content_type: bytes | None = None
        key: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"content-type" and content_type is None:
                content_type = value
            elif name == b"idempotency-key" and key is None:
                key = value
        if not is_json((content_type or b"").decode("latin-1")) or (
            key is not None and (len(key) > KEY_MAX or not _IDEMPOTENCY_KEY.match(key))
        ):
            await self.app(scope, receive, send)
            return
        try:
            body = await _read(receive)
        except Exception as exc:  # the size or pace limit (413, 408)
            await _handled(scope, receive, send, exc)
            return
        try:
            parsed = lane.body.model_validate_json(body)
        except ValidationError:
            # FastAPI validates again and answers the 422 in its own words.
            await self.app(scope, _replay(body, receive), send)
            return
        scope[ROUTE_KEY] = scope["path"]
        await self._serve(lane, parsed, key, scope, receive, send)

    async def _serve(
        self,
        lane: _Lane,
        body: BaseModel,
        key: bytes | None,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        state = scope["app"].state
        response = Response()
        del response.headers["content-length"]
        kwargs: dict[str, Any] = {name: getattr(state, name) for name in lane.state}
        try:
            result = await lane.endpoint(
                body=body,
                response=response,
                idempotency_key=key.decode() if key is not None else None,
                **kwargs,
            )
        except Exception as exc:
            await _handled(scope, receive, send, exc)
            return
        content = result.__pydantic_serializer__.to_json(result)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(content)).encode()),
            *response.raw_headers,
        ]
        await send({"type": "http.response.start", "status": lane.status, "headers": headers})
        await send({"type": "http.response.body", "body": content})


def _lane(endpoint: Endpoint, status: int) -> _Lane:
    hints = typing.get_type_hints(endpoint)
    body = hints["body"]
    if not (isinstance(body, type) and issubclass(body, BaseModel)):
        raise TypeError(f"{endpoint.__qualname__}: `body` must be a pydantic model")
    params = [p for p in hints if p not in ("return", "body", "response", "idempotency_key")]
    return _Lane(endpoint, body, tuple(params), status)


async def _read(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _handled(scope: Scope, receive: Receive, send: Send, exc: Exception) -> None:
    """Answer `exc` as the app's exception handlers would; anything they leave to the server's
    500 (or a client gone) is raised on, to the request's outer middleware."""
    handlers = scope["app"].exception_handlers
    for cls in type(exc).__mro__:
        if cls is Exception:
            break
        if handler := handlers.get(cls):
            response = await handler(Request(scope, receive), exc)
            await response(scope, receive, send)
            return
    raise exc
