"""Idempotency-Key on every POST that creates a job."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import text

from datatasks.core.config import Settings
from datatasks.core.db import SessionMaker

GENERATE = {"record_type": "t", "count": 10, "fields": [{"name": "n", "type": "sequence"}]}


async def jobs_count(sessionmaker: SessionMaker) -> int:
    async with sessionmaker() as session:
        return int((await session.execute(text("SELECT count(*) FROM jobs"))).scalar() or 0)


async def test_a_repeat_with_the_same_key_and_payload_returns_the_original_job(
    client: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    headers = {"Idempotency-Key": "order-42"}
    first = await client.post("/generate", json=GENERATE, headers=headers)
    again = await client.post("/generate", json=GENERATE, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json()["job_id"] == first.json()["job_id"]
    assert again.headers["location"] == first.headers["location"]
    assert await jobs_count(sessionmaker) == 1

    other = await client.post("/generate", json={**GENERATE, "count": 11}, headers=headers)
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "header.Idempotency-Key"
    assert await jobs_count(sessionmaker) == 1

    unkeyed = [await client.post("/generate", json=GENERATE) for _ in range(2)]
    assert unkeyed[0].json()["job_id"] != unkeyed[1].json()["job_id"]


async def test_concurrent_repeats_create_one_job(
    client: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    headers = {"Idempotency-Key": "burst"}
    responses = await asyncio.gather(
        *(client.post("/export", json={"format": "csv"}, headers=headers) for _ in range(10))
    )
    assert {r.status_code for r in responses} == {202}
    assert len({r.json()["job_id"] for r in responses}) == 1
    assert await jobs_count(sessionmaker) == 1


async def test_a_key_is_forgotten_after_its_lifetime(
    client: httpx.AsyncClient, sessionmaker: SessionMaker, settings: Settings
) -> None:
    headers = {"Idempotency-Key": "old"}
    first = (await client.post("/generate", json=GENERATE, headers=headers)).json()
    async with sessionmaker() as session:
        await session.execute(
            text("UPDATE jobs SET created_at = now() - make_interval(secs => :s)"),
            {"s": settings.idempotency_ttl_s + 1},
        )
        await session.commit()
    second = (await client.post("/generate", json={**GENERATE, "count": 5}, headers=headers)).json()
    assert second["job_id"] != first["job_id"]


async def test_uploads_are_idempotent_by_file_and_fields(
    client: httpx.AsyncClient, sessionmaker: SessionMaker, settings: Settings
) -> None:
    headers = {"Idempotency-Key": "upload-1"}
    files = {"file": ("a.csv", b"a,b\n1,2\n")}
    first = await client.post("/upload", files=files, data={"record_type": "x"}, headers=headers)
    again = await client.post("/upload", files=files, data={"record_type": "x"}, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    stored = [p for p in settings.storage_dir.rglob("*") if p.is_file()]
    assert len(stored) == 1, "the repeat's copy is not kept"

    different = await client.post(
        "/upload", files=files, data={"record_type": "y"}, headers=headers
    )
    assert different.status_code == 422
    assert len([p for p in settings.storage_dir.rglob("*") if p.is_file()]) == 1


async def test_malformed_keys_are_422(client: httpx.AsyncClient) -> None:
    for key in ("", "has space", "x" * 256):
        response = await client.post("/generate", json=GENERATE, headers={"Idempotency-Key": key})
        assert response.status_code == 422, key
