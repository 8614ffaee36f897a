"""Runs one queue job: status bookkeeping around a handler, timeout, retry and dead letter."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any, NoReturn

import bullmq
import structlog
from bullmq import DelayedError, UnrecoverableError

from datatasks.core.config import QueueName
from datatasks.core.db import DB_UNAVAILABLE
from datatasks.core.errors import JobCancelled, JobFailed
from datatasks.jobs import lifecycle
from datatasks.worker.context import Handler, TaskContext

log = structlog.stdlib.get_logger("datatasks.worker")


@dataclass
class _Running:
    job: bullmq.Job
    task: asyncio.Task[dict[str, Any]]
    lock_lost: bool = False


class Processor:
    """The bullmq processor for one queue.

    The handler runs in a task of its own so that a timeout, a lost lock, or a shutdown that
    outlasts its grace period can stop it without touching bullmq's own task. Each delivery
    holds a lease on the job row (bullmq's lock token): a delivery that lost its lock can no
    longer complete, fail or release the job another delivery now owns.
    """

    def __init__(self, ctx: TaskContext, queue: QueueName, handler: Handler) -> None:
        self.ctx = ctx
        self.queue = queue
        self.handler = handler
        self.timeout_s = ctx.settings.queue(queue).timeout_s
        self.retry_delay_ms = ctx.settings.queue(queue).backoff_ms
        self._running: dict[str, _Running] = {}  # by lock token
        # Jobs bullmq moved to active for us that have not reached __call__ yet.
        self._fetched: dict[str, bullmq.Job] = {}
        self._stopping = False

    @property
    def inflight(self) -> int:
        return len(self._running)

    def begin_shutdown(self) -> None:
        """From now on a job handed to us goes straight back to the queue."""
        self._stopping = True

    def release_all(self) -> None:
        """Stop every running handler; their jobs go back to the queue (see `_run`)."""
        for running in self._running.values():
            running.task.cancel()

    # bullmq events -------------------------------------------------------------------------

    def on_active(self, job: bullmq.Job, _previous: str) -> None:
        """The job is ours (locked) from here on."""
        self._fetched[str(job.id)] = job

    def on_lock_renewal_failed(self, job_ids: list[str]) -> None:
        """Another worker may take these jobs now: stop working on them."""
        for running in self._running.values():
            if str(running.job.id) in job_ids:
                running.lock_lost = True
                running.task.cancel()

    async def release_unstarted(self, queue: bullmq.Queue) -> None:
        """Hand back jobs fetched but never processed, once their worker is closed.

        bullmq's worker loop can stop while a fetch is completing, leaving that job active in
        Redis with nobody working on it until its lock expires and the stalled-job check moves
        it, twice an interval later. Releasing it here makes it available at once. It goes
        through `queue` (a producer's connection): the closed worker's connection is gone.
        """
        for job_id, job in list(self._fetched.items()):
            try:
                # What Job.moveToDelayed does, on the producer's backend.
                await queue.backend.moveToDelayed(
                    job.id, int(time.time() * 1000), 0, job.token, {"skipAttempt": True}
                )
                log.info("job.released", job_id=job_id, started=False)
            except Exception:
                log.exception("job.release_failed", job_id=job_id)
            self._fetched.pop(job_id, None)

    # processing ----------------------------------------------------------------------------

    async def __call__(self, job: bullmq.Job, token: str) -> dict[str, Any] | None:
        self._fetched.pop(str(job.id), None)
        try:
            job_id = uuid.UUID(str(job.data["job_id"]))
        except (KeyError, TypeError, ValueError):
            raise UnrecoverableError(f"queue job {job.id} carries no job id") from None
        attempt = job.attemptsMade + 1
        with structlog.contextvars.bound_contextvars(
            job_id=str(job_id),
            queue=self.queue.value,
            attempt=attempt,
            request_id=job.data.get("request_id"),
        ):
            if self._stopping:
                await self._hand_back(job, token, delay_ms=0, reason="worker stopping")
            return await self._run(job, token, job_id, attempt)

    async def _hand_back(
        self, job: bullmq.Job, token: str, *, delay_ms: int, reason: str
    ) -> NoReturn:
        """Back to the queue without spending an attempt; DelayedError tells bullmq it's done."""
        await job.moveToDelayed(int(time.time() * 1000) + delay_ms, token)
        log.info("job.released", reason=reason, delay_ms=delay_ms)
        raise DelayedError()

    async def _run(
        self, job: bullmq.Job, token: str, job_id: uuid.UUID, attempt: int
    ) -> dict[str, Any] | None:
        sessionmaker = self.ctx.sessionmaker
        try:
            started = await lifecycle.start(sessionmaker, job_id, attempt, token)
        except DB_UNAVAILABLE:
            # Not the job's fault: wait for Postgres without spending an attempt.
            log.warning("job.postgres_unavailable", exc_info=True)
            await self._hand_back(job, token, delay_ms=self.retry_delay_ms, reason="postgres down")
        if not started:
            log.info("job.skipped", reason="finished or unknown")
            return None
        log.info("job.started")
        began = time.perf_counter()

        running = _Running(job, asyncio.create_task(self.handler(self.ctx, job_id)))
        self._running[token] = running
        try:
            done, _ = await asyncio.wait({running.task}, timeout=self.timeout_s)
        finally:
            del self._running[token]
            if not running.task.done():
                running.task.cancel()
                await asyncio.wait({running.task})

        if done and running.task.cancelled():
            if running.lock_lost:
                # Another delivery owns the job now; it is not ours to release or fail.
                log.warning("job.lock_lost")
                raise DelayedError()
            # Released by a stopping worker; its checkpoint stays, another worker resumes.
            await lifecycle.release(sessionmaker, job_id, token)
            await self._hand_back(job, token, delay_ms=0, reason="shutdown grace period over")

        error: BaseException | None
        if not done:
            error = TimeoutError(f"attempt timed out after {self.timeout_s:g} s")
        else:
            error = running.task.exception()
        if error is None:
            result: dict[str, Any] = running.task.result()
            await lifecycle.complete(sessionmaker, job_id, token, result)
            log.info("job.completed", duration_s=round(time.perf_counter() - began, 3))
            return result

        if isinstance(error, JobCancelled):
            log.info("job.cancelled")
            raise UnrecoverableError(str(error)) from error
        unrecoverable = isinstance(error, JobFailed)
        final = unrecoverable or attempt >= int(job.opts.get("attempts") or 1)
        info = {
            "message": str(error) or type(error).__name__,
            "type": type(error).__name__,
            "attempt": attempt,
            "final": final,
        }
        await lifecycle.fail(sessionmaker, job_id, token, info, final=final)
        if final:
            log.error("job.failed", exc_info=error, **info)
        else:
            log.warning("job.attempt_failed", exc_info=error, **info)
        if unrecoverable:
            raise UnrecoverableError(str(error)) from error
        raise error
