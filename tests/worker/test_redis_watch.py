"""The Redis watcher stops when cancelled, even if the client swallows the cancellation; and so
a worker stopped the moment it starts stops at once."""

from __future__ import annotations

import asyncio

import pytest

from datatasks.core.config import QueueName
from datatasks.worker.redis_watch import watch_redis
from tests.conftest import WorkerRunner


async def test_the_watcher_stops_when_a_ping_swallows_its_cancellation() -> None:
    pinging = asyncio.Event()

    async def ping() -> None:
        # As bullmq's client can while it opens its connection: the cancellation is lost.
        pinging.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            return

    watcher = asyncio.create_task(watch_redis(ping, "redis://test", every_s=5))
    await pinging.wait()
    watcher.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(watcher, 2)


@pytest.mark.parametrize("after_s", [0.0, 0.005, 0.01, 0.02, 0.05])
async def test_a_worker_stopped_as_it_starts_stops(
    run_worker: WorkerRunner, after_s: float
) -> None:
    worker = run_worker.start(queues=(QueueName.ingest, QueueName.export))
    await asyncio.sleep(after_s)
    assert await asyncio.wait_for(worker.stop(), 20) == 0
