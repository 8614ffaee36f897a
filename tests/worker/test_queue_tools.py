"""Queue dashboards agree with the database: what a BullMQ tool (Node's bullmq, Bull Board's
library) shows of a job, and a retry from it of a dead-lettered job."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from datatasks.core.config import QueueName, Settings
from datatasks.core.db import SessionMaker
from datatasks.core.errors import JobFailed
from datatasks.generation.task import run_generation
from datatasks.jobs.execution import TaskContext
from datatasks.models import Job
from tests.conftest import WaitJob, WorkerRunner
from tests.fixtures.queue_tool import QueueTool
from tests.helpers import generate, queue_state

GENERATE = {"record_type": "people", "count": 10, "fields": [{"name": "id", "type": "uuid"}]}
pytestmark = pytest.mark.timeout(120)


async def test_a_board_shows_the_jobs_type_record_type_and_size(
    settings: Settings,
    client: httpx.AsyncClient,
    run_worker: WorkerRunner,
    wait_job: WaitJob,
    queue_tool: QueueTool,
) -> None:
    job_id = await generate(client, GENERATE)
    run_worker.start()
    await wait_job(job_id)
    shown = queue_tool(settings, "show", "generation", job_id)
    assert shown["name"] == "generate"
    data = shown["data"]
    assert data.pop("request_id", None) is not None, "the request that created it"
    assert data == {"job_id": job_id, "type": "generate", "record_type": "people", "records": 10}


async def test_a_queue_retry_of_a_dead_letter_runs_it_as_the_api_retry_would(
    settings: Settings,
    client: httpx.AsyncClient,
    run_worker: WorkerRunner,
    wait_job: WaitJob,
    queue_tool: QueueTool,
) -> None:
    calls = 0

    async def fails_once(ctx: TaskContext, job_id: uuid.UUID) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise JobFailed("the first try fails")
        return await run_generation(ctx, job_id)

    job_id = await generate(client, GENERATE)
    run_worker.start(handlers={QueueName.generation: fails_once})
    await wait_job(job_id, statuses=("failed",))
    assert await queue_state(settings, job_id) == "failed"

    assert queue_tool(settings, "retry", "generation", job_id)["state"] in ("waiting", "active")
    job = await wait_job(job_id)
    assert job["status"] == "completed"
    assert job["error"] is None
    assert job["result"]["rows"] == 10
    assert await queue_state(settings, job_id) == "completed"


async def test_a_stale_delivery_of_a_dead_letter_stays_visibly_failed(
    settings: Settings,
    client: httpx.AsyncClient,
    run_worker: WorkerRunner,
    sessionmaker: SessionMaker,
    queue_tool: QueueTool,
) -> None:
    """The row is dead-lettered, but the queue never saw it fail (a worker died in between):
    the delivery is refused, and the queue shows it failed with the way to retry it."""
    job_id = await generate(client, GENERATE)
    async with sessionmaker() as session:
        await session.execute(
            update(Job).where(Job.id == uuid.UUID(job_id)).values(status="failed", attempts=3)
        )
        await session.commit()
    run_worker.start()
    async with asyncio.timeout(30):
        while await queue_state(settings, job_id) != "failed":
            await asyncio.sleep(0.05)
    shown = queue_tool(settings, "show", "generation", job_id)
    assert f"POST /jobs/{job_id}/retry" in shown["failedReason"]
    assert (await client.get(f"/status/{job_id}")).json()["status"] == "failed"
