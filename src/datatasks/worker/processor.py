"""Runs one queue job: status bookkeeping around a handler, timeout, retry and dead letter."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import bullmq
import structlog
from bullmq import DelayedError, UnrecoverableError

from datatasks.core.config import QueueName
from datatasks.core.errors import JobFailed
from datatasks.jobs import lifecycle
from datatasks.worker.context import Handler, TaskContext

log = structlog.stdlib.get_logger("datatasks.worker")


class Processor:
    """The bullmq processor for one queue.

    The handler runs in a task of its own so that a timeout, or a shutdown that outlasts its
    grace period, can stop it without touching bullmq's own task: a released job is handed back
    to the queue at once instead of waiting for its lock to expire.
    """

    def __init__(self, ctx: TaskContext, queue: QueueName, handler: Handler) -> None:
        self.ctx = ctx
        self.queue = queue
        self.handler = handler
        self.timeout_s = ctx.settings.queue(queue).timeout_s
        self._inflight: dict[str, asyncio.Task[dict[str, Any]]] = {}
        # Jobs bullmq moved to active for us that have not reached __call__ yet.
        self._fetched: dict[str, bullmq.Job] = {}

    def on_active(self, job: bullmq.Job, _previous: str) -> None:
        """bullmq's "active" event: the job is ours (locked) from here on."""
        self._fetched[str(job.id)] = job

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

    @property
    def inflight(self) -> int:
        return len(self._inflight)

    def release_all(self) -> None:
        """Stop every running handler; their jobs go back to the queue (see `__call__`)."""
        for task in self._inflight.values():
            task.cancel()

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
            return await self._run(job, token, job_id, attempt)

    async def _run(
        self, job: bullmq.Job, token: str, job_id: uuid.UUID, attempt: int
    ) -> dict[str, Any] | None:
        sessionmaker = self.ctx.sessionmaker
        if not await lifecycle.start(sessionmaker, job_id, attempt):
            log.info("job.skipped", reason="finished or unknown")
            return None
        log.info("job.started")
        started = time.perf_counter()

        task = asyncio.create_task(self.handler(self.ctx, job_id))
        self._inflight[str(job.id)] = task
        try:
            done, _ = await asyncio.wait({task}, timeout=self.timeout_s)
        finally:
            self._inflight.pop(str(job.id), None)
            if not task.done():
                task.cancel()
                await asyncio.wait({task})

        if task.cancelled() and done:
            # Released by a stopping worker: back to the queue now, without spending an attempt.
            await lifecycle.release(sessionmaker, job_id)
            await job.moveToDelayed(int(time.time() * 1000), token)
            log.info("job.released")
            raise DelayedError()

        error: BaseException | None
        if not done:
            error = TimeoutError(f"attempt timed out after {self.timeout_s:g} s")
        else:
            error = task.exception()
        if error is None:
            result: dict[str, Any] = task.result()
            await lifecycle.complete(sessionmaker, job_id, result)
            log.info("job.completed", duration_s=round(time.perf_counter() - started, 3))
            return result

        unrecoverable = isinstance(error, JobFailed)
        final = unrecoverable or attempt >= int(job.opts.get("attempts") or 1)
        info = {
            "message": str(error) or type(error).__name__,
            "type": type(error).__name__,
            "attempt": attempt,
            "final": final,
        }
        await lifecycle.fail(sessionmaker, job_id, info, final=final)
        if final:
            log.error("job.failed", exc_info=error, **info)
        else:
            log.warning("job.attempt_failed", exc_info=error, **info)
        if unrecoverable:
            raise UnrecoverableError(str(error)) from error
        raise error
