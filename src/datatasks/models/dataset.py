"""Datasets and their records. Records are written by COPY, never through the ORM."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Identity, Index, String, Text
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


class Dataset(TimestampMixin, Base):
    __tablename__ = "datasets"
    __table_args__ = (CheckConstraint("source IN ('generated', 'uploaded')", name="source"),)

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


class Record(TimestampMixin, Base):
    """One record. `dataset_id` has no foreign key on purpose: a per-row FK trigger would sit on
    the COPY hot path; the service deletes a dataset's records with the dataset."""

    __tablename__ = "records"
    __table_args__ = (
        Index(None, "record_type", "created_at"),
        Index(None, "dataset_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    dataset_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    record_type: Mapped[str] = mapped_column(Text, nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
