"""Backpressure: how many jobs wait per queue, read in the background, never on a request.

A job waits while it is in its queue (waiting, delayed or prioritized) and while it is
committed but not yet dispatched (the outbox). Both are read every `REFRESH_S`; a request that
would create a job checks the last reading, so the enqueue path makes no Redis call and no
extra query. When Redis does not answer, its last reading stands and the outbox still grows,
so a long outage still ends in 503s rather than in an unbounded backlog.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

import asyncpg
import structlog

from datatasks.core.config import QueueName, Settings
from datatasks.core.db import is_postgres_outage
from datatasks.core.errors import DependencyUnavailable
from datatasks.core.queue import REDIS_ERRORS, Queues

log = structlog.stdlib.get_logger("datatasks.backlog")

REFRESH_S = 0.5


class Backlog:
    def __init__(self, settings: Settings, queues: Queues, pool: asyncpg.Pool) -> None:
        self._settings = settings
        self._queues = queues
        self._pool = pool
        self._queued: Counter[QueueName] = Counter()
        self._undispatched: Counter[QueueName] = Counter()

    def waiting(self, name: QueueName) -> int:
        return self._queued[name] + self._undispatched[name]

    def refusal(self, name: QueueName) -> DependencyUnavailable | None:
        """While the queue's backlog is over its limit, the 503 (with Retry-After) that refuses
        new work, rather than let it pile up without bound; None while there is room."""
        waiting = self.waiting(name)
        if waiting < self._settings.queue(name).max_backlog:
            return None
        return DependencyUnavailable(
            f"the {name.value} queue is full ({waiting} jobs waiting); try again later",
            retry_after_s=30,
        )

    def ensure_room(self, name: QueueName) -> None:
        if (refusal := self.refusal(name)) is not None:
            raise refusal

    async def run(self, stop: asyncio.Event) -> None:
        """Refresh until `stop` is set. (Not cancelled: a cancellation that lands while the
        pool is opening a connection leaves asyncpg's pool waiting for it forever at close.)"""
        while not stop.is_set():
            try:
                await self.refresh()
            except Exception:
                # A bug, not an outage (those are handled in refresh): say so, keep going.
                log.exception("backlog.refresh_failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(REFRESH_S):
                    await stop.wait()

    async def refresh(self) -> None:
        timeout_s = self._settings.dependency_timeout_s
        try:
            async with asyncio.timeout(timeout_s):
                for name in QueueName:
                    counts = await self._queues.get(name).getJobCounts(
                        "wait", "delayed", "prioritized"
                    )
                    self._queued[name] = sum(int(v) for v in counts.values())
        except (*REDIS_ERRORS, TimeoutError) as exc:
            log.debug("backlog.redis_unavailable", error=repr(exc))
        try:
            async with asyncio.timeout(timeout_s):
                rows = await self._pool.fetch(
                    "SELECT queue, count(*) AS n FROM job_outbox GROUP BY queue"
                )
            self._undispatched = Counter({QueueName(r["queue"]): r["n"] for r in rows})
        except Exception as exc:
            if not is_postgres_outage(exc):
                raise
            log.debug("backlog.postgres_unavailable", error=repr(exc))
