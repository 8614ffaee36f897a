"""Helpers shared by test modules (fixtures live in conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from datatasks.app import create_app
from datatasks.core.config import QueueName, Settings
from datatasks.core.queue import Queues


@asynccontextmanager
async def api_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API built with `settings`, its lifespan (connections) running, through ASGI."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


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
