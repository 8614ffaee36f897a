"""Helpers shared by test modules (fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

import httpx

from datatasks.app import create_app
from datatasks.core.config import QueueName, Settings
from datatasks.core.db import SessionMaker, create_copy_pool
from datatasks.core.queue import Queues
from datatasks.jobs.execution import Handler, TaskContext
from datatasks.models import partition_name
from datatasks.storage import create_storage


async def generate(client: httpx.AsyncClient, body: Mapping[str, Any]) -> str:
    """POST /generate; the accepted job's id."""
    response = await client.post("/generate", json=body)
    assert response.status_code == 202, response.text
    job_id: str = response.json()["job_id"]
    return job_id


@asynccontextmanager
async def api_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API built with `settings`, its lifespan (connections) running, through ASGI."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[int]:
    """The API on a real uvicorn server (httptools, as `datatasks api` runs it), in this event
    loop, on a free local port: for what only a socket shows (timeouts, disconnects)."""
    async with serving(create_app(settings)) as port:
        yield port


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[int]:
    """An ASGI app on a real uvicorn server in this event loop, on a free local port."""
    import uvicorn

    config = uvicorn.Config(app, http="httptools", log_config=None, access_log=False)
    server = uvicorn.Server(config)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()  # it failed to start: say why
                await asyncio.sleep(0.01)
        port: int = sock.getsockname()[1]
        yield port
    finally:
        server.should_exit = True
        await task
        sock.close()


async def queue_state(
    settings: Settings, job_id: str, queue: QueueName = QueueName.generation
) -> str:
    """bullmq's state of a job: waiting, active, delayed, failed, completed or unknown."""
    queues = Queues(settings)
    try:
        state: str = await queues.get(queue).getJobState(job_id)
        return state
    finally:
        await queues.close()


async def dispatch(settings: Settings) -> int:
    """Move every committed job from the outbox to its queue, as a worker's dispatcher does;
    returns how many were moved. (Tests without a running worker need it to see queue jobs.)"""
    from datatasks.core.db import create_copy_pool
    from datatasks.core.queue import Queues
    from datatasks.worker.dispatcher import Dispatcher

    pool = await create_copy_pool(settings, size=1)
    queues = Queues(settings)
    try:
        dispatcher = Dispatcher(settings, pool, queues)
        moved = 0
        while count := await dispatcher.dispatch_once():
            moved += count
        return moved
    finally:
        await queues.close()
        await pool.close()


@asynccontextmanager
async def task_context(
    settings: Settings, sessionmaker: SessionMaker, *, connections: int = 3
) -> AsyncIterator[TaskContext]:
    """What a worker gives its handlers, for running a task directly (no queue)."""
    pool = await create_copy_pool(settings, size=connections)
    storage = create_storage(settings)
    cpu = ThreadPoolExecutor(2)
    try:
        yield TaskContext(settings, sessionmaker, pool, cpu, storage)
    finally:
        cpu.shutdown(cancel_futures=True)
        await storage.close()
        await pool.close()


async def interrupted(ctx: TaskContext, handler: Handler, job_id: uuid.UUID) -> int:
    """Run a delivery of the job until its first chunk is committed, then stop it as a crash
    would; returns the checkpoint it left (records in the job's dataset)."""
    checkpoint = "SELECT row_count FROM datasets WHERE job_id = $1"
    first = asyncio.create_task(handler(ctx, job_id))
    async with asyncio.timeout(30):
        while not await ctx.pool.fetchval(checkpoint, job_id):
            await asyncio.sleep(0.005)
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)
    done: int = await ctx.pool.fetchval(checkpoint, job_id)
    return done


def partition_sql(dataset_id: uuid.UUID | str) -> str:
    """For tests that write a dataset's rows by hand: the partition its records go to."""
    dataset = uuid.UUID(str(dataset_id))
    table = partition_name(dataset)
    return f"CREATE TABLE \"{table}\" PARTITION OF records FOR VALUES IN ('{dataset}')"
