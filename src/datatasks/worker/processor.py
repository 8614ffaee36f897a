"""Runs one queue job: status bookkeeping around a handler, timeout, retry and dead letter."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

import bullmq
import structlog
from bullmq import DelayedError, UnrecoverableError

from datatasks.core.config import QueueName
from datatasks.core.db import (
    is_db_unavailable,
    is_deterministic_db_error,
    postgres_only,
)
from datatasks.core.errors import JobCancelled, JobFailed
from datatasks.core.metrics import job_event, job_finished
from datatasks.jobs import lifecycle
from datatasks.jobs.execution import Handler, TaskContext

log = structlog.stdlib.get_logger("datatasks.worker")
T = TypeVar("T")


@dataclass(eq=False)  # identity: two deliveries are never the same entry
class _Running:
    job: bullmq.Job
    # A handler's result, or (webhooks) an attempt's outcome.
    task: asyncio.Task[Any]
    # Why we stopped the handler ourselves, if we did: nothing it raised on its way out (a
    # transaction's exit on a closed connection, say) is then the job's failure.
    stopped: str | None = None

    def stop(self, why: str) -> None:
        self.stopped = why
        self.task.cancel()


class QueueProcessor:
    """What every bullmq processor of ours shares: deliveries run as tasks of their own (so a
    timeout, a lost lock or a shutdown can stop them), jobs fetched but never started are
    handed back on shutdown, and Postgres being away hands a delivery back without spending
    an attempt. Subclasses say how one delivery runs (`_run`)."""

    def __init__(self, ctx: TaskContext, queue: QueueName) -> None:
        self.ctx = ctx
        self.queue = queue
        self.timeout_s = ctx.settings.queue(queue).timeout_s
        self.retry_delay_ms = ctx.settings.queue(queue).backoff_ms
        self._running: set[_Running] = set()
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
        for running in self._running:
            running.stop("shutdown grace period over")

    # bullmq events -------------------------------------------------------------------------

    def on_active(self, job: bullmq.Job, _previous: str) -> None:
        """The job is ours (locked) from here on."""
        self._fetched[str(job.id)] = job

    def on_lock_renewal_failed(self, job_ids: list[str]) -> None:
        """Another worker may take these jobs now: stop working on them."""
        for running in self._running:
            if str(running.job.id) in job_ids:
                running.stop("lock lost")

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

    async def _postgres_away(
        self, job: bullmq.Job, token: str, when: str, exc: BaseException
    ) -> NoReturn:
        log.warning("job.postgres_unavailable", when=when, error=_describe(exc))
        await self._hand_back(
            job, token, delay_ms=self.retry_delay_ms, reason="postgres unavailable"
        )

    async def _record(self, transition: Awaitable[T]) -> T:
        """A job row transition, bounded like every other step on Postgres."""
        async with (
            postgres_only("recording the job's state"),
            asyncio.timeout(self.ctx.settings.worker_db_timeout_s),
        ):
            return await transition

    async def _run(
        self, job: bullmq.Job, token: str, job_id: uuid.UUID, attempt: int
    ) -> dict[str, Any] | None:
        raise NotImplementedError


class Processor(QueueProcessor):
    """The bullmq processor for one queue of jobs.

    Each delivery holds a lease of its own on the job row: a delivery that lost its lock can
    no longer complete, fail or release the job another delivery now owns. (Not bullmq's lock
    token: bullmq-python 3.4 gives jobs fetched together the same token.)

    Postgres being away is never the job's fault: a delivery that meets it - at the start,
    in the handler, or recording the outcome - goes back to the queue without spending an
    attempt. Every attempt that is spent is logged with its cause.
    """

    def __init__(self, ctx: TaskContext, queue: QueueName, handler: Handler) -> None:
        super().__init__(ctx, queue)
        self.handler = handler

    async def _reopened_dead_letter(
        self, job: bullmq.Job, token: str, job_id: uuid.UUID, attempt: int, lease: str
    ) -> bool:
        """A dead-lettered job retried from a queue tool runs as if retried through the API
        (from its checkpoint, with the queue's attempt count), or is refused and stays visibly
        failed in the queue: never a completed queue job beside a failed row."""
        sessionmaker = self.ctx.sessionmaker
        try:
            reopened = await self._record(
                lifecycle.reopen_dead_letter(sessionmaker, job_id, job.attemptsMade)
            )
            if not reopened:
                if reopened is False:
                    log.warning(
                        "job.dead_letter_redelivery_refused", queue_attempts=job.attemptsMade
                    )
                    raise UnrecoverableError(
                        "this job is dead-lettered and its queue did not see it fail; "
                        f"retry it with POST /jobs/{job_id}/retry"
                    )
                return False
            log.warning("job.retried_in_queue", queue_attempts=job.attemptsMade)
            job_event(job.name, "retried")
            return await self._record(lifecycle.start(sessionmaker, job_id, attempt, lease))
        except Exception as exc:
            if not is_db_unavailable(exc):
                raise
            await self._postgres_away(job, token, "starting", exc)

    async def _run(
        self, job: bullmq.Job, token: str, job_id: uuid.UUID, attempt: int
    ) -> dict[str, Any] | None:
        sessionmaker = self.ctx.sessionmaker
        lease = uuid.uuid4().hex
        try:
            started = await self._record(lifecycle.start(sessionmaker, job_id, attempt, lease))
        except Exception as exc:
            if not is_db_unavailable(exc):
                raise
            await self._postgres_away(job, token, "starting", exc)
        if not started:
            started = await self._reopened_dead_letter(job, token, job_id, attempt, lease)
        if not started:
            log.info("job.skipped", reason="finished or unknown")
            return None
        log.info("job.started")
        job_event(job.name, "started")
        began = time.perf_counter()

        running = _Running(job, asyncio.create_task(self.handler(self.ctx, job_id)))
        self._running.add(running)
        try:
            done, _ = await asyncio.wait({running.task}, timeout=self.timeout_s)
        finally:
            self._running.discard(running)
            if not running.task.done():
                running.task.cancel()
                await asyncio.wait({running.task})

        if running.stopped == "lock lost":
            # Another delivery owns the job now; it is not ours to release or fail.
            log.warning("job.lock_lost")
            raise DelayedError()
        if running.stopped is not None:
            # Released by a stopping worker; its checkpoint stays, another worker resumes.
            try:
                await self._record(lifecycle.release(sessionmaker, job_id, lease))
            except Exception as exc:
                if not is_db_unavailable(exc):
                    raise
                # The row keeps this lease; the next delivery's start takes it over.
                log.warning("job.release_unrecorded", error=_describe(exc))
            await self._hand_back(job, token, delay_ms=0, reason=running.stopped)

        error: BaseException | None
        if not done:
            error = TimeoutError(f"attempt timed out after {self.timeout_s:g} s")
        elif running.task.cancelled():
            error = RuntimeError("the handler was cancelled")
        else:
            error = running.task.exception()
        if error is None:
            result: dict[str, Any] = running.task.result()
            try:
                await self._record(lifecycle.complete(sessionmaker, job_id, lease, result))
            except Exception as exc:
                if not is_db_unavailable(exc):
                    raise
                # The work is checkpointed: the next delivery finds it done and completes it.
                await self._postgres_away(job, token, "completing", exc)
            seconds = time.perf_counter() - began
            log.info("job.completed", duration_s=round(seconds, 3))
            job_event(job.name, "completed")
            job_finished(job.name, "completed", seconds, result)
            return result

        if is_db_unavailable(error):
            await self._postgres_away(job, token, "running", error)
        job_finished(
            job.name,
            "cancelled" if isinstance(error, JobCancelled) else "failed",
            time.perf_counter() - began,
        )
        if isinstance(error, JobCancelled):
            log.info("job.cancelled")
            job_event(job.name, "cancelled")
            raise UnrecoverableError(str(error)) from error
        # Errors a retry cannot fix fail the job at once.
        unrecoverable = isinstance(error, JobFailed) or is_deterministic_db_error(error)
        final = unrecoverable or attempt >= int(job.opts.get("attempts") or 1)
        info = {
            "message": str(error) or type(error).__name__,
            "type": type(error).__name__,
            "attempt": attempt,
            "final": final,
        }
        # Logged before it is recorded: if recording fails too, the cause is not lost.
        if final:
            log.error("job.failed", exc_info=error, **info)
        else:
            log.warning("job.attempt_failed", exc_info=error, **info)
        job_event(job.name, "failed" if final else "retried")
        try:
            await self._record(lifecycle.fail(sessionmaker, job_id, lease, info, final=final))
        except Exception as exc:
            if not is_db_unavailable(exc):
                raise
            # The attempt is spent all the same (its cause was not Postgres). A retry's start
            # takes the row over; a final failure is recorded by the reconciler from the queue.
            log.warning("job.failure_unrecorded", error=_describe(exc))
        if unrecoverable:
            raise UnrecoverableError(str(error)) from error
        raise error


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
