"""Keeps Redis honest with Postgres: job rows that are live but unknown to their queue are
enqueued again, and rows whose queue job failed without the worker recording it are failed.

Redis may lose jobs (a restart without persistence, eviction, FLUSHALL), and bullmq fails a job
that stalled too often without calling the processor. Every worker runs this periodically; it is
cheap (one indexed query, one Redis call per stale row) and safe to run in many workers at once:
re-adding uses the row id as the queue job id, so a second add is a no-op, and marking failed is
guarded by the row's status.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass, field

import structlog
from sqlalchemy import exists, func, select, update

from datatasks.core.config import QueueName
from datatasks.core.db import SessionMaker, is_db_unavailable
from datatasks.core.metrics import job_event
from datatasks.core.queue import REDIS_ERRORS, QueuedJob, Queues
from datatasks.jobs import lifecycle
from datatasks.jobs.writer import QUEUE_OF
from datatasks.models import (
    DeliveryStatus,
    Job,
    JobStatus,
    JobType,
    OutboxEntry,
    WebhookDelivery,
)

log = structlog.stdlib.get_logger("datatasks.reconciler")

BATCH = 1_000


@dataclass
class Reconciled:
    requeued: list[uuid.UUID] = field(default_factory=list)
    failed: list[uuid.UUID] = field(default_factory=list)
    # Webhook deliveries dispatched again or failed.
    deliveries: list[uuid.UUID] = field(default_factory=list)


async def reconcile_once(
    sessionmaker: SessionMaker, queues: Queues, *, quiet_for_s: float
) -> Reconciled:
    """Check live job rows untouched for `quiet_for_s` against their queues."""
    async with sessionmaker() as session:
        rows = (
            await session.execute(
                select(Job.id, Job.type, Job.params)
                .where(
                    Job.status.in_((JobStatus.pending, JobStatus.in_progress)),
                    Job.updated_at < func.now() - func.make_interval(0, 0, 0, 0, 0, 0, quiet_for_s),
                    # Not dispatched yet: the dispatcher's, not lost.
                    ~exists().where(OutboxEntry.job_id == Job.id),
                )
                .order_by(Job.updated_at)
                .limit(BATCH)
            )
        ).all()
    outcome = Reconciled()
    for job_id, job_type, params in rows:
        queue = QUEUE_OF[JobType(job_type)]
        state = await queues.get(queue).getJobState(str(job_id))
        if state == "unknown":
            await queues.enqueue(queue, QueuedJob(job_id, job_type, params=params))
            outcome.requeued.append(job_id)
            log.warning("reconcile.requeued", job_id=str(job_id), queue=queue.value)
        elif state == "failed":
            queued = await queues.get(queue).getJob(str(job_id))
            reason = (queued.failedReason if queued else None) or "failed in the queue"
            error = {"message": reason, "type": "QueueFailure", "attempt": None, "final": True}
            await lifecycle.fail(sessionmaker, job_id, None, error, final=True)
            job_event(job_type, "failed")
            outcome.failed.append(job_id)
            log.warning("reconcile.failed", job_id=str(job_id), queue=queue.value, reason=reason)
    outcome.deliveries = await _reconcile_deliveries(sessionmaker, queues, quiet_for_s)
    return outcome


async def _reconcile_deliveries(
    sessionmaker: SessionMaker, queues: Queues, quiet_for_s: float
) -> list[uuid.UUID]:
    """Pending webhook deliveries whose queue job is gone are dispatched again; ones whose
    queue job failed without the worker recording it are failed. Returns the ids changed."""
    quiet = func.now() - func.make_interval(0, 0, 0, 0, 0, 0, quiet_for_s)
    async with sessionmaker() as session:
        rows = (
            (
                await session.execute(
                    select(WebhookDelivery.id)
                    .where(
                        WebhookDelivery.status == DeliveryStatus.pending,
                        WebhookDelivery.dispatched,
                        func.coalesce(WebhookDelivery.last_attempt_at, WebhookDelivery.created_at)
                        < quiet,
                    )
                    .order_by(WebhookDelivery.created_at)
                    .limit(BATCH)
                )
            )
            .scalars()
            .all()
        )
    changed: list[uuid.UUID] = []
    queue = queues.get(QueueName.webhooks)
    for delivery_id in rows:
        state = await queue.getJobState(str(delivery_id))
        if state == "unknown":
            values: dict[str, object] = {"dispatched": False}
            log.warning("reconcile.delivery_requeued", delivery_id=str(delivery_id))
        elif state == "failed":
            queued = await queue.getJob(str(delivery_id))
            reason = (queued.failedReason if queued else None) or "failed in the queue"
            values = {"status": DeliveryStatus.failed, "error": reason}
            log.warning("reconcile.delivery_failed", delivery_id=str(delivery_id), reason=reason)
        else:
            continue
        async with sessionmaker() as session, session.begin():
            await session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == delivery_id,
                    WebhookDelivery.status == DeliveryStatus.pending,
                )
                .values(**values)
            )
        changed.append(delivery_id)
    return changed


async def run_reconciler(
    sessionmaker: SessionMaker, queues: Queues, *, interval_s: float, quiet_for_s: float
) -> None:
    """Reconcile every `interval_s` (jittered, so many workers spread out) until cancelled."""
    while True:
        await asyncio.sleep(interval_s * random.uniform(0.5, 1.5))
        try:
            await reconcile_once(sessionmaker, queues, quiet_for_s=quiet_for_s)
        except Exception as exc:
            # The next round tries again; the error is logged, not lost. An outage is expected
            # and needs no traceback; anything else is a bug and gets one.
            if is_db_unavailable(exc) or isinstance(exc, REDIS_ERRORS):
                log.warning("reconcile.skipped", reason=f"{type(exc).__name__}: {exc}")
            else:
                log.exception("reconcile.error")
