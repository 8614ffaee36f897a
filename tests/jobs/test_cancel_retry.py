"""Operating on jobs: cancel (pending at once, running cooperatively) and retry dead letters."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from sqlalchemy import text

from datatasks.core.config import QueueName, Settings
from datatasks.core.db import SessionMaker
from datatasks.jobs.execution import TaskContext
from tests.conftest import WaitJob, WorkerRunner
from tests.helpers import queue_state

BIG = {
    "record_type": "t",
    "count": 3_000_000,
    "seed": 1,
    "fields": [{"name": "n", "type": "sequence"}, {"name": "s", "type": "sentence"}],
}
SMALL = {"record_type": "t", "count": 10, "fields": [{"name": "n", "type": "sequence"}]}


async def count(sessionmaker: SessionMaker, table: str) -> int:
    async with sessionmaker() as session:
        value = (await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar()
        return int(value or 0)


async def test_a_pending_job_is_cancelled_at_once(
    client: httpx.AsyncClient,
    settings: Settings,
    sessionmaker: SessionMaker,
    run_worker: WorkerRunner,
    wait_job: WaitJob,
) -> None:
    job_id = (await client.post("/generate", json=SMALL)).json()["job_id"]
    response = await client.post(f"/jobs/{job_id}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["finished_at"] is not None
    assert await queue_state(settings, job_id) == "unknown"
    run_worker.start()
    await asyncio.sleep(0.5)
    assert (await wait_job(job_id, statuses=("cancelled",), timeout=1))["attempts"] == 0
    assert await count(sessionmaker, "datasets") == 0


async def test_a_running_job_stops_at_its_next_chunk_and_leaves_nothing(
    client: httpx.AsyncClient,
    settings: Settings,
    sessionmaker: SessionMaker,
    run_worker: WorkerRunner,
    wait_job: WaitJob,
) -> None:
    run_worker.start(settings=settings.model_copy(update={"generate_chunk_size": 1_000}))
    job_id = (await client.post("/generate", json=BIG)).json()["job_id"]
    async with asyncio.timeout(30):
        while (await client.get(f"/status/{job_id}")).json()["progress"]["done"] == 0:
            await asyncio.sleep(0.02)
    assert (await client.post(f"/jobs/{job_id}/cancel")).status_code == 200
    async with asyncio.timeout(30):
        while await queue_state(settings, job_id) == "active":
            await asyncio.sleep(0.05)
    job = await wait_job(job_id, statuses=("cancelled",), timeout=1)
    assert job["progress_done"] < 3_000_000
    assert await count(sessionmaker, "records") == 0, "the partial dataset is removed"
    assert await count(sessionmaker, "datasets") == 0


async def test_finished_and_unknown_jobs_cannot_be_cancelled(
    client: httpx.AsyncClient, run_worker: WorkerRunner, wait_job: WaitJob
) -> None:
    run_worker.start()
    job_id = (await client.post("/generate", json=SMALL)).json()["job_id"]
    await wait_job(job_id)
    response = await client.post(f"/jobs/{job_id}/cancel")
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert (await client.post(f"/jobs/{uuid.uuid4()}/cancel")).status_code == 404
    assert (await client.post(f"/jobs/{job_id}/retry")).status_code == 409


async def test_a_dead_letter_is_retried_from_a_fresh_attempt_count(
    client: httpx.AsyncClient, settings: Settings, run_worker: WorkerRunner, wait_job: WaitJob
) -> None:
    calls = 0

    async def fails_three_times(ctx: TaskContext, job_id: uuid.UUID) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls <= 3:
            raise RuntimeError(f"boom {calls}")
        return {"rows": 10}

    run_worker.start(handlers={QueueName.generation: fails_three_times})
    job_id = (await client.post("/generate", json=SMALL)).json()["job_id"]
    failed = await wait_job(job_id, statuses=("failed",))
    assert failed["attempts"] == 3
    listed = (await client.get("/jobs", params={"status": "failed"})).json()["items"]
    assert listed[0]["error"]["message"] == "boom 3"

    response = await client.post(f"/jobs/{job_id}/retry")
    assert response.status_code == 202
    assert response.headers["location"] == f"/status/{job_id}"
    assert response.json()["status"] == "pending"
    assert response.json()["attempts"] == 0
    done = await wait_job(job_id)
    assert done["result"] == {"rows": 10}
    assert done["attempts"] == 1
    assert done["error"] is None
