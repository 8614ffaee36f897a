"""Retries, dead letters, timeouts and shutdown, through the real bullmq worker loop."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import bullmq
import httpx
import pytest

from datatasks.core.config import QueueName, QueueSettings, Settings
from datatasks.core.db import PostgresUnavailable, SessionMaker
from datatasks.core.errors import JobFailed
from datatasks.core.queue import Queues, connection_options
from datatasks.jobs.execution import TaskContext
from datatasks.worker.processor import Processor
from tests.conftest import WaitJob, WorkerRunner
from tests.helpers import dispatch, generate, queue_state

GENERATE = {"record_type": "t", "count": 10, "fields": [{"name": "id", "type": "uuid"}]}


async def test_a_failing_job_is_retried_then_dead_lettered(
    settings: Settings, client: httpx.AsyncClient, run_worker: WorkerRunner, wait_job: WaitJob
) -> None:
    calls: list[uuid.UUID] = []

    async def flaky(ctx: TaskContext, job_id: uuid.UUID) -> dict[str, Any]:
        calls.append(job_id)
        raise RuntimeError(f"boom {len(calls)}")

    job_id = await generate(client, GENERATE)
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
    client: httpx.AsyncClient, run_worker: WorkerRunner, wait_job: WaitJob
) -> None:
    calls = 0

    async def second_time_lucky(ctx: TaskContext, job_id: uuid.UUID) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionResetError("database went away")
        return {"rows": 10}

    job_id = await generate(client, GENERATE)
    run_worker.start(handlers={QueueName.generation: second_time_lucky})
    job = await wait_job(job_id)
    assert job["attempts"] == 2
    assert job["error"] is None
    assert job["result"] == {"rows": 10}


async def test_a_retry_due_after_a_long_backoff_runs_with_nothing_else_to_wake_the_worker(
    settings: Settings, client: httpx.AsyncClient, run_worker: WorkerRunner, wait_job: WaitJob
) -> None:
    # A backoff past redis-py's default socket timeout (5 s) made bullmq's blocking wait fail
    # and retry for minutes: the retry only ran when another job happened to arrive.
    calls = 0

    async def second_time_lucky(ctx: TaskContext, job_id: uuid.UUID) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("not yet")
        return {"rows": 10}

    slow_retry = settings.model_copy(
        update={
            "queues": {
                **settings.queues,
                QueueName.generation: QueueSettings(backoff_ms=6_000, stalled_interval_ms=1_000),
            }
        }
    )
    job_id = await generate(client, GENERATE)
    run_worker.start(handlers={QueueName.generation: second_time_lucky}, settings=slow_retry)
    job = await wait_job(job_id, timeout=20)
    assert job["attempts"] == 2


async def test_job_failed_is_not_retried(
    settings: Settings, client: httpx.AsyncClient, run_worker: WorkerRunner, wait_job: WaitJob
) -> None:
    async def hopeless(ctx: TaskContext, job_id: uuid.UUID) -> dict[str, Any]:
        raise JobFailed("no such dataset")

    job_id = await generate(client, GENERATE)
    run_worker.start(handlers={QueueName.generation: hopeless})
    job = await wait_job(job_id, statuses=("failed",))
    assert job["attempts"] == 1
    assert job["error"]["message"] == "no such dataset"
    assert await queue_state(settings, job_id) == "failed"


async def test_an_attempt_past_the_timeout_fails_and_is_retried(
    settings: Settings, client: httpx.AsyncClient, run_worker: WorkerRunner, wait_job: WaitJob
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

    job_id = await generate(client, GENERATE)
    run_worker.start(handlers={QueueName.generation: slow}, settings=worker_settings)
    job = await wait_job(job_id, statuses=("failed",))
    assert job["attempts"] == 3
    assert job["error"]["message"] == "attempt timed out after 0.2 s"
    assert cancelled == 3, "the handler was not stopped at the timeout"


async def test_shutdown_lets_a_running_job_finish_within_the_grace_period(
    settings: Settings, client: httpx.AsyncClient, run_worker: WorkerRunner, wait_job: WaitJob
) -> None:
    # The job outlives the lock duration (4 s here), with a second worker waiting: the stopping
    # worker must keep renewing its lock, or the other one starts the same job meanwhile.
    lock_s = settings.queue(QueueName.generation).lock_duration_ms / 1000
    settings = settings.model_copy(update={"shutdown_grace_s": lock_s * 3})
    calls: list[str] = []

    async def long(ctx: TaskContext, job_id: uuid.UUID) -> dict[str, Any]:
        calls.append("start")
        await asyncio.sleep(lock_s * 1.5)
        calls.append("end")
        return {"ok": True}

    job_id = await generate(client, GENERATE)
    first = run_worker.start(handlers={QueueName.generation: long}, settings=settings)
    async with asyncio.timeout(10):
        while not calls:
            await asyncio.sleep(0.01)
    run_worker.start(handlers={QueueName.generation: long}, settings=settings)
    assert await first.stop() == 0
    job = await wait_job(job_id, timeout=1)
    assert job["result"] == {"ok": True}
    assert calls == ["start", "end"], "another worker ran the job during the grace period"


async def test_shutdown_past_the_grace_period_releases_the_job_to_another_worker(
    settings: Settings, client: httpx.AsyncClient, run_worker: WorkerRunner, wait_job: WaitJob
) -> None:
    settings = settings.model_copy(update={"shutdown_grace_s": 0.2})
    runs = 0

    async def long(ctx: TaskContext, job_id: uuid.UUID) -> dict[str, Any]:
        nonlocal runs
        runs += 1
        if runs == 1:
            await asyncio.sleep(60)
        return {"run": runs}

    job_id = await generate(client, GENERATE)
    first = run_worker.start(handlers={QueueName.generation: long}, settings=settings)
    async with asyncio.timeout(10):
        while runs == 0:
            await asyncio.sleep(0.01)
    assert await first.stop() == 0
    job = await wait_job(job_id, statuses=("pending",), timeout=1)
    assert job["error"] is None, "a clean shutdown is not a failure"
    # Released at once, not left active for its lock to expire.
    assert await queue_state(settings, job_id) in ("delayed", "waiting")

    run_worker.start(handlers={QueueName.generation: long}, settings=settings)
    job = await wait_job(job_id, timeout=5)
    assert job["result"] == {"run": 2}
    assert job["attempts"] == 1


async def test_a_job_fetched_but_never_started_is_released_at_shutdown(
    settings: Settings, sessionmaker: SessionMaker, client: httpx.AsyncClient
) -> None:
    # bullmq's loop can stop while a fetch completes; the job is then active and locked with
    # nobody on it. Here the fetch is done by hand and the processor never called.
    job_id = await generate(client, GENERATE)
    processor = Processor(
        TaskContext(settings, sessionmaker, None, None, None),  # type: ignore[arg-type]
        QueueName.generation,
        lambda ctx, job_id: asyncio.sleep(0, {}),
    )
    worker = bullmq.Worker(
        QueueName.generation.value, processor, {**connection_options(settings), "autorun": False}
    )
    worker.on("active", processor.on_active)
    await dispatch(settings)
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


async def fetch_one(settings: Settings, processor: Processor) -> tuple[bullmq.Worker, bullmq.Job]:
    await dispatch(settings)
    worker = bullmq.Worker(
        QueueName.generation.value, processor, {**connection_options(settings), "autorun": False}
    )
    job = await worker.getNextJob("test-token")
    assert job is not None
    return worker, job


async def test_postgres_down_at_start_hands_the_job_back_without_spending_an_attempt(
    base_settings: Settings, settings: Settings, client: httpx.AsyncClient
) -> None:
    from datatasks.core.db import create_engine, create_sessionmaker

    job_id = await generate(client, GENERATE)
    down = base_settings.model_copy(
        update={
            "database_url": "postgresql://postgres@127.0.0.1:1/postgres",
            "dependency_timeout_s": 0.5,
        }
    )
    engine = create_engine(down)
    processor = Processor(
        TaskContext(settings, create_sessionmaker(engine), None, None, None),  # type: ignore[arg-type]
        QueueName.generation,
        lambda ctx, job_id: asyncio.sleep(0, {}),
    )
    worker, job = await fetch_one(settings, processor)
    try:
        with pytest.raises(bullmq.DelayedError):
            await processor(job, "test-token")
        assert await queue_state(settings, job_id) == "delayed"
        queues = Queues(settings)
        try:
            again = await queues.get(QueueName.generation).getJob(job_id)
        finally:
            await queues.close()
        assert again.attemptsMade == 0
    finally:
        await worker.close()
        await engine.dispose()


async def test_a_delivery_that_lost_its_lock_stops_and_leaves_the_job_alone(
    settings: Settings, sessionmaker: SessionMaker, client: httpx.AsyncClient, wait_job: WaitJob
) -> None:
    started = asyncio.Event()

    async def long(ctx: TaskContext, job_id: uuid.UUID) -> dict[str, Any]:
        started.set()
        await asyncio.sleep(60)
        return {}

    job_id = await generate(client, GENERATE)
    processor = Processor(
        TaskContext(settings, sessionmaker, None, None, None),  # type: ignore[arg-type]
        QueueName.generation,
        long,
    )
    worker, job = await fetch_one(settings, processor)
    try:
        running = asyncio.create_task(processor(job, "test-token"))
        await asyncio.wait_for(started.wait(), 5)
        processor.on_lock_renewal_failed([job_id])
        with pytest.raises(bullmq.DelayedError):
            await asyncio.wait_for(running, 5)
    finally:
        await worker.close()
    # Not released, not failed: whoever holds the job now decides.
    row = await wait_job(job_id, statuses=("in_progress",), timeout=1)
    assert row["lease"] is not None
    assert row["error"] is None


async def test_a_stale_delivery_cannot_finish_a_job_another_delivery_owns(
    sessionmaker: SessionMaker, client: httpx.AsyncClient, wait_job: WaitJob
) -> None:
    from datatasks.jobs import lifecycle

    job_id = uuid.UUID(await generate(client, GENERATE))
    assert await lifecycle.start(sessionmaker, job_id, 1, "old-token")
    assert await lifecycle.start(sessionmaker, job_id, 1, "new-token")  # re-delivered
    await lifecycle.fail(sessionmaker, job_id, "old-token", {"message": "late"}, final=True)
    await lifecycle.complete(sessionmaker, job_id, "old-token", {"rows": 1})
    row = await wait_job(job_id, statuses=("in_progress",), timeout=1)
    assert row["lease"] == "new-token"
    await lifecycle.complete(sessionmaker, job_id, "new-token", {"rows": 2})
    row = await wait_job(job_id, timeout=1)
    assert row["result"] == {"rows": 2}


async def test_postgres_lost_mid_job_hands_it_back_without_spending_an_attempt(
    settings: Settings, client: httpx.AsyncClient, run_worker: WorkerRunner, wait_job: WaitJob
) -> None:
    runs = 0

    async def interrupted(ctx: TaskContext, job_id: uuid.UUID) -> dict[str, Any]:
        nonlocal runs
        runs += 1
        if runs < 3:
            # What a handler meets when Postgres restarts under it (see core/db.guarded).
            raise PostgresUnavailable("Postgres dropped the connection")
        return {"runs": runs}

    job_id = await generate(client, GENERATE)
    run_worker.start(handlers={QueueName.generation: interrupted})
    job = await wait_job(job_id)
    assert job["result"] == {"runs": 3}
    # The third delivery was still the first attempt: attempts made when it started, 0.
    assert job["attempts"] == 1
    assert job["error"] is None


async def test_a_statement_postgres_refuses_fails_the_job_at_once(
    settings: Settings, client: httpx.AsyncClient, run_worker: WorkerRunner, wait_job: WaitJob
) -> None:
    async def too_wide(ctx: TaskContext, job_id: uuid.UUID) -> dict[str, Any]:
        columns = ", ".join(f"{i}" for i in range(1_700))
        async with ctx.connect() as conn:
            await conn.fetch(f"SELECT {columns}")
        return {}

    job_id = await generate(client, GENERATE)
    run_worker.start(handlers={QueueName.generation: too_wide})
    job = await wait_job(job_id, statuses=("failed",))
    assert job["attempts"] == 1
    assert job["error"]["type"] == "TooManyColumnsError"
    assert job["error"]["final"] is True


async def test_deliveries_that_share_a_lock_token_each_finish_once(
    settings: Settings, sessionmaker: SessionMaker, client: httpx.AsyncClient, wait_job: WaitJob
) -> None:
    # bullmq-python 3.4 gives jobs fetched in one go the same token; nothing here may depend
    # on tokens being unique.
    ids = [await generate(client, GENERATE) for _ in range(3)]
    release = asyncio.Event()

    async def waits(ctx: TaskContext, job_id: uuid.UUID) -> dict[str, Any]:
        await release.wait()
        return {"ok": True}

    processor = Processor(
        TaskContext(settings, sessionmaker, None, None, None),  # type: ignore[arg-type]
        QueueName.generation,
        waits,
    )
    worker = bullmq.Worker(
        QueueName.generation.value, processor, {**connection_options(settings), "autorun": False}
    )
    try:
        await dispatch(settings)
        jobs = [await worker.getNextJob("shared-token") for _ in ids]
        running = [asyncio.create_task(processor(job, "shared-token")) for job in jobs]
        async with asyncio.timeout(5):
            while processor.inflight < len(ids):
                await asyncio.sleep(0.01)
        release.set()
        results = await asyncio.gather(*running)
    finally:
        await worker.close()
    assert results == [{"ok": True}] * len(ids)
    for job_id in ids:
        row = await wait_job(job_id, timeout=1)
        assert row["attempts"] == 1


async def test_a_handler_that_errs_on_its_way_out_of_a_shutdown_is_released_not_failed(
    settings: Settings, client: httpx.AsyncClient, run_worker: WorkerRunner, wait_job: WaitJob
) -> None:
    # Stopped mid-transaction on a dead connection, a handler leaves with the transaction's
    # error instead of CancelledError; the shutdown stopped it, so no attempt is spent.
    settings = settings.model_copy(update={"shutdown_grace_s": 0.2})
    runs = 0

    async def stuck(ctx: TaskContext, job_id: uuid.UUID) -> dict[str, Any]:
        nonlocal runs
        runs += 1
        if runs == 1:
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                raise asyncpg.InterfaceError(
                    "cannot call Transaction.__aexit__(): the underlying connection is closed"
                ) from None
        return {"run": runs}

    job_id = await generate(client, GENERATE)
    first = run_worker.start(handlers={QueueName.generation: stuck}, settings=settings)
    async with asyncio.timeout(10):
        while runs == 0:
            await asyncio.sleep(0.01)
    assert await first.stop() == 0
    job = await wait_job(job_id, statuses=("pending",), timeout=1)
    assert job["error"] is None
    run_worker.start(handlers={QueueName.generation: stuck}, settings=settings)
    job = await wait_job(job_id, timeout=5)
    assert job["result"] == {"run": 2}
    assert job["attempts"] == 1
