"""Say when Redis goes away and when it is back: bullmq's consumer loop retries in silence, so
without this a worker cut off from its queues looks idle."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

log = structlog.stdlib.get_logger("datatasks.worker")


async def watch_redis(
    ping: Callable[[], Awaitable[object]],
    url: str,
    *,
    every_s: float = 2.0,
    remind_s: float = 30.0,
) -> None:
    """PING every `every_s`; log `redis.lost` at the first failure, `redis.still_lost` every
    `remind_s` while it lasts, and `redis.back` when a PING answers again. Runs until
    cancelled."""
    loop = asyncio.get_running_loop()
    lost_at: float | None = None
    said_at = 0.0
    while True:
        try:
            async with asyncio.timeout(every_s):
                await ping()
        except Exception as exc:  # any failure to answer is the news here, logged below
            _unless_cancelled(exc)
            now = loop.time()
            if lost_at is None:
                lost_at = said_at = now
                log.error("redis.lost", url=url, error=repr(exc))
            elif now - said_at >= remind_s:
                said_at = now
                log.error("redis.still_lost", url=url, for_s=round(now - lost_at), error=repr(exc))
        else:
            _unless_cancelled(None)
            if lost_at is not None:
                log.info("redis.back", url=url, after_s=round(loop.time() - lost_at, 1))
                lost_at = None
        await asyncio.sleep(every_s)


def _unless_cancelled(exc: Exception | None) -> None:
    """Raise CancelledError if this task was cancelled during a PING whose client swallowed the
    cancellation (the connection being opened, bullmq's client returns or raises its own error
    instead): without this the worker's shutdown would wait on the watcher forever."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError from exc
