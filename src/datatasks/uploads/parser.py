"""Incremental parsing of an upload into records (JSON object text), fed in arbitrary chunks.

The output never depends on where the chunks were cut: each format only parses what is
complete (whole CSV records, whole NDJSON lines, whole elements of a JSON array) and keeps the
rest for the next call - never more than about `max_record_bytes` of it: a longer line (or
array element) is rejected, and its bytes dropped as they come.

Nor does one call make unbounded output. A JSON record is its line's or element's text (orjson
may write a number a few times longer: 1e15 is 1000000000000000.0), so a call makes about what
it parses. A CSV record repeats the header's names, so a short row can make a long record: a
call given a `limit` makes rows into records only as far as their names fit in it, and keeps
the other rows, read and checked, for `more`. Whatever the limit, the records are the same.
"""

from __future__ import annotations

from datatasks.uploads.csv_rows import CsvFormat
from datatasks.uploads.json_rows import ArrayFormat, NdjsonFormat
from datatasks.uploads.parsing import (
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
            self._format = CsvFormat(
                sniffed.delimiter or ",",
                max_record_bytes,
                max_columns,
                quotechar=sniffed.quotechar,
                header=sniffed.header,
                ragged=sniffed.ragged,
                nulls=sniffed.nulls,
                declared=dict(sniffed.declared),
            )
        elif sniffed.format is UploadFormat.ndjson:
            self._format = NdjsonFormat(max_record_bytes, max_columns)
        else:
            self._format = ArrayFormat(max_record_bytes, max_columns)
        self._head: bytearray | None = bytearray()  # the first bytes, until the BOM is settled
        self._finished = False

    @property
    def schema(self) -> list[dict[str, str]] | None:
        """The columns in the file's order with their types (a CSV's once its header is read,
        JSON records' once one is read)."""
        if not isinstance(self._format, CsvFormat):
            return self._format.schema or None
        if self._format.columns is None:
            return None
        types = self._format.types or ["string"] * len(self._format.columns)
        return [{"name": c, "type": t} for c, t in zip(self._format.columns, types, strict=True)]

    @property
    def columns(self) -> list[str] | None:
        """The CSV header's column names (made unique and non-empty), once read."""
        return self._format.columns if isinstance(self._format, CsvFormat) else None

    @property
    def pending(self) -> bool:
        """Whether rows already parsed wait to be made into records: call `more` until not."""
        return isinstance(self._format, CsvFormat) and self._format.pending

    def feed(self, data: bytes, limit: int | None = None) -> Output:
        """Parse the next chunk: the records completed so far and the rows rejected so far.

        With a `limit`, CSV rows are made into records only as far as their JSON can be told
        to stay within about `limit` characters (at least one record): the header's names
        that each repeats are counted, its cells (no more than its row holds, JSON-escaped)
        are not. The rows beyond wait (see `pending`)."""
        if self._finished:
            raise RuntimeError("feed() after finish()")
        if self._head is not None:
            self._head += data
            if len(self._head) < len(BOM) and BOM.startswith(self._head):
                return [], []  # could still be a BOM
            data = self._settle_bom()
        return self._feed(data, limit)

    def finish(self, limit: int | None = None) -> Output:
        """Parse what is left at the end of the file (a last line without a newline counts);
        with a `limit`, as `feed` does."""
        if self._finished:
            raise RuntimeError("finish() called twice")
        self._finished = True
        records: list[str] = []
        rejected: list[Rejected] = []
        if self._head is not None:
            records, rejected = self._feed(self._settle_bom(), limit)
        if isinstance(self._format, CsvFormat):
            more_records, more_rejected = self._format.finish(limit)
        else:
            more_records, more_rejected = self._format.finish()
        return records + more_records, rejected + more_rejected

    def more(self, limit: int | None = None) -> list[str]:
        """The next records of the rows waiting (see `pending`), about `limit` characters."""
        return self._format.more(limit) if isinstance(self._format, CsvFormat) else []

    def _feed(self, data: bytes, limit: int | None) -> Output:
        if isinstance(self._format, CsvFormat):
            return self._format.feed(data, limit)
        return self._format.feed(data)

    def _settle_bom(self) -> bytes:
        head = bytes(self._head or b"")
        self._head = None
        if head.startswith(BOM):
            if isinstance(self._format, ArrayFormat):
                self._format.offset = len(BOM)  # error positions count from the file's start
            return head[len(BOM) :]
        return head
