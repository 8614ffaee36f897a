"""Redis forgetting jobs, or failing them behind the worker's back: Postgres puts it right."""

from __future__ import annotations

import asyncio
import uuid

import bullmq
import httpx
import redis.asyncio as aioredis
from bullmq import UnrecoverableError
from sqlalchemy import text

from datatasks.core.config import QueueName, Settings
from datatasks.core.db import SessionMaker
from datatasks.core.queue import Queues, connection_options
from datatasks.worker.reconciler import reconcile_once
from tests.conftest import WaitJob, WorkerRunner
from tests.helpers import dispatch

GENERATE = {
    "record_type": "t",
    "count": 3_000,
    "seed": 1,
    "fields": [{"name": "n", "type": "sequence"}],
}


async def forget_all_jobs(settings: Settings) -> None:
    """What a Redis restart without persistence does to this test's queues."""
    redis = aioredis.from_url(str(settings.redis_url))
    keys = [k async for k in redis.scan_iter(match=f"{settings.queue_prefix}:*")]
    assert keys
    await redis.delete(*keys)
    await redis.aclose()


async def test_jobs_lost_by_redis_are_requeued_and_completed_once(
    settings: Settings,
    sessionmaker: SessionMaker,
    client: httpx.AsyncClient,
    run_worker: WorkerRunner,
    wait_job: WaitJob,
) -> None:
    job_ids = [(await client.post("/generate", json=GENERATE)).json()["job_id"] for _ in range(3)]
    assert await dispatch(settings) == 3
    await forget_all_jobs(settings)
    queues = Queues(settings)
    try:
        # Not yet quiet long enough: left alone (the API may be between commit and enqueue).
        assert (await reconcile_once(sessionmaker, queues, quiet_for_s=3600)).requeued == []
        outcome = await reconcile_once(sessionmaker, queues, quiet_for_s=0)
        assert sorted(map(str, outcome.requeued)) == sorted(job_ids)
        # Running it again (as another worker would) changes nothing.
        again = await reconcile_once(sessionmaker, queues, quiet_for_s=0)
        assert again.requeued == []
        assert again.failed == []
    finally:
        await queues.close()

    run_worker.start()
    for job_id in job_ids:
        job = await wait_job(job_id)
        assert job["result"]["rows"] == 3_000
    async with sessionmaker() as session:
        rows = (await session.execute(text("SELECT count(*) FROM records"))).scalar()
    assert rows == 3 * 3_000


async def test_a_job_the_queue_failed_without_the_worker_is_failed_in_postgres(
    settings: Settings, sessionmaker: SessionMaker, client: httpx.AsyncClient, wait_job: WaitJob
) -> None:
    job_id = (await client.post("/generate", json=GENERATE)).json()["job_id"]
    assert await dispatch(settings) == 1

    # A consumer that fails the queue job without recording anything in Postgres, as bullmq
    # does to a job that stalled more than maxStalledCount times.
    async def give_up(job: bullmq.Job, token: str) -> None:
        raise UnrecoverableError("job stalled more than allowable limit")

    worker = bullmq.Worker(QueueName.generation.value, give_up, connection_options(settings))
    queues = Queues(settings)
    try:
        queue = queues.get(QueueName.generation)
        while await queue.getJobState(job_id) != "failed":
            await asyncio.sleep(0.02)
        await worker.close()
        outcome = await reconcile_once(sessionmaker, queues, quiet_for_s=0)
    finally:
        await queues.close()
    assert outcome.failed == [uuid.UUID(job_id)]
    job = await wait_job(job_id, statuses=("failed",), timeout=1)
    assert job["error"]["message"] == "job stalled more than allowable limit"
    assert job["finished_at"] is not None


async def test_webhook_deliveries_lost_by_redis_are_dispatched_again(
    settings: Settings, sessionmaker: SessionMaker, client: httpx.AsyncClient
) -> None:
    job_id = (await client.post("/generate", json=GENERATE)).json()["job_id"]
    async with sessionmaker() as session, session.begin():
        # The job ends with a callback: the trigger writes its delivery. Say it was dispatched,
        # and Redis then lost it.
        await session.execute(
            text(
                "UPDATE jobs SET callback_url = 'https://hooks.example.com/x', "
                "status = 'cancelled' WHERE id = :id"
            ),
            {"id": job_id},
        )
        await session.execute(text("UPDATE webhook_deliveries SET dispatched = true"))
    queues = Queues(settings)
    try:
        quiet = await reconcile_once(sessionmaker, queues, quiet_for_s=3600)
        assert quiet.deliveries == []
        outcome = await reconcile_once(sessionmaker, queues, quiet_for_s=0)
        assert len(outcome.deliveries) == 1
        async with sessionmaker() as session:
            row = (
                await session.execute(text("SELECT event, dispatched FROM webhook_deliveries"))
            ).one()
        assert tuple(row) == ("job.cancelled", False)
    finally:
        await queues.close()
