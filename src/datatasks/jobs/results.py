"""What each kind of job answers when it is done: the public result, typed for the OpenAPI
document. Storage keys and content types are not in them: the routes that serve files derive
those from the job (see exports/locations.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, model_serializer

from datatasks.exports.masking import RuleName, TruncateTo


class GenerationResult(BaseModel):
    dataset_id: uuid.UUID
    rows: int
    seed: int = Field(description="the seed the records were made from: the same again, same rows")


class RejectedRow(BaseModel):
    line: int = Field(description="1-based line (CSV, NDJSON) or element (JSON array)")
    reason: str
    raw: str = Field(description="the rejected text, possibly cut short")


class IngestResult(BaseModel):
    dataset_id: uuid.UUID
    rows: int
    rejected: int
    bytes: int
    format: str
    # Defaults for jobs finished before these were recorded: their results still read.
    encoding: str = Field(default="utf-8", description="the text encoding the file was read with")
    warnings: list[str] = Field(
        default_factory=list, description="what may not be as the client meant, and the fix"
    )
    rejected_sample: list[RejectedRow] = Field(description="the first rejected rows (at most 100)")
    rejects_url: str | None = Field(
        default=None, description="all rejected rows as NDJSON (a signed, expiring link)"
    )
    rejects_expires_at: datetime | None = None


# How many datasets an export's result lists; the counts say how many there were.
LISTED = 100


class DatasetRead(BaseModel):
    dataset_id: uuid.UUID
    rows: int | None = Field(
        description="records of this dataset in the file (none: a time filter took part of "
        "it, not counted)"
    )


class FileErased(BaseModel):
    at: datetime
    datasets: list[uuid.UUID] = Field(description="the erased datasets whose rows it held")


class AppliedMask(BaseModel):
    """A mask as an export applied it to one field (exports/masking.py's describe_mask): its
    rule and the options in effect. Options of other rules are left out, not null."""

    field: str
    rule: RuleName
    algorithm: Literal["hmac-sha256"] | None = Field(default=None, description="hash")
    to: TruncateTo | None = Field(default=None, description="truncate, dates: to the first of")
    keep: int | None = Field(default=None, description="truncate, text: characters kept")
    prefix: int | None = Field(default=None, description="truncate, IPv4: network bits kept")
    prefix6: int | None = Field(default=None, description="truncate, IPv6: network bits kept")

    @model_serializer(mode="wrap")
    def _only_in_effect(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {name: value for name, value in handler(self).items() if value is not None}


class ExportResult(BaseModel):
    rows: int
    datasets: list[DatasetRead] = Field(
        default_factory=list,
        description="the datasets the file was read from, each complete (its job had "
        "completed) unless include_incomplete was asked for",
    )
    datasets_read: int = Field(default=0, description=f"how many (the list shows {LISTED})")
    skipped_incomplete: list[uuid.UUID] = Field(
        default_factory=list,
        description="matching datasets left out because their job had not completed",
    )
    skipped_count: int = Field(default=0, description=f"how many (the list shows {LISTED})")
    skipped_erased: list[uuid.UUID] = Field(
        default_factory=list,
        description="matching datasets left out because they were erased before being read",
    )
    bytes: int
    sha256: str = Field(description="of the file as downloaded")
    format: str
    compression: str
    fields: list[str]
    masked: list[AppliedMask] = Field(
        default_factory=list,
        description="the masks applied: per field, its rule and the options in effect",
    )
    filename: str
    download_url: str = Field(description="a signed, expiring link; POST .../link for a new one")
    expires_at: datetime
    erased: FileErased | None = Field(
        default=None,
        description="set when the file was deleted because a dataset it holds rows of was "
        "erased: its links answer 410 Gone",
    )


class EraseResult(BaseModel):
    dataset_id: uuid.UUID
    rows: int = Field(description="records erased")
    bytes: int = Field(description="disk space the records took (table, indexes, TOAST)")
    files: int = Field(description="files deleted: the upload, its rejects, export files")
    exports: list[uuid.UUID] = Field(description="the export jobs whose files were deleted")


class JobError(BaseModel):
    message: str
    type: str = Field(description="the kind of error, e.g. JobFailed for input that cannot work")
    attempt: int | None = Field(description="the attempt that failed (none: failed by the queue)")
    final: bool = Field(description="true once no retry follows")
