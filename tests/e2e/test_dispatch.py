"""Commit, then dispatch: a job the API accepted is queued and runs exactly once, whatever dies
between its commit and its queue - the API, or a dispatcher in the middle of a batch."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis

from datatasks.core.config import QueueName, Settings
from datatasks.core.db import create_copy_pool
from datatasks.core.queue import QueuedJob, Queues
from datatasks.worker.dispatcher import Dispatcher
from tests.e2e.conftest import FIELDS, Service
from tests.e2e.test_faults import kill

pytestmark = pytest.mark.e2e

RECORDS = 5
BODY = {"record_type": "u", "seed": 1, "fields": FIELDS, "count": RECORDS}


async def submit_while_up(http: httpx.AsyncClient, url: str, accepted: list[str]) -> None:
    """POST jobs until the API stops answering."""
    while True:
        try:
            response = await http.post(f"{url}/generate", json=BODY)
        except httpx.TransportError:
            return
        if response.status_code == 202:
            accepted.append(response.json()["job_id"])


async def submit(http: httpx.AsyncClient, url: str, jobs: int) -> list[str]:
    async def one(_: int) -> str:
        response = await http.post(f"{url}/generate", json=BODY)
        assert response.status_code == 202, response.text
        job_id: str = response.json()["job_id"]
        return job_id

    ids: list[str] = []
    for start in range(0, jobs, 50):
        ids += await asyncio.gather(*(one(i) for i in range(start, min(start + 50, jobs))))
    return ids


async def queued(settings: Settings) -> int:
    redis = aioredis.from_url(str(settings.redis_url))
    try:
        return int(await redis.llen(f"{settings.queue_prefix}:{QueueName.generation}:wait"))
    finally:
        await redis.aclose()


async def assert_each_ran_exactly_once(pg: asyncpg.Connection, jobs: int) -> None:
    """Every job row completed, on its first attempt, with exactly its records: none is
    stranded, none ran twice."""
    async with asyncio.timeout(120):
        while await pg.fetchval("SELECT count(*) FROM jobs WHERE status <> 'completed'"):
            await asyncio.sleep(0.2)
    assert await pg.fetchval("SELECT count(*) FROM jobs") == jobs
    assert await pg.fetchval("SELECT count(*) FROM jobs WHERE attempts <> 1") == 0
    assert await pg.fetchval("SELECT count(*) FROM job_outbox") == 0
    per_dataset = await pg.fetch(
        "SELECT count(*) AS n, count(DISTINCT data->>'n') AS distinct_n "
        "FROM records GROUP BY dataset_id"
    )
    assert len(per_dataset) == jobs
    assert {(r["n"], r["distinct_n"]) for r in per_dataset} == {(RECORDS, RECORDS)}


async def test_an_api_killed_with_requests_in_flight_loses_no_accepted_job(
    service: Service, http: httpx.AsyncClient, pg: asyncpg.Connection
) -> None:
    api = service.api()
    await service.ready(http)
    accepted: list[str] = []
    clients = [asyncio.create_task(submit_while_up(http, service.url, accepted)) for _ in range(8)]
    async with asyncio.timeout(30):
        while len(accepted) < 60:
            await asyncio.sleep(0.01)
    kill(api)  # SIGKILL: committed jobs with requests still in flight, none dispatched
    await asyncio.gather(*clients)

    committed = {str(r["id"]) for r in await pg.fetch("SELECT id FROM jobs")}
    assert set(accepted) <= committed  # every 202 was a commit
    assert await pg.fetchval("SELECT count(*) FROM job_outbox") == len(committed)

    service.start("worker", "--queues", "generation", "--concurrency", "4")
    await assert_each_ran_exactly_once(pg, len(committed))


class _Killed(BaseException):
    """The dispatcher's process dying."""


class _DiesAfterAdding(Queues):
    """Adds the batch to Redis for real, then dies before the outbox transaction commits."""

    async def enqueue_many(self, name: QueueName, jobs: list[QueuedJob]) -> None:
        await super().enqueue_many(name, jobs)
        raise _Killed


async def test_a_dispatcher_dying_between_redis_and_its_commit_runs_nothing_twice(
    service: Service, http: httpx.AsyncClient, pg: asyncpg.Connection, settings: Settings
) -> None:
    service.api()
    await service.ready(http)
    ids = await submit(http, service.url, 40)

    pool = await create_copy_pool(settings, size=1)
    # The first add loads bullmq's scripts into Redis: on a loaded CI machine that can take
    # longer than the 2 s the API allows a dependency, and this test is not about that.
    queues = _DiesAfterAdding(settings.model_copy(update={"dependency_timeout_s": 30.0}))
    try:
        with pytest.raises(_Killed):
            await Dispatcher(settings, pool, queues).dispatch_once()
    finally:
        await queues.close()
        await pool.close()
    # In Redis, and still in the outbox: the next dispatcher adds them again (a no-op).
    assert await queued(settings) == len(ids)
    assert await pg.fetchval("SELECT count(*) FROM job_outbox") == len(ids)

    service.start("worker", "--queues", "generation", "--concurrency", "4")
    await assert_each_ran_exactly_once(pg, len(ids))


async def test_dispatchers_killed_at_random_points_strand_nothing_and_double_nothing(
    service: Service, http: httpx.AsyncClient, pg: asyncpg.Connection, settings: Settings
) -> None:
    batch = 20
    service.env["DISPATCH_BATCH"] = str(batch)
    service.api()
    await service.ready(http)
    jobs = batch * 8 + 5  # several batches, so a kill can land inside one or between two
    await submit(http, service.url, jobs)

    left = [await pg.fetchval("SELECT count(*) FROM job_outbox")]
    while left[-1] and len(left) <= 3:
        # A worker that consumes nothing of these jobs: it is there for its dispatcher. It is
        # killed the moment it has queued anything - inside its first batch or just after.
        dispatcher = service.start("worker", "--queues", "ingest")
        before = await queued(settings)
        async with asyncio.timeout(30):
            while await queued(settings) == before and dispatcher.poll() is None:
                await asyncio.sleep(0.001)
        kill(dispatcher)
        left.append(await pg.fetchval("SELECT count(*) FROM job_outbox"))
    assert left[0] == jobs
    assert left[1] > 0, "killed while the outbox still had batches to go"

    service.start("worker", "--queues", "generation", "--concurrency", "8")
    await assert_each_ran_exactly_once(pg, jobs)
