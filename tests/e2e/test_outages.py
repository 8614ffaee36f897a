"""Outages of the service's own dependencies, on servers the tests own: Postgres restarted
(fast and immediate) under a COPY, Redis killed and started empty, jobs fetched together.
No job is stuck, none is charged an attempt for an outage, every dataset is exact."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from datatasks.core.config import Settings
from tests.e2e.conftest import COUNTS, FIELDS, Service, poll, sequence_numbers
from tests.fixtures.servers import OwnPostgres, OwnRedis, on_own_servers

pytestmark = pytest.mark.e2e


@pytest.fixture
def own_settings(settings: Settings, own_postgres: OwnPostgres, own_redis: OwnRedis) -> Settings:
    return on_own_servers(settings, own_postgres, own_redis)


@pytest.fixture
def own_service(own_settings: Settings) -> Iterator[Service]:
    service = Service(own_settings)
    # A Postgres step that hangs is cut short well within the test's patience.
    service.env["WORKER_DB_TIMEOUT_S"] = "10"
    yield service
    service.stop_all()


@pytest.fixture
async def own_pg(own_settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(
        own_settings.asyncpg_dsn, server_settings={"search_path": own_settings.database_schema}
    )
    yield conn
    await conn.close()


async def generate(http: httpx.AsyncClient, service: Service, count: int, seed: int) -> str:
    response = await http.post(
        f"{service.url}/generate",
        json={"record_type": "u", "count": count, "seed": seed, "fields": FIELDS},
    )
    assert response.status_code == 202, response.text
    return service.url + response.headers["location"]


async def wait_until_copying(http: httpx.AsyncClient, urls: list[str]) -> None:
    async with asyncio.timeout(60):
        while True:
            states = [(await http.get(url)).json() for url in urls]
            if sum(s["progress"]["done"] > 0 for s in states) >= 2:
                return
            await asyncio.sleep(0.02)


async def assert_exact_and_never_charged(
    http: httpx.AsyncClient, pg: asyncpg.Connection, urls: list[str], count: int
) -> None:
    for url in urls:
        status = await poll(http, url)
        assert status["attempts"] == 1, status  # the outage spent no attempt
        assert status["error"] is None, status
        numbers = await sequence_numbers(pg, status["result"]["dataset_id"])
        assert numbers == list(range(1, count + 1))


async def reconnect(conn: asyncpg.Connection, settings: Settings) -> asyncpg.Connection:
    if not conn.is_closed():
        await conn.close()
    return await asyncpg.connect(
        settings.asyncpg_dsn, server_settings={"search_path": settings.database_schema}
    )


@pytest.mark.parametrize("mode", ["fast", "immediate"])
async def test_a_postgres_restart_mid_copy_strands_nothing_and_costs_no_attempt(
    mode: str,
    own_service: Service,
    own_postgres: OwnPostgres,
    own_settings: Settings,
    own_pg: asyncpg.Connection,
    http: httpx.AsyncClient,
) -> None:
    service = own_service
    service.api()
    service.start("worker", "--queues", "generation", "--concurrency", "2")
    service.start("worker", "--queues", "generation", "--concurrency", "2")
    await service.ready(http)
    count = 150_000
    urls = [await generate(http, service, count, seed) for seed in range(4)]
    await wait_until_copying(http, urls)
    await asyncio.to_thread(own_postgres.restart, mode)
    pg = await reconnect(own_pg, own_settings)
    try:
        await assert_exact_and_never_charged(http, pg, urls, count)
    finally:
        await pg.close()


async def test_jobs_fetched_together_each_complete_once(
    service: Service, http: httpx.AsyncClient, pg: asyncpg.Connection
) -> None:
    # bullmq-python hands jobs it fetches in one go the same lock token; with four at once,
    # finished jobs used to fail with a KeyError and run a second time.
    service.api()
    await service.ready(http)
    count = 20_000
    urls = [await generate(http, service, count, seed) for seed in range(8)]
    service.start("worker", "--queues", "generation", "--concurrency", "4")
    await assert_exact_and_never_charged(http, pg, urls, count)


async def test_the_api_answers_at_once_after_a_redis_restart(
    own_service: Service, own_redis: OwnRedis, http: httpx.AsyncClient
) -> None:
    service = own_service
    service.api()
    await service.ready(http)
    await generate(http, service, 10, 1)
    export = {"format": "ndjson", "record_type": "u"}
    assert (await http.post(f"{service.url}/export", json=export)).status_code == 202
    own_redis.kill()
    own_redis.start()
    # The first call on each queue's dropped connection reconnects at once: no 503.
    ready = await http.get(f"{service.url}/health/ready")
    assert ready.status_code == 200, ready.text
    await generate(http, service, 10, 2)
    response = await http.post(f"{service.url}/export", json=export)
    assert response.status_code == 202, response.text


async def test_a_redis_restart_under_running_jobs_strands_nothing(
    own_service: Service,
    own_redis: OwnRedis,
    http: httpx.AsyncClient,
    own_pg: asyncpg.Connection,
) -> None:
    service = own_service
    service.api()
    service.start("worker", "--queues", "generation", "--concurrency", "2")
    await service.ready(http)
    count = 150_000
    urls = [await generate(http, service, count, seed) for seed in range(4)]
    await wait_until_copying(http, urls)
    own_redis.kill()
    await asyncio.sleep(0.5)
    own_redis.start()
    # Jobs Redis forgot are found by the reconciler and resume at their checkpoints.
    await assert_exact_and_never_charged(http, own_pg, urls, count)


SOAK_CLIENTS = 20
SOAK_JOBS_PER_CLIENT = 10
SOAK_FIELDS = [{"name": "n", "type": "sequence"}, {"name": "name", "type": "full_name"}]


async def _submit(http: httpx.AsyncClient, url: str, **kwargs: Any) -> httpx.Response:
    """As a careful client does through outages: a 503 (not accepted) is retried after a
    pause; a dropped connection (outcome unknown) is retried with the same Idempotency-Key."""
    key = uuid.uuid4().hex
    async with asyncio.timeout(120):
        while True:
            try:
                response = await http.post(url, headers={"Idempotency-Key": key}, **kwargs)
            except httpx.TransportError:
                await asyncio.sleep(0.2)
                continue
            if response.status_code != 503:
                return response
            key = uuid.uuid4().hex
            await asyncio.sleep(0.3)


async def _soak_client(
    http: httpx.AsyncClient, url: str, rng: random.Random, jobs: list[dict[str, Any]]
) -> None:
    for _ in range(SOAK_JOBS_PER_CLIENT):
        kind = rng.choices(["generate", "upload", "export"], weights=[6, 3, 1])[0]
        count = -1
        if kind == "generate":
            count = rng.randint(1_000, 40_000)
            body = {"record_type": "soak", "count": count, "fields": SOAK_FIELDS}
            response = await _submit(http, f"{url}/generate", json=body)
        elif kind == "upload":
            count = rng.randint(100, 20_000)
            content = "n,name\n" + "".join(f"{i},x{i}\n" for i in range(1, count + 1))
            response = await _submit(
                http,
                f"{url}/upload",
                files={"file": ("s.csv", content.encode())},
                data={"record_type": "soak_upload"},
            )
        else:
            response = await _submit(
                http, f"{url}/export", json={"format": "csv", "record_type": "soak"}
            )
        assert response.status_code == 202, response.text
        jobs.append({"kind": kind, "count": count, "id": response.json()["job_id"]})
        await asyncio.sleep(rng.uniform(0, 0.3))


async def test_soak_through_postgres_restarts_and_redis_kills(
    own_service: Service,
    own_postgres: OwnPostgres,
    own_redis: OwnRedis,
    own_settings: Settings,
) -> None:
    """200 mixed jobs, two workers at --concurrency 4; Postgres restarted three times (fast,
    immediate, fast) and Redis killed twice meanwhile. Every job completes exactly, on its
    first attempt."""
    service = own_service
    service.api()
    for _ in range(2):
        service.start("worker", "--concurrency", "4")
    rng = random.Random(8)
    jobs: list[dict[str, Any]] = []
    started = time.monotonic()

    def restart_redis() -> None:
        own_redis.kill()
        time.sleep(0.5)
        own_redis.start()

    outages: list[Callable[[], None]] = [
        lambda: own_postgres.restart("fast"),
        restart_redis,
        lambda: own_postgres.restart("immediate"),
        restart_redis,
        lambda: own_postgres.restart("fast"),
    ]
    async with httpx.AsyncClient(timeout=30) as http:
        await service.ready(http)
        submitting = asyncio.gather(
            *(
                _soak_client(http, service.url, random.Random(rng.random()), jobs)
                for _ in range(SOAK_CLIENTS)
            )
        )
        for outage in outages:
            await asyncio.sleep(1.5)
            await asyncio.to_thread(outage)
        await submitting
    assert len(jobs) == SOAK_CLIENTS * SOAK_JOBS_PER_CLIENT

    ids = [uuid.UUID(j["id"]) for j in jobs]
    pg = await asyncpg.connect(
        own_settings.asyncpg_dsn, server_settings={"search_path": own_settings.database_schema}
    )
    try:
        while True:
            states = dict(
                await pg.fetch(
                    "SELECT status, count(*) FROM jobs WHERE id = ANY($1) GROUP BY status", ids
                )
            )
            if states.get("completed", 0) == len(ids):
                break
            assert not states.get("failed"), await _failed(pg, ids)
            assert not states.get("cancelled"), states
            assert time.monotonic() - started < 240, await _unfinished(pg, ids)
            await asyncio.sleep(0.5)
        elapsed = time.monotonic() - started
        rows = {
            r["id"]: r
            for r in await pg.fetch(
                COUNTS + "SELECT j.id, j.attempts, d.row_count, c.records, c.ns FROM jobs j "
                "LEFT JOIN datasets d ON d.job_id = j.id LEFT JOIN counts c ON c.dataset_id = d.id "
                "WHERE j.id = ANY($1)",
                ids,
            )
        }
    finally:
        await pg.close()
    total = 0
    for job in jobs:
        row = rows[uuid.UUID(job["id"])]
        assert row["attempts"] == 1, job  # no attempt was charged to an outage
        if job["kind"] != "export":
            assert row["row_count"] == row["records"] == row["ns"] == job["count"], job
            total += job["count"]
    print(
        f"\noutage soak: {len(jobs)} jobs, {total} rows, 3 Postgres restarts, "
        f"2 Redis kills, {elapsed:.1f} s"
    )


async def _failed(pg: asyncpg.Connection, ids: list[uuid.UUID]) -> list[str]:
    rows = await pg.fetch(
        "SELECT id, error FROM jobs WHERE id = ANY($1) AND status = 'failed'", ids
    )
    return [f"{r['id']}: {r['error']}" for r in rows]


async def _unfinished(pg: asyncpg.Connection, ids: list[uuid.UUID]) -> list[str]:
    rows = await pg.fetch(
        "SELECT id, type, status, attempts, progress_done, progress_total, updated_at, error "
        "FROM jobs WHERE id = ANY($1) AND status <> 'completed'",
        ids,
    )
    return [str(dict(r)) for r in rows]
