"""Datasets and their records. Records are written by COPY, never through the ORM."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    PrimaryKeyConstraint,
    Sequence,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from datatasks.models.base import Base, TimestampMixin

# What a dataset's records are of (`user`, `order`): every request names it the same way.
RECORD_TYPE_PATTERN = r"^[a-z0-9_]+$"
RECORD_TYPE_MAX = 64
RecordType = Annotated[
    str,
    Field(min_length=1, max_length=RECORD_TYPE_MAX, pattern=RECORD_TYPE_PATTERN, examples=["user"]),
]


class DatasetSource(StrEnum):
    generated = "generated"
    uploaded = "uploaded"


class DatasetState(StrEnum):
    """active: readable; erasing: an erase job is removing it; erased: a tombstone (no data)."""

    active = "active"
    erasing = "erasing"
    erased = "erased"


class Dataset(TimestampMixin, Base):
    __tablename__ = "datasets"
    __table_args__ = (
        CheckConstraint("source IN ('generated', 'uploaded')", name="source"),
        CheckConstraint("state IN ('active', 'erasing', 'erased')", name="state"),
        # Listing is newest first with a (created_at, id) cursor.
        Index(None, "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    # The job that fills the dataset; unique so a re-delivered job finds its dataset again.
    job_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("jobs.id", ondelete="SET NULL"), unique=True
    )
    name: Mapped[str | None] = mapped_column(String(255))
    record_type: Mapped[str] = mapped_column(String(RECORD_TYPE_MAX), nullable=False)
    source: Mapped[DatasetSource] = mapped_column(String(16), nullable=False)
    schema: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    row_count: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    state: Mapped[DatasetState] = mapped_column(
        String(16), nullable=False, server_default=text("'active'")
    )
    erase_job_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What GET /datasets/{id}/profile computed, kept: a complete dataset does not change.
    profile: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


def partition_name(dataset_id: uuid.UUID) -> str:
    """The table that holds one dataset's records: a partition of `records`."""
    return f"records_{dataset_id.hex}"


class Record(TimestampMixin, Base):
    """One record, in its dataset's partition (see partition_name): LIST-partitioned on
    `dataset_id`, so a dataset is erased by emptying one table. The hot paths (COPY in, COPY
    out, erasure) name the partition itself, so they never lock the parent table.
    `dataset_id` has no foreign key on purpose: a per-row FK trigger would sit on the COPY
    hot path."""

    __tablename__ = "records"
    __table_args__ = (
        PrimaryKeyConstraint("dataset_id", "id"),
        {"postgresql_partition_by": "LIST (dataset_id)"},
    )

    id: Mapped[int] = mapped_column(BigInteger, Sequence("records_id_seq"))
    dataset_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    record_type: Mapped[str] = mapped_column(Text, nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)


class ExportDataset(Base):
    """An export that read rows of a dataset: the files an erasure of that dataset deletes.
    Written in the transaction that reads the rows."""

    __tablename__ = "export_datasets"
    __table_args__ = (Index(None, "export_job_id"),)

    dataset_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    export_job_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
