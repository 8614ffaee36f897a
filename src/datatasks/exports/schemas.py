"""The export request: which records, which fields, in which format."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from datatasks.core.storable import StorableRequest
from datatasks.exports.masking import MaskRule
from datatasks.generation.base import as_utc
from datatasks.models.dataset import RecordType
from datatasks.webhooks.targets import CallbackUrl


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
    """gzip: the whole file (CSV, JSON, NDJSON) or Parquet's pages; snappy and zstd: Parquet's
    pages only."""

    none = "none"
    gzip = "gzip"
    snappy = "snappy"
    zstd = "zstd"


class LineEnding(StrEnum):
    lf = "lf"
    crlf = "crlf"


# CSV options, and the defaults that say "not asked for": any other value with another format
# is a 422 naming the option.
CSV_OPTIONS = {
    "delimiter": ",",
    "line_ending": LineEnding.lf,
    "bom": False,
    "null": "",
    "header": True,
}


# A filter time must say its offset (a naive one is ambiguous); compared in UTC.
FilterTime = Annotated[AwareDatetime, AfterValidator(as_utc)]
FieldName = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[^\x00]+$")]
# Letters of any script, digits, . _ and -; the rest becomes _. Starlette adds the RFC 6266
# filename* form for names that are not plain ASCII.
_UNSAFE_FILENAME = re.compile(r"[^\w.-]+")


class ExportRequest(StorableRequest):
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
    callback_url: CallbackUrl | None = None
    filename: str | None = Field(
        default=None, min_length=1, max_length=200, description="download name (sanitized)"
    )
    csv_formula_escape: bool = Field(
        default=True,
        description="prefix text cells starting with = + - @ tab or CR with ' (OWASP); "
        "numbers are never touched",
    )
    delimiter: str = Field(
        default=",",
        min_length=1,
        max_length=1,
        pattern=r"^[\t !#$%&'()*+,\-./:;<=>?@\[\]^_`{|}~]$",
        description="CSV: the field separator, one ASCII punctuation character, space or tab",
    )
    line_ending: LineEnding = Field(
        default=LineEnding.lf, description="CSV: lf, or crlf (RFC 4180, Excel)"
    )
    bom: bool = Field(default=False, description="CSV: start with a UTF-8 byte order mark (Excel)")
    null: str = Field(
        default="",
        max_length=32,
        pattern=r"^[^\r\n\"\\]*$",
        description='CSV: how a null or missing value is written (an empty text is "")',
    )
    header: bool = Field(default=True, description="CSV: a first line of field names")
    row_group_size: int = Field(
        default=65_536,
        ge=1_000,
        le=262_144,
        description="Parquet: rows per row group (memory holds one at a time)",
    )
    include_incomplete: bool = Field(
        default=False,
        description="also read datasets whose job is still running (or failed): by default an "
        "export reads only complete datasets, as of one snapshot",
    )
    big_int_as_string: bool = Field(
        default=False,
        description="JSON, NDJSON: integers outside JavaScript's safe range (beyond ±2**53 - 1) "
        "as strings, for readers that parse numbers as doubles; otherwise every integer is "
        "written exactly, as a number",
    )

    mask: dict[FieldName, MaskRule] | None = Field(
        default=None,
        max_length=500,
        description="per field, how its personal data is masked in the file: redact (null), "
        "hash (keyed HMAC-SHA256 pseudonym), fake (a value of the same type, the same for the "
        "same original), truncate (dates to a day, month or year; text to its first `keep` "
        'characters; IPs to a network prefix). "hash" is short for {"rule": "hash"}',
        examples=[{"email": "hash", "name": "fake", "born": {"rule": "truncate", "to": "year"}}],
    )

    @field_validator("created_to")
    @classmethod
    def _after_from(cls, created_to: datetime | None, info: ValidationInfo) -> datetime | None:
        created_from = info.data.get("created_from")
        if created_to is not None and created_from is not None and created_from >= created_to:
            raise ValueError("must be after created_from")
        return created_to

    @model_validator(mode="after")
    def _options_fit_the_format(self) -> Self:
        if self.format is not ExportFormat.csv:
            for option, default in CSV_OPTIONS.items():
                if getattr(self, option) != default:
                    raise ValueError(f"{option} applies to CSV exports only")
        elif self.delimiter in self.null:
            raise ValueError("null must not contain the delimiter")
        if self.format is not ExportFormat.parquet:
            if self.row_group_size != 65_536:
                raise ValueError("row_group_size applies to Parquet exports only")
            if self.compression in (Compression.snappy, Compression.zstd):
                raise ValueError(
                    f"compression {self.compression} applies to Parquet exports only "
                    "(others take none or gzip)"
                )
        if self.big_int_as_string and self.format not in (ExportFormat.json, ExportFormat.ndjson):
            raise ValueError("big_int_as_string applies to JSON and NDJSON exports only")
        return self

    @field_validator("fields")
    @classmethod
    def _distinct(cls, fields: list[str] | None) -> list[str] | None:
        if fields is not None and len(set(fields)) != len(fields):
            raise ValueError("fields must not repeat")
        return fields

    @model_validator(mode="after")
    def _masked_fields_are_exported(self) -> Self:
        if self.mask and self.fields is not None:
            left_out = [name for name in self.mask if name not in self.fields]
            if left_out:
                raise ValueError(f"mask names fields that are not exported: {left_out}")
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
            if stem.lower().endswith(extension):
                stem = stem[: -len(extension)]
        return (stem or f"export-{str(job_id)[:8]}") + suffix
