"""The job row: the source of truth for every unit of queued work."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from datatasks.models.base import Base, TimestampMixin


class JobType(StrEnum):
    generate = "generate"
    ingest = "ingest"
    export = "export"
    erase = "erase"


class JobStatus(StrEnum):
    pending = "pending"
    in_progress = "in_progress"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"


def _in(values: type[StrEnum]) -> str:
    return ", ".join(f"'{v.value}'" for v in values)


class Job(TimestampMixin, Base):
    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(f"type IN ({_in(JobType)})", name="type"),
        CheckConstraint(f"status IN ({_in(JobStatus)})", name="status"),
        CheckConstraint("progress_done >= 0", name="progress_done"),
        # Listing is newest first with a (created_at, id) cursor, optionally by status or type.
        Index(None, "created_at", "id"),
        Index(None, "status", "created_at", "id"),
        Index(None, "type", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    type: Mapped[JobType] = mapped_column(String(16), nullable=False)
    status: Mapped[JobStatus] = mapped_column(
        String(16), nullable=False, server_default=text("'pending'")
    )
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    progress_done: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    progress_total: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    idempotency_fingerprint: Mapped[str | None] = mapped_column(String(64))
    # The queue lock token of the delivery that owns the job: only it may finish the job.
    lease: Mapped[str | None] = mapped_column(String(128))
    # Told when the job ends (see models/webhook.py).
    callback_url: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
