"""The job as clients see it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import Response
from pydantic import BaseModel, Field

from datatasks.jobs.results import (
    EraseResult,
    ExportResult,
    GenerationResult,
    IngestResult,
    JobError,
)
from datatasks.models import Job, JobStatus, JobType

_RESULTS: dict[JobType, type[GenerationResult | IngestResult | ExportResult | EraseResult]] = {
    JobType.generate: GenerationResult,
    JobType.ingest: IngestResult,
    JobType.export: ExportResult,
    JobType.erase: EraseResult,
}


class Progress(BaseModel):
    done: int
    total: int
    percent: float = Field(description="0-100, one decimal")


class JobOut(BaseModel):
    id: uuid.UUID
    type: JobType
    status: JobStatus
    progress: Progress
    attempts: int
    params: dict[str, Any]
    result: GenerationResult | IngestResult | ExportResult | EraseResult | None = Field(
        description="once completed: the result of its `type`"
    )
    error: JobError | None = Field(description="the last attempt's error, if it failed")
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, job: Job) -> JobOut:
        total = job.progress_total
        percent = 100.0 if job.status == JobStatus.completed else 0.0
        if total and job.status != JobStatus.completed:
            # Totals can be estimates: an unfinished job never shows 100%.
            percent = round(min(job.progress_done / total, 0.999) * 100, 1)
        return cls(
            id=job.id,
            type=job.type,
            status=job.status,
            progress=Progress(done=job.progress_done, total=total, percent=percent),
            attempts=job.attempts,
            params=job.params,
            result=_RESULTS[job.type].model_validate(job.result) if job.result else None,
            error=JobError.model_validate(job.error) if job.error else None,
            created_at=job.created_at,
            updated_at=job.updated_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
        )


class JobAccepted(BaseModel):
    """The answer to a request that queued work: where to watch it."""

    job_id: uuid.UUID
    status: JobStatus = JobStatus.pending
    status_url: str


class JobPage(BaseModel):
    items: list[JobOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null at end")


def status_url(job_id: uuid.UUID) -> str:
    return f"/status/{job_id}"


def accepted(response: Response, job_id: uuid.UUID, status: JobStatus) -> JobAccepted:
    """The 202 answer to a request that queued work, with its Location header set."""
    url = status_url(job_id)
    response.headers["Location"] = url
    return JobAccepted(job_id=job_id, status=status, status_url=url)
