"""Job row transitions made by workers. Each is one short transaction, guarded by the row's
status and by the delivery's lease (its queue lock token), so a late or duplicate delivery can
never move a job that another delivery owns or that is already finished."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select, update

from datatasks.core.db import SessionMaker, session_scope
from datatasks.models import Job, JobStatus

_LIVE = (JobStatus.pending, JobStatus.in_progress)


async def start(sessionmaker: SessionMaker, job_id: uuid.UUID, attempt: int, lease: str) -> bool:
    """Take the job for this delivery. False when there is nothing to do (finished, no row)."""
    async with session_scope(sessionmaker) as session:
        result = await session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status.in_(_LIVE))
            .values(
                status=JobStatus.in_progress,
                attempts=attempt,
                lease=lease,
                started_at=func.coalesce(Job.started_at, func.now()),
            )
            .returning(Job.id)
        )
        return result.scalar_one_or_none() is not None


async def reopen_dead_letter(
    sessionmaker: SessionMaker, job_id: uuid.UUID, queue_attempts: int
) -> bool | None:
    """A dead-lettered job that its queue delivers again: a queue tool (Bull Board, BullMQ's
    `job.retry()`) retried it. Honoured as POST /jobs/{id}/retry is - the row back to pending
    (True) - when the queue saw the job's last attempt fail (`queue_attempts`, its attemptsMade,
    at least the row's attempts). Refused (False) when it did not: a delivery left over from a
    worker that died between recording the failure and telling the queue. None: the row is
    not dead-lettered."""
    async with session_scope(sessionmaker) as session:
        reopened = await session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.failed, Job.attempts <= queue_attempts)
            .values(status=JobStatus.pending, error=None, finished_at=None, lease=None)
            .returning(Job.id)
        )
        if reopened.scalar_one_or_none() is not None:
            return True
        status = await session.scalar(select(Job.status).where(Job.id == job_id))
        return False if status == JobStatus.failed else None


async def complete(
    sessionmaker: SessionMaker, job_id: uuid.UUID, lease: str, result: dict[str, Any]
) -> None:
    await _finish(
        sessionmaker,
        job_id,
        lease,
        status=JobStatus.completed,
        result=result,
        error=None,
        progress_done=Job.progress_total,
        finished_at=func.now(),
    )


async def fail(
    sessionmaker: SessionMaker,
    job_id: uuid.UUID,
    lease: str | None,
    error: dict[str, Any],
    *,
    final: bool,
) -> None:
    """Record an attempt's error. A final failure is the dead letter; otherwise the job waits
    for its retry as `pending`, with the last error visible. `lease=None` (the reconciler)
    fails whichever delivery holds it."""
    if final:
        await _finish(
            sessionmaker,
            job_id,
            lease,
            status=JobStatus.failed,
            error=error,
            finished_at=func.now(),
        )
    else:
        await _finish(sessionmaker, job_id, lease, status=JobStatus.pending, error=error)


async def release(sessionmaker: SessionMaker, job_id: uuid.UUID, lease: str) -> None:
    """A stopping worker hands the job back; its checkpoint stays, another worker resumes it."""
    await _finish(sessionmaker, job_id, lease, status=JobStatus.pending)


async def _finish(
    sessionmaker: SessionMaker, job_id: uuid.UUID, lease: str | None, **values: Any
) -> None:
    query = update(Job).where(Job.id == job_id, Job.status.in_(_LIVE))
    if lease is not None:
        query = query.where(Job.lease == lease)
    async with session_scope(sessionmaker) as session:
        await session.execute(query.values(lease=None, **values))
