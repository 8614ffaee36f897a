"""Retries, dead letters, timeouts and shutdown, through the real bullmq worker loop."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import bullmq
import httpx

from datatasks.core.config import QueueName, QueueSettings, Settings
from datatasks.core.errors import JobFailed
from datatasks.core.queue import Queues, connection_options
from datatasks.worker.context import TaskContext
from datatasks.worker.processor import Processor

GENERATE = {"record_type": "t", "count": 10, "fields": [{"name": "id", "type": "uuid"}]}


async def submit(client: httpx.AsyncClient) -> str:
    response = await client.post("/generate", json=GENERATE)
    assert response.status_code == 202
    job_id: str = response.json()["job_id"]
    return job_id


async def queue_state(settings: Settings, job_id: str) -> str:
    queues = Queues(settings)
    try:
        state: str = await queues.get(QueueName.generation).getJobState(job_id)
        return state
    finally:
        await queues.close()


async def test_a_failing_job_is_retried_then_dead_lettered(
    settings: Settings, client: httpx.AsyncClient, run_worker: Any, wait_job: Any
) -> None:
    calls: list[uuid.UUID] = []

    async def flaky(ctx: TaskContext, job_id: uuid.UUID) -> dict[str, Any]:
        calls.append(job_id)
        raise RuntimeError(f"boom {len(calls)}")

    job_id = await submit(client)
    run_worker.start(handlers={QueueName.generation: flaky})
    job = await wait_job(job_id, statuses=("failed",))
    assert len(calls) == 3
    assert job["attempts"] == 3
    assert job["error"] == {
        "message": "boom 3",
        "type": "RuntimeError",
        "attempt": 3,
        "final": True,
    }
    assert job["finished_at"] is not None
    assert await queue_state(settings, job_id) == "failed"
    listed = (await client.get("/jobs", params={"status": "failed"})).json()["items"]
    assert [j["id"] for j in listed] == [job_id]


async def test_a_retry_that_succeeds_completes_and_clears_the_error(
    client: httpx.AsyncClient, run_worker: Any, wait_job: Any
) -> None:
    calls = 0

    async def second_time_lucky(ctx: TaskContext, job_id: uuid.UUID) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionResetError("database went away")
        return {"rows": 10}

    job_id = await submit(client)
    run_worker.start(handlers={QueueName.generation: second_time_lucky})
    job = await wait_job(job_id)
    assert job["attempts"] == 2
    assert job["error"] is None
    assert job["result"] == {"rows": 10}


async def test_job_failed_is_not_retried(
    settings: Settings, client: httpx.AsyncClient, run_worker: Any, wait_job: Any
) -> None:
    async def hopeless(ctx: TaskContext, job_id: uuid.UUID) -> dict[str, Any]:
        raise JobFailed("no such dataset")

    job_id = await submit(client)
    run_worker.start(handlers={QueueName.generation: hopeless})
    job = await wait_job(job_id, statuses=("failed",))
    assert job["attempts"] == 1
    assert job["error"]["message"] == "no such dataset"
    assert await queue_state(settings, job_id) == "failed"


async def test_an_attempt_past_the_timeout_fails_and_is_retried(
    settings: Settings, client: httpx.AsyncClient, run_worker: Any, wait_job: Any
) -> None:
    # Attempts are fixed when the API enqueues; the timeout is the worker's.
    worker_settings = settings.model_copy(
        update={
            "queues": {
                **settings.queues,
                QueueName.generation: QueueSettings(backoff_ms=10, timeout_s=0.2),
            }
        }
    )
    cancelled = 0

    async def slow(ctx: TaskContext, job_id: uuid.UUID) -> dict[str, Any]:
        nonlocal cancelled
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled += 1
            raise
        return {}

    job_id = await submit(client)
    run_worker.start(handlers={QueueName.generation: slow}, settings=worker_settings)
    job = await wait_job(job_id, statuses=("failed",))
    assert job["attempts"] == 3
    assert job["error"]["message"] == "attempt timed out after 0.2 s"
    assert cancelled == 3, "the handler was not stopped at the timeout"


async def test_shutdown_lets_a_running_job_finish_within_the_grace_period(
    client: httpx.AsyncClient, run_worker: Any, wait_job: Any
) -> None:
    started = asyncio.Event()

    async def short(ctx: TaskContext, job_id: uuid.UUID) -> dict[str, Any]:
        started.set()
        await asyncio.sleep(0.5)
        return {"ok": True}

    job_id = await submit(client)
    stop = run_worker.start(handlers={QueueName.generation: short})
    await asyncio.wait_for(started.wait(), 10)
    stop.set()
    await run_worker.stop()
    job = await wait_job(job_id, timeout=1)
    assert job["result"] == {"ok": True}


async def test_shutdown_past_the_grace_period_releases_the_job_to_another_worker(
    settings: Settings, client: httpx.AsyncClient, run_worker: Any, wait_job: Any
) -> None:
    settings = settings.model_copy(update={"shutdown_grace_s": 0.2})
    runs = 0

    async def long(ctx: TaskContext, job_id: uuid.UUID) -> dict[str, Any]:
        nonlocal runs
        runs += 1
        if runs == 1:
            await asyncio.sleep(60)
        return {"run": runs}

    job_id = await submit(client)
    stop = run_worker.start(handlers={QueueName.generation: long}, settings=settings)
    async with asyncio.timeout(10):
        while runs == 0:
            await asyncio.sleep(0.01)
    stop.set()
    await run_worker.stop()
    job = await wait_job(job_id, statuses=("pending",), timeout=1)
    assert job["error"] is None, "a clean shutdown is not a failure"

    # Released at once (not after the lock expires): the next worker finishes it promptly.
    run_worker.start(handlers={QueueName.generation: long}, settings=settings)
    job = await wait_job(job_id, timeout=5)
    assert job["result"] == {"run": 2}
    assert job["attempts"] == 1


async def test_a_job_fetched_but_never_started_is_released_at_shutdown(
    settings: Settings, sessionmaker: Any, client: httpx.AsyncClient
) -> None:
    # bullmq's loop can stop while a fetch completes; the job is then active and locked with
    # nobody on it. Here the fetch is done by hand and the processor never called.
    job_id = await submit(client)
    processor = Processor(
        TaskContext(settings, sessionmaker, None, None),  # type: ignore[arg-type]
        QueueName.generation,
        lambda ctx, job_id: asyncio.sleep(0, {}),
    )
    worker = bullmq.Worker(
        QueueName.generation.value, processor, {**connection_options(settings), "autorun": False}
    )
    worker.on("active", processor.on_active)
    fetched = await worker.getNextJob("test-token")
    assert fetched is not None
    assert str(fetched.id) == job_id
    await worker.close()
    assert await queue_state(settings, job_id) == "active"

    queues = Queues(settings)
    try:
        await processor.release_unstarted(queues.get(QueueName.generation))
    finally:
        await queues.close()
    assert await queue_state(settings, job_id) in ("delayed", "waiting")
