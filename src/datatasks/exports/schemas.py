"""The export request: which records, which fields, in which format."""

from __future__ import annotations

import re
import uuid
from enum import StrEnum
from typing import Annotated, Self

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from datatasks.generation.fields import as_utc
from datatasks.generation.schemas import RecordType


class ExportFormat(StrEnum):
    csv = "csv"
    json = "json"
    ndjson = "ndjson"
    parquet = "parquet"

    @property
    def extension(self) -> str:
        return self.value

    @property
    def content_type(self) -> str:
        return _CONTENT_TYPES[self]


_CONTENT_TYPES = {
    ExportFormat.csv: "text/csv; charset=utf-8",
    ExportFormat.json: "application/json",
    ExportFormat.ndjson: "application/x-ndjson",
    ExportFormat.parquet: "application/vnd.apache.parquet",
}


class Compression(StrEnum):
    none = "none"
    gzip = "gzip"


# A filter time must say its offset (a naive one is ambiguous); compared in UTC.
FilterTime = Annotated[AwareDatetime, AfterValidator(as_utc)]
FieldName = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[^\x00]+$")]
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


class ExportRequest(BaseModel):
    """Records matching every given filter, streamed to a file."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "format": "csv",
                    "record_type": "user",
                    "created_from": "2026-01-01T00:00:00Z",
                    "fields": ["id", "email", "age"],
                    "compression": "gzip",
                }
            ]
        },
    )

    format: ExportFormat
    record_type: RecordType | None = None
    dataset_id: uuid.UUID | None = None
    created_from: FilterTime | None = Field(default=None, description="inclusive")
    created_to: FilterTime | None = Field(default=None, description="exclusive")
    fields: list[FieldName] | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description="fields to keep, in this order; default: the datasets' schema order",
    )
    compression: Compression = Compression.none
    filename: str | None = Field(
        default=None, min_length=1, max_length=200, description="download name (sanitized)"
    )
    csv_formula_escape: bool = Field(
        default=True,
        description="prefix text cells starting with = + - @ tab or CR with ' (OWASP); "
        "numbers are never touched",
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.created_from and self.created_to and self.created_from >= self.created_to:
            raise ValueError("created_from must be before created_to")
        if self.fields is not None and len(set(self.fields)) != len(self.fields):
            raise ValueError("fields must not repeat")
        return self

    @property
    def gzipped(self) -> bool:
        """Whether the whole file is gzipped. Parquet compresses inside the file instead."""
        return self.compression is Compression.gzip and self.format is not ExportFormat.parquet

    @property
    def content_type(self) -> str:
        return "application/gzip" if self.gzipped else self.format.content_type

    def download_name(self, job_id: uuid.UUID) -> str:
        """The sanitized download filename, with the format's extension (and .gz)."""
        suffix = "." + self.format.extension + (".gz" if self.gzipped else "")
        stem = _UNSAFE_FILENAME.sub("_", self.filename or "").strip("._")[:100]
        for extension in (suffix, ".gz", "." + self.format.extension):
            stem = stem.removesuffix(extension)
        return (stem or f"export-{str(job_id)[:8]}") + suffix
