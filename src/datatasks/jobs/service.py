"""Job rows as clients see them: reading and listing, and the two transitions a client asks
for (cancel, retry), each committed here. New jobs are written by jobs/writer.py (and an
upload's by uploads/service.py, with its upload row)."""

from __future__ import annotations

import contextlib
import uuid

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from datatasks.core.cursor import decode_cursor, encode_cursor
from datatasks.core.errors import Conflict, DependencyUnavailable, NotFound, parse_path_id
from datatasks.core.metrics import job_event
from datatasks.core.queue import QueuedJob, Queues
from datatasks.jobs.writer import QUEUE_OF
from datatasks.models import Job, JobStatus, JobType


def parse_job_id(raw: str) -> uuid.UUID:
    return parse_path_id(raw, "job")


async def get_job(session: AsyncSession, job_id: uuid.UUID) -> Job:
    job = await session.get(Job, job_id)
    if job is None:
        raise NotFound(f"no job with id {str(job_id)!r}")
    return job


async def list_jobs(
    session: AsyncSession,
    *,
    status: JobStatus | None,
    job_type: JobType | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Job], str | None]:
    """Newest first; keyset-paginated on (created_at, id) so pages stay stable under inserts."""
    query = select(Job).order_by(Job.created_at.desc(), Job.id.desc()).limit(limit + 1)
    if status is not None:
        query = query.where(Job.status == status)
    if job_type is not None:
        query = query.where(Job.type == job_type)
    if cursor is not None:
        created_at, job_id = decode_cursor(cursor)
        query = query.where(tuple_(Job.created_at, Job.id) < tuple_(created_at, job_id))
    jobs = list((await session.scalars(query)).all())
    if len(jobs) > limit:
        last = jobs[limit - 1]
        return jobs[:limit], encode_cursor(last.created_at, last.id)
    return jobs, None


async def _locked(session: AsyncSession, job_id: uuid.UUID) -> Job:
    job = await session.get(Job, job_id, with_for_update=True)
    if job is None:
        raise NotFound(f"no job with id {str(job_id)!r}")
    return job


async def cancel(session: AsyncSession, queues: Queues, job_id: uuid.UUID) -> Job:
    """Cancel a pending job at once, a running one cooperatively: its handler checks the row at
    every chunk, stops, and removes what it had written."""
    job = await _locked(session, job_id)
    if job.type == JobType.erase:
        raise Conflict(f"job {job.id} erases a dataset; an erasure cannot be cancelled")
    if job.status not in (JobStatus.pending, JobStatus.in_progress):
        raise Conflict(
            f"job {job.id} is {job.status}; only pending or running jobs can be cancelled"
        )
    was_pending = job.status == JobStatus.pending
    job.status = JobStatus.cancelled
    job.finished_at = func.now()
    job.lease = None
    await session.commit()
    job_event(job.type, "cancelled")
    if was_pending:
        # Best effort: a worker that still gets it skips it (the row is no longer live).
        with contextlib.suppress(DependencyUnavailable):
            await queues.discard(QUEUE_OF[job.type], job.id)
    await session.refresh(job)
    return job


async def retry(session: AsyncSession, queues: Queues, job_id: uuid.UUID) -> Job:
    """Run a failed (dead-lettered) job again, from a fresh attempt count; a generation or an
    ingest resumes at its checkpoint."""
    job = await _locked(session, job_id)
    if job.status != JobStatus.failed:
        raise Conflict(f"job {job.id} is {job.status}; only failed jobs can be retried")
    job.status = JobStatus.pending
    job.attempts = 0
    job.error = None
    job.finished_at = None
    await session.commit()
    job_event(job.type, "retried")
    # If Redis is down this is a 503, and the reconciler enqueues the pending row later.
    await queues.requeue(QUEUE_OF[job.type], QueuedJob(job.id, job.type, params=job.params))
    await session.refresh(job)
    return job
