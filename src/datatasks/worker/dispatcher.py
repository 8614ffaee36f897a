"""Moves committed jobs from the outbox to their queues: commit, then dispatch.

The API commits a job's row with an outbox entry and answers 202; Redis is not on its path.
Every worker runs a dispatcher. It is woken by the NOTIFY each commit sends (LISTEN on the
schema's outbox channel) and sweeps every `DISPATCH_SWEEP_S` as a backstop (a missed
notification, a listener reconnecting, Redis coming back). Each round takes a batch of entries
with FOR UPDATE SKIP LOCKED - dispatchers in other workers take other entries -, adds them to
their queues in one round trip per queue (addBulk), and deletes them in the same transaction.

If anything fails midway (Redis down, the worker killed), the transaction rolls back and the
entries stay for the next round. Adding a job id already in its queue is a no-op, and a job
whose row is finished is skipped by the worker, so an entry dispatched twice runs once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict

import asyncpg
import orjson
import structlog

from datatasks.core.config import QueueName, Settings
from datatasks.core.db import is_db_unavailable
from datatasks.core.errors import DependencyUnavailable
from datatasks.core.metrics import DISPATCH_DELAY
from datatasks.core.queue import QueuedJob, Queues, summary_sql
from datatasks.jobs.writer import outbox_channel

log = structlog.stdlib.get_logger("datatasks.dispatcher")

_TAKE = f"""
SELECT o.job_id, o.queue, o.request_id, j.type, {summary_sql("j.params")} AS summary,
       extract(epoch FROM clock_timestamp() - o.created_at) AS waited_s
FROM job_outbox o JOIN jobs j ON j.id = o.job_id
ORDER BY o.created_at
LIMIT $1
FOR UPDATE OF o SKIP LOCKED
"""  # noqa: S608 - the summary keys are constants

# Webhook deliveries the `job_changed` trigger wrote (migration 0005), not yet in their queue.
_TAKE_DELIVERIES = """
SELECT id, job_id, event FROM webhook_deliveries
WHERE NOT dispatched
ORDER BY created_at
LIMIT $1
FOR UPDATE SKIP LOCKED
"""


class Dispatcher:
    def __init__(self, settings: Settings, pool: asyncpg.Pool, queues: Queues) -> None:
        self._settings = settings
        self._pool = pool
        self._queues = queues
        self._wake = asyncio.Event()
        self._channel = outbox_channel(settings.database_schema)

    async def run(self) -> None:
        """Dispatch until cancelled."""
        listener = asyncio.create_task(self._listen())
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._settings.dispatch_sweep_s):
                        await self._wake.wait()
                self._wake.clear()
                await self._drain()
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)

    async def _drain(self) -> None:
        """Dispatch until the outbox is empty (or a round fails: the next wake-up retries)."""
        try:
            while await self.dispatch_once() == self._settings.dispatch_batch:
                pass
            while await self.dispatch_deliveries() == self._settings.dispatch_batch:
                pass
        except Exception as exc:
            if is_db_unavailable(exc) or isinstance(exc, DependencyUnavailable | OSError):
                log.warning("dispatch.skipped", reason=f"{type(exc).__name__}: {exc}")
            else:
                log.exception("dispatch.error")

    async def dispatch_once(self) -> int:
        """One round: up to DISPATCH_BATCH entries to their queues. Returns how many were
        dispatched."""
        async with self._pool.acquire() as conn, conn.transaction():
            # The delete need not wait for its WAL flush: lost in a crash, it only makes the
            # entries dispatched again, which is a no-op. (The API's commit, the one a 202
            # promises, stays synchronous.) Spares a disk flush per round, which at one
            # request at a time is one per job, in line with the API's own.
            await conn.execute("SET LOCAL synchronous_commit = off")
            rows = await conn.fetch(_TAKE, self._settings.dispatch_batch)
            if not rows:
                return 0
            by_queue: dict[QueueName, list[QueuedJob]] = defaultdict(list)
            for row in rows:
                by_queue[QueueName(row["queue"])].append(
                    QueuedJob(
                        row["job_id"], row["type"], row["request_id"], orjson.loads(row["summary"])
                    )
                )
            for queue, jobs in by_queue.items():
                await self._queues.enqueue_many(queue, jobs)
            await conn.execute(
                "DELETE FROM job_outbox WHERE job_id = ANY($1::uuid[])", [r["job_id"] for r in rows]
            )
        for row in rows:
            DISPATCH_DELAY.observe(float(row["waited_s"]))
        waited = max(float(r["waited_s"]) for r in rows)
        log.debug("dispatch.done", jobs=len(rows), oldest_waited_s=round(waited, 4))
        return len(rows)

    async def dispatch_deliveries(self) -> int:
        """One round of webhook deliveries to the webhooks queue, as `dispatch_once` does jobs."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SET LOCAL synchronous_commit = off")
            rows = await conn.fetch(_TAKE_DELIVERIES, self._settings.dispatch_batch)
            if not rows:
                return 0
            await self._queues.enqueue_deliveries(
                [(r["id"], r["job_id"], r["event"]) for r in rows]
            )
            await conn.execute(
                "UPDATE webhook_deliveries SET dispatched = true WHERE id = ANY($1::uuid[])",
                [r["id"] for r in rows],
            )
        log.debug("dispatch.deliveries", deliveries=len(rows))
        return len(rows)

    async def _listen(self) -> None:
        """LISTEN on the outbox channel, reconnecting after an outage; each notification (and
        each reconnection, in case one was missed meanwhile) wakes the dispatcher."""
        while True:
            try:
                await self._listen_until_lost()
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.debug("dispatch.listen_lost", error=repr(exc))
            await asyncio.sleep(self._settings.dispatch_sweep_s)

    async def _listen_until_lost(self) -> None:
        conn = await asyncpg.connect(
            self._settings.asyncpg_dsn,
            timeout=self._settings.worker_db_timeout_s,
            server_settings={"application_name": self._settings.application_name},
        )
        closed = asyncio.Event()
        try:
            conn.add_termination_listener(lambda _: closed.set())
            await conn.add_listener(self._channel, lambda *_: self._wake.set())
            self._wake.set()
            await closed.wait()
        finally:
            conn.terminate()
