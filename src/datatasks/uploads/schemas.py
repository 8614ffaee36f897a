"""What an upload answers, and what its ingest job stores."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

from datatasks.jobs.schemas import JobAccepted
from datatasks.uploads.sniff import ColumnType, Ragged, UploadFormat


class UploadAccepted(JobAccepted):
    """The stored upload, and the ingest job that loads it into a dataset."""

    upload_id: uuid.UUID
    size: int = Field(description="bytes stored")
    sha256: str
    content_type: UploadFormat = Field(description="decided from the content: csv, json, ndjson")


class IngestParams(BaseModel):
    """What an ingest job is given (and what its status shows): the file is the upload's
    original (uploads/locations.py), so no storage key is here for a client to see."""

    upload_id: uuid.UUID
    size: int
    format: UploadFormat
    delimiter: str | None
    encoding: str = "utf-8"
    quotechar: str = '"'
    header: bool = True
    ragged: Ragged = Ragged.reject
    skip_rows: int = 0
    comment: str | None = None
    # The cells read as null, when not the default ones (sniff.NULL_TOKENS).
    null_values: list[str] | None = None
    # The types the client declared (the form's `schema`), by column name.
    column_types: dict[str, ColumnType] | None = None
    record_type: str
    dataset_name: str | None
