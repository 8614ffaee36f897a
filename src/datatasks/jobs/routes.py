"""Watching jobs: one by id, or a page of them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from datatasks.core.problems import responses
from datatasks.deps import QueuesDep, SessionDep
from datatasks.jobs import service
from datatasks.jobs.schemas import JobOut, JobPage
from datatasks.models import JobStatus, JobType

router = APIRouter(tags=["jobs"])


@router.get(
    "/status/{job_id}",
    operation_id="getJobStatus",
    response_model=JobOut,
    responses=responses(404, 503),
    summary="A job's status, progress and result",
)
async def get_status(job_id: str, session: SessionDep) -> JobOut:
    job = await service.get_job(session, service.parse_job_id(job_id))
    return JobOut.of(job)


@router.get(
    "/jobs",
    operation_id="listJobs",
    response_model=JobPage,
    responses=responses(422, 503),
    summary="Jobs, newest first; `status=failed` is the dead-letter list",
)
async def list_jobs(
    session: SessionDep,
    status: JobStatus | None = None,
    type: JobType | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> JobPage:
    jobs, next_cursor = await service.list_jobs(
        session, status=status, job_type=type, limit=limit, cursor=cursor
    )
    return JobPage(items=[JobOut.of(j) for j in jobs], next_cursor=next_cursor)


@router.post(
    "/jobs/{job_id}/cancel",
    operation_id="cancelJob",
    response_model=JobOut,
    responses=responses(404, 409, 503),
    summary="Cancel a pending job at once, a running one at its next chunk",
)
async def cancel_job(job_id: str, session: SessionDep, queues: QueuesDep) -> JobOut:
    return JobOut.of(await service.cancel(session, queues, service.parse_job_id(job_id)))


@router.post(
    "/jobs/{job_id}/retry",
    operation_id="retryJob",
    status_code=202,
    response_model=JobOut,
    responses=responses(404, 409, 503),
    summary="Run a failed (dead-lettered) job again, from a fresh attempt count",
)
async def retry_job(
    job_id: str, response: Response, session: SessionDep, queues: QueuesDep
) -> JobOut:
    job = await service.retry(session, queues, service.parse_job_id(job_id))
    response.headers["Location"] = f"/status/{job.id}"
    return JobOut.of(job)
