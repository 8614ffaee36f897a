"""The outbox: jobs committed but not yet in their queue.

The API writes a job's row and its outbox entry in one transaction and answers 202; a
dispatcher (in every worker) moves entries to their queues in bulk and deletes them. An entry
exists exactly while its job may be missing from Redis because it was never added.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from datatasks.models.base import Base


class OutboxEntry(Base):
    __tablename__ = "job_outbox"
    __table_args__ = (Index(None, "created_at"),)

    job_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    queue: Mapped[str] = mapped_column(String(16), nullable=False)
    # The request that created the job, carried into the queue job's data (and the worker's
    # log lines).
    request_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
