"""The fast lane answers exactly as FastAPI does, and serves the valid requests itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import httpx
import orjson
import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from starlette.types import Message, Receive, Scope, Send

from datatasks.app import create_app
from datatasks.core.config import Settings
from datatasks.core.fastlane import FastLaneMiddleware

FIELDS = [{"name": "id", "type": "uuid"}, {"name": "age", "type": "integer", "min": 1}]
GOOD = {"record_type": "user", "count": 10, "seed": 1, "fields": FIELDS}
JSON = {"content-type": "application/json"}

# (path, raw body, headers): every kind of request a client can send these routes.
CASES: dict[str, tuple[str, bytes, dict[str, str]]] = {
    "valid": ("/generate", orjson.dumps(GOOD), JSON),
    "valid, +json media type": (
        "/generate",
        orjson.dumps(GOOD),
        {"content-type": "application/vnd.api+json; charset=utf-8"},
    ),
    "valid export": ("/export", b'{"format": "csv", "record_type": "user"}', JSON),
    "with an Idempotency-Key": ("/generate", orjson.dumps(GOOD), {**JSON, "idempotency-key": "k1"}),
    "a key FastAPI refuses": ("/generate", orjson.dumps(GOOD), {**JSON, "idempotency-key": "a b"}),
    "an over-long key": ("/generate", orjson.dumps(GOOD), {**JSON, "idempotency-key": "k" * 256}),
    "not JSON": ("/generate", orjson.dumps(GOOD), {"content-type": "text/plain"}),
    "no content type": ("/generate", orjson.dumps(GOOD), {}),
    "malformed JSON": ("/generate", b'{"record_type": ', JSON),
    "empty body": ("/generate", b"", JSON),
    "not UTF-8": ("/generate", b'{"record_type": "\xff"}', JSON),
    "an invalid field": ("/generate", orjson.dumps({**GOOD, "count": 0}), JSON),
    "an unknown field type": (
        "/generate",
        orjson.dumps({**GOOD, "fields": [{"name": "x", "type": "nope"}]}),
        JSON,
    ),
    "NaN": (
        "/generate",
        b'{"record_type": "u", "count": 1, "fields": [{"name": "f", "type": "float", "min": NaN}]}',
        JSON,
    ),
    "a NUL character": ("/generate", orjson.dumps({**GOOD, "dataset_name": "a\0b"}), JSON),
    "count over the setting": ("/generate", orjson.dumps({**GOOD, "count": 10**9}), JSON),
    "an unknown dataset": (
        "/export",
        b'{"format": "csv", "dataset_id": "00000000-0000-4000-8000-000000000000"}',
        JSON,
    ),
    "an export with neither": ("/export", b'{"format": "csv"}', JSON),
    "too large": ("/generate", b"[" + b"1," * 600_000 + b"1]", JSON),
}


@asynccontextmanager
async def _client(settings: Settings, *, lane: bool) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    if not lane:
        app.user_middleware = [
            m for m in app.user_middleware if cast(object, m.cls) is not FastLaneMiddleware
        ]
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


def _comparable(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    if response.status_code == 202:
        # A new job each time: its id differs, the shape does not.
        assert body["status_url"] == f"/status/{body['job_id']}"
        assert response.headers["location"] == body["status_url"]
        body = {**body, "job_id": "-", "status_url": "-"}
    return {
        "status": response.status_code,
        "content-type": response.headers["content-type"],
        "retry-after": response.headers.get("retry-after"),
        "body": body,
    }


@pytest.mark.parametrize("case", list(CASES))
async def test_the_lane_answers_as_fastapi_does(settings: Settings, case: str) -> None:
    path, content, headers = CASES[case]
    answers = []
    for lane in (True, False):
        async with _client(settings, lane=lane) as client:
            answers.append(_comparable(await client.post(path, content=content, headers=headers)))
    assert answers[0] == answers[1]


async def test_an_idempotent_repeat_gets_the_original_job_through_the_lane(
    client: httpx.AsyncClient,
) -> None:
    headers = {"Idempotency-Key": "same-key"}
    first = await client.post("/generate", json=GOOD, headers=headers)
    again = await client.post("/generate", json=GOOD, headers=headers)
    other = await client.post("/generate", json={**GOOD, "count": 11}, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json()["job_id"] == first.json()["job_id"]
    assert other.status_code == 422
    assert other.json()["errors"][0]["type"] == "idempotency_key_reused"


class _Body(BaseModel):
    n: int


class _State:
    tag = "from app.state"


async def _endpoint(body: _Body, response: Any, tag: str, idempotency_key: str | None) -> _Body:
    response.headers["X-Tag"] = f"{tag}, key {idempotency_key}"
    return _Body(n=body.n + 1)


class _Inner:
    """What the lane hands requests to: records them, answers 299."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chunks = []
        while True:
            message: Message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        self.bodies.append(b"".join(chunks))
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def _call(lane: FastLaneMiddleware, body: bytes, *, method: str = "POST") -> Any:
    app = FastAPI()
    app.state.tag = _State.tag

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = app
        await lane(scope, receive, send)

    transport = httpx.ASGITransport(app=asgi)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        headers = {**JSON, "idempotency-key": "k"}
        return await client.request(method, "/p", content=body, headers=headers)


async def test_valid_requests_are_served_by_the_lane_and_the_rest_handed_on_whole() -> None:
    inner = _Inner()
    lane = FastLaneMiddleware(inner, endpoints={"/p": _endpoint}, status=201)

    served = await _call(lane, b'{"n": 1}')
    assert served.status_code == 201
    assert served.json() == {"n": 2}
    assert served.headers["x-tag"] == "from app.state, key k"
    assert inner.bodies == []

    declined = await _call(lane, b'{"n": "x"}')
    assert declined.status_code == 299
    assert inner.bodies == [b'{"n": "x"}']

    other_method = await _call(lane, b"", method="PUT")
    assert other_method.status_code == 299
