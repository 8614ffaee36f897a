"""Job row transitions made by workers. Each is one short transaction, guarded by the current
status so a late or duplicate delivery can never move a finished job."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, update

from datatasks.core.db import SessionMaker, session_scope
from datatasks.models import Job, JobStatus

_LIVE = (JobStatus.pending, JobStatus.in_progress)


async def start(sessionmaker: SessionMaker, job_id: uuid.UUID, attempt: int) -> bool:
    """Mark the job in progress. False when there is nothing to do (finished, or no row)."""
    async with session_scope(sessionmaker) as session:
        result = await session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status.in_(_LIVE))
            .values(
                status=JobStatus.in_progress,
                attempts=attempt,
                started_at=func.coalesce(Job.started_at, func.now()),
            )
            .returning(Job.id)
        )
        return result.scalar_one_or_none() is not None


async def complete(sessionmaker: SessionMaker, job_id: uuid.UUID, result: dict[str, Any]) -> None:
    async with session_scope(sessionmaker) as session:
        await session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status.in_(_LIVE))
            .values(
                status=JobStatus.completed,
                result=result,
                error=None,
                progress_done=Job.progress_total,
                finished_at=func.now(),
            )
        )


async def fail(
    sessionmaker: SessionMaker, job_id: uuid.UUID, error: dict[str, Any], *, final: bool
) -> None:
    """Record an attempt's error. A final failure is the dead letter; otherwise the job waits
    for its retry as `pending`, with the last error visible."""
    values: dict[str, Any] = {"error": error}
    if final:
        values.update(status=JobStatus.failed, finished_at=func.now())
    else:
        values.update(status=JobStatus.pending)
    async with session_scope(sessionmaker) as session:
        await session.execute(
            update(Job).where(Job.id == job_id, Job.status.in_(_LIVE)).values(**values)
        )


async def release(sessionmaker: SessionMaker, job_id: uuid.UUID) -> None:
    """A stopping worker hands the job back; its checkpoint stays, another worker resumes it."""
    async with session_scope(sessionmaker) as session:
        await session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.in_progress)
            .values(status=JobStatus.pending)
        )
