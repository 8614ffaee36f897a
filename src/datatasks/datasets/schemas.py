"""Datasets as clients see them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from datatasks.models import DatasetSource, DatasetState, JobStatus

SAMPLE_MAX = 100


class DatasetField(BaseModel):
    name: str
    type: str = Field(description="the generation type, or the type an upload's column was read as")


class DatasetOut(BaseModel):
    id: uuid.UUID
    name: str | None
    record_type: str
    source: DatasetSource
    state: DatasetState = Field(description="active, or erasing (an erase job is removing it)")
    job_id: uuid.UUID | None = Field(description="the job that made it (none once that is gone)")
    job_status: JobStatus | None = Field(
        description="that job's status: the dataset is complete once it is completed"
    )
    fields: list[DatasetField] = Field(description="its records' fields, in order")
    rows: int
    bytes: int = Field(description="disk space its records take (table, indexes, TOAST)")
    created_at: datetime
    sample: list[dict[str, Any]] | None = Field(
        default=None, description=f"with ?sample=N: its first N records (N at most {SAMPLE_MAX})"
    )


class DatasetPage(BaseModel):
    items: list[DatasetOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; none: last")
