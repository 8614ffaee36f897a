"""The `webhooks` queue's processor: one queue job per delivery, one attempt per run.

bullmq retries a failed attempt with the queue's backoff (5 s doubling, 15 attempts: about a
day); each attempt is recorded on the delivery row, whatever its outcome, before bullmq hears
of it. A receiver that got a message but whose answer was lost gets it again: at least once,
with the same `webhook-id`.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import bullmq
import orjson
import structlog
from bullmq import DelayedError, UnrecoverableError

from datatasks.core.config import QueueName
from datatasks.core.db import is_db_unavailable
from datatasks.core.metrics import WEBHOOK_ATTEMPTS
from datatasks.jobs.execution import TaskContext
from datatasks.models import DeliveryStatus
from datatasks.webhooks import delivery
from datatasks.webhooks.targets import TargetRefused
from datatasks.worker.processor import QueueProcessor, _Running

log = structlog.stdlib.get_logger("datatasks.webhooks")

_LOAD = "SELECT event, url, job, status, created_at FROM webhook_deliveries WHERE id = $1"


class WebhookAttemptFailed(Exception):
    """The receiver did not take the message this time; bullmq tries again later."""


class DeliveryProcessor(QueueProcessor):
    def __init__(self, ctx: TaskContext, sender: delivery.Sender) -> None:
        super().__init__(ctx, QueueName.webhooks)
        self.sender = sender

    async def _run(
        self, job: bullmq.Job, token: str, job_id: uuid.UUID, attempt: int
    ) -> dict[str, Any] | None:
        try:
            delivery_id = uuid.UUID(str(job.data["delivery_id"]))
        except (KeyError, TypeError, ValueError):
            raise UnrecoverableError(f"queue job {job.id} carries no delivery id") from None
        with structlog.contextvars.bound_contextvars(delivery_id=str(delivery_id)):
            try:
                return await self._deliver(job, token, delivery_id, attempt)
            except (DelayedError, UnrecoverableError, WebhookAttemptFailed):
                raise
            except Exception:
                # Not the receiver's doing: a bug or Postgres refusing a statement. bullmq
                # only keeps it as the queue job's failedReason; the log must have it too.
                log.exception("webhook.error", attempt=attempt)
                raise

    async def _deliver(
        self, job: bullmq.Job, token: str, delivery_id: uuid.UUID, attempt: int
    ) -> dict[str, Any] | None:
        try:
            row = await self._record(self._load(delivery_id))
        except Exception as exc:
            if not is_db_unavailable(exc):
                raise
            await self._postgres_away(job, token, "starting", exc)
        if row is None or row["status"] != DeliveryStatus.pending:
            log.info("webhook.skipped", status=None if row is None else row["status"])
            return None
        body = delivery.message(row["event"], row["created_at"], row["job"])
        attempt_task = asyncio.create_task(self.sender.send(delivery_id, row["url"], body))
        running = _Running(job, attempt_task)
        self._running.add(running)
        try:
            await asyncio.wait({running.task})
        finally:
            self._running.discard(running)
        if running.stopped == "lock lost":
            raise DelayedError()
        if running.stopped is not None:
            await self._hand_back(job, token, delay_ms=0, reason=running.stopped)
        refused: TargetRefused | None = None
        try:
            outcome: delivery.Outcome = running.task.result()
        except TargetRefused as exc:
            refused = exc
            outcome = delivery.Outcome(False, error=str(exc))
        final = refused is not None or attempt >= int(job.opts.get("attempts") or 1)
        try:
            await self._record(self._write(delivery_id, attempt, outcome, final=final))
        except Exception as exc:
            if not is_db_unavailable(exc):
                raise
            # Unrecorded, it is tried again without spending an attempt: at least once.
            await self._postgres_away(job, token, "recording", exc)
        info = {
            "attempt": attempt,
            "status_code": outcome.status_code,
            "duration_ms": round(outcome.seconds * 1000, 1),
        }
        if outcome.delivered:
            WEBHOOK_ATTEMPTS.labels("delivered").inc()
            log.info("webhook.delivered", **info)
            return {"status": DeliveryStatus.delivered.value, "attempts": attempt}
        WEBHOOK_ATTEMPTS.labels("given_up" if final else "failed").inc()
        if final:
            log.error("webhook.given_up", error=outcome.error, **info)
            raise UnrecoverableError(outcome.error or "not delivered")
        log.warning("webhook.attempt_failed", error=outcome.error, **info)
        raise WebhookAttemptFailed(outcome.error or "not delivered")

    async def _load(self, delivery_id: uuid.UUID) -> dict[str, Any] | None:
        async with self.ctx.connect() as conn:
            row = await conn.fetchrow(_LOAD, delivery_id)
        if row is None:
            return None
        found = dict(row)
        if isinstance(found["job"], str):
            found["job"] = orjson.loads(found["job"])
        return found

    async def _write(
        self, delivery_id: uuid.UUID, attempt: int, outcome: delivery.Outcome, *, final: bool
    ) -> None:
        async with self.ctx.connect() as conn:
            await delivery.record(conn, delivery_id, attempt, outcome, final=final)
