"""What a client sends that is not a valid request: clear problems, never a 500."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from datatasks.core.config import Settings
from tests.helpers import served

VALID = {"record_type": "u", "count": 1, "fields": [{"name": "id", "type": "uuid"}]}


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


async def test_a_body_over_the_limit_is_413(client: httpx.AsyncClient, settings: Settings) -> None:
    big = b'{"record_type": "' + b"x" * settings.max_body_bytes + b'"}'
    response = await client.post(
        "/generate", content=big, headers={"content-type": "application/json"}
    )
    assert str(settings.max_body_bytes) in problem(response, 413)["detail"]


async def test_a_chunked_body_over_the_limit_is_413(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(settings.max_body_bytes // 65_536 + 2):
            yield b" " * 65_536

    response = await client.post(
        "/generate", content=chunks(), headers={"content-type": "application/json"}
    )
    problem(response, 413)


async def test_not_json_is_415(client: httpx.AsyncClient) -> None:
    for content_type in ("application/x-www-form-urlencoded", "text/plain", None):
        headers = {"content-type": content_type} if content_type else {}
        response = await client.post("/generate", content=b'{"a": 1}', headers=headers)
        assert "application/json" in problem(response, 415)["detail"]
    ok = await client.post(
        "/generate", json=VALID, headers={"content-type": "application/vnd.api+json"}
    )
    assert ok.status_code == 202


async def test_malformed_and_empty_bodies_say_what_is_wrong(client: httpx.AsyncClient) -> None:
    headers = {"content-type": "application/json"}
    malformed = problem(await client.post("/generate", content=b'{"count": ', headers=headers), 422)
    assert malformed["errors"][0]["field"] == "body"
    assert malformed["errors"][0]["msg"].startswith("malformed JSON at character 10")
    empty = problem(await client.post("/generate", content=b"", headers=headers), 422)
    assert empty["errors"][0]["msg"] == "the request body is empty; expected a JSON object"


async def test_field_type_errors_name_the_field(client: httpx.AsyncClient) -> None:
    for spec, expected in (
        ({"name": "a"}, "'type' is required"),
        ({"name": "a", "type": "ssn"}, "'ssn' is not one of"),
    ):
        body = problem(await client.post("/generate", json={**VALID, "fields": [spec]}), 422)
        assert body["errors"][0]["field"] == "body.fields.0"
        assert body["errors"][0]["msg"].startswith(expected)
        assert "Value error" not in body["detail"]


async def test_values_that_would_fail_in_the_worker_are_refused_up_front(
    client: httpx.AsyncClient,
) -> None:
    overflow = {"name": "n", "type": "sequence", "start": 2**63 - 1, "step": 1}
    body = problem(
        await client.post("/generate", json={**VALID, "count": 2, "fields": [overflow]}), 422
    )
    assert body["errors"][0]["field"] == "body.fields.0.sequence.step"
    assert "64-bit" in body["errors"][0]["msg"]

    late = {"name": "t", "type": "datetime", "start": "9999-12-31T23:00:00-05:00"}
    problem(await client.post("/generate", json={**VALID, "fields": [late]}), 422)

    for count in (True, "10", 1.5):
        problem(await client.post("/generate", json={**VALID, "count": count}), 422)


async def test_routes_are_exact_and_health_answers_head(client: httpx.AsyncClient) -> None:
    problem(await client.get("/jobs/"), 404)
    problem(await client.post("/generate/", json=VALID), 404)
    problem(await client.delete("/generate"), 405)
    assert (await client.head("/health/live")).status_code == 200
    long_id = "x" * 5000
    assert len(problem(await client.get(f"/status/{long_id}"), 404)["detail"]) < 200


async def test_values_postgres_cannot_store_are_422_not_500(client: httpx.AsyncClient) -> None:
    headers = {"content-type": "application/json"}
    for raw in (
        b'{"record_type": "u", "count": 1, "dataset_name": "a\\u0000b", "fields": []}',
        b'{"record_type": "u", "count": 1, "fields": [{"name": "c", "type": "constant",'
        b' "value": {"x": NaN}}]}',
        b'{"record_type": "u", "count": 1, "fields": [{"name": "c", "type": "enum",'
        b' "values": ["a\\u0000"]}]}',
    ):
        body = problem(await client.post("/generate", content=raw, headers=headers), 422)
        assert "NUL" in body["detail"] or "not a JSON number" in body["detail"]


async def test_a_forged_cursor_is_422(client: httpx.AsyncClient) -> None:
    import base64

    for parts in (b'["2020-01-01T00:00:00+00:00", 1]', b'[["x"], "y"]', b'"just a string"'):
        cursor = base64.urlsafe_b64encode(parts).decode().rstrip("=")
        problem(await client.get("/jobs", params={"cursor": cursor}), 422)


async def test_an_unexpected_error_is_a_bare_500_with_the_request_id(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datatasks.jobs import service

    async def broken(*args: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(service, "get_job", broken)
    response = await client.get(
        "/status/00000000-0000-0000-0000-000000000000", headers={"x-request-id": "trace-me-1"}
    )
    body = problem(response, 500)
    assert "secret" not in response.text
    assert body["detail"] == "an unexpected error occurred; it has been logged"
    assert response.headers["x-request-id"] == "trace-me-1"


async def test_oversized_headers_are_431(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live", headers={"X-Big": "a" * 20_000})
    problem(response, 431)
    assert (await client.get("/health/live", headers={"X-Ok": "a" * 4_000})).status_code == 200


async def test_bodies_that_do_not_parse_are_422(client: httpx.AsyncClient) -> None:
    headers = {"content-type": "application/json"}
    not_utf8 = problem(
        await client.post("/generate", content=b'{"record_type": "\xff"}', headers=headers), 422
    )
    assert not_utf8["errors"] == [
        {
            "loc": ["body"],
            "field": "body",
            "msg": "malformed JSON at byte 17: not UTF-8",
            "type": "json_invalid",
        }
    ]
    # Nested past what the JSON parser reads, or just short of it (then what validates the
    # request must not recurse either), in the body itself or deep in a field.
    for depth in (100_000, *range(900, 1_000, 9)):
        nested = b"[" * depth + b"]" * depth
        for body in (
            nested,
            b'{"record_type": "u", "count": 1, "fields": ' + nested + b"}",
            b'{"record_type": "u", "count": 1, "dataset_name": ' + nested + b', "fields": []}',
        ):
            response = await client.post("/generate", content=body, headers=headers)
            assert problem(response, 422)["errors"], depth


async def test_nul_characters_are_refused_where_they_are(client: httpx.AsyncClient) -> None:
    for name in ("record_type", "dataset_name"):
        body = problem(await client.post("/generate", json={**VALID, name: "a\0b"}), 422)
        assert body["errors"] == [
            {
                "loc": ["body", name],
                "field": f"body.{name}",
                "msg": "must not contain NUL characters",
                "type": "value_error",
            }
        ]


async def test_a_body_that_stops_coming_is_408(settings: Settings) -> None:
    settings = settings.model_copy(update={"request_body_timeout_s": 0.5})
    async with served(settings) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /generate HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b'Content-Length: 1000\r\n\r\n{"record_type": '
        )
        await writer.drain()
        async with asyncio.timeout(10):
            answer = await reader.read()  # to the end: the server closes the connection
        writer.close()
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert b"connection: close\r\n" in answer.lower()
    assert b'"status":408' in answer


async def test_a_slow_but_steady_body_is_not_cut(settings: Settings) -> None:
    # The timeout is for each wait, not for the whole body.
    settings = settings.model_copy(update={"request_body_timeout_s": 1.0})
    body = orjson.dumps(VALID)
    async with served(settings) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /generate HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)
        )
        for i in range(0, len(body), 4):
            writer.write(body[i : i + 4])
            await writer.drain()
            await asyncio.sleep(0.1)
        async with asyncio.timeout(10):
            status = await reader.readline()
        writer.close()
    assert status.startswith(b"HTTP/1.1 202"), status
