"""Incremental parsing of an upload into records (JSON object text), fed in arbitrary chunks.

The output never depends on where the chunks were cut: each format only parses what is
complete (whole CSV records, whole NDJSON lines, whole elements of a JSON array) and keeps the
rest for the next call - never more than about `max_record_bytes` of it: a longer line (or
array element) is rejected, and its bytes dropped as they come.
"""

from __future__ import annotations

from datatasks.uploads.csv_rows import CsvFormat
from datatasks.uploads.json_rows import ArrayFormat, NdjsonFormat
from datatasks.uploads.rows import (
    MAX_COLUMNS,
    MAX_RECORD_BYTES,
    InvalidContent,
    Output,
    Rejected,
    TooManyColumns,
)
from datatasks.uploads.sniff import BOM, Sniffed, UploadFormat

__all__ = ["InvalidContent", "RecordParser", "Rejected", "TooManyColumns"]


class RecordParser:
    """Turns an upload's bytes into records, chunk by chunk, for the format sniffed.

    Lines (and JSON array elements) longer than `max_record_bytes` are rejected rows; a file
    with more than `max_columns` CSV columns, or distinct keys in its JSON objects, raises
    TooManyColumns."""

    def __init__(
        self,
        sniffed: Sniffed,
        *,
        max_record_bytes: int = MAX_RECORD_BYTES,
        max_columns: int = MAX_COLUMNS,
    ) -> None:
        self._format: CsvFormat | NdjsonFormat | ArrayFormat
        if sniffed.format is UploadFormat.csv:
            self._format = CsvFormat(sniffed.delimiter or ",", max_record_bytes, max_columns)
        elif sniffed.format is UploadFormat.ndjson:
            self._format = NdjsonFormat(max_record_bytes, max_columns)
        else:
            self._format = ArrayFormat(max_record_bytes, max_columns)
        self._head: bytearray | None = bytearray()  # the first bytes, until the BOM is settled
        self._finished = False

    @property
    def columns(self) -> list[str] | None:
        """The CSV header's column names (made unique and non-empty), once read."""
        return self._format.columns if isinstance(self._format, CsvFormat) else None

    def feed(self, data: bytes) -> Output:
        """Parse the next chunk: the records completed so far and the rows rejected so far."""
        if self._finished:
            raise RuntimeError("feed() after finish()")
        if self._head is not None:
            self._head += data
            if len(self._head) < len(BOM) and BOM.startswith(self._head):
                return [], []  # could still be a BOM
            data = self._settle_bom()
        return self._format.feed(data)

    def finish(self) -> Output:
        """Parse what is left at the end of the file (a last line without a newline counts)."""
        if self._finished:
            raise RuntimeError("finish() called twice")
        self._finished = True
        records: list[str] = []
        rejected: list[Rejected] = []
        if self._head is not None:
            records, rejected = self._format.feed(self._settle_bom())
        more_records, more_rejected = self._format.finish()
        return records + more_records, rejected + more_rejected

    def _settle_bom(self) -> bytes:
        head = bytes(self._head or b"")
        self._head = None
        if head.startswith(BOM):
            if isinstance(self._format, ArrayFormat):
                self._format.offset = len(BOM)  # error positions count from the file's start
            return head[len(BOM) :]
        return head
