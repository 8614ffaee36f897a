"""CSV upload reader: complete records go to the csv module in batches."""

from __future__ import annotations

import csv

import orjson

from datatasks.uploads.rows import InvalidContent, Output, Rejected, reject


class CsvFormat:
    """CSV: complete records are cut on newlines outside quotes (even count of `"` before them:
    both are single bytes in UTF-8) and handed to the csv module in batches."""

    def __init__(self, delimiter: str) -> None:
        self.columns: list[str] | None = None
        self._delimiter = delimiter
        self._buf = bytearray()
        self._scanned = 0  # bytes at the start of _buf known to hold no record boundary
        self._quotes = 0  # `"` in those bytes
        self._line = 0  # physical lines before _buf

    def feed(self, data: bytes) -> Output:
        """Parse the records completed by `data` (the header first)."""
        buf = self._buf
        buf += data
        end = _last_boundary(buf, self._scanned, self._quotes & 1)
        if end < 0:
            # Remember how far we looked, so a very long record is not rescanned on every call.
            self._quotes += buf.count(b'"', self._scanned)
            self._scanned = len(buf)
            return [], []
        batch = bytes(memoryview(buf)[: end + 1])
        del buf[: end + 1]
        self._scanned = self._quotes = 0
        return self._parse(batch)

    def finish(self) -> Output:
        """Parse what is left: a last record without a newline, or an unterminated one."""
        batch = bytes(self._buf)
        self._buf.clear()
        return self._parse(batch)

    def _parse(self, batch: bytes) -> Output:
        try:
            text = batch.decode()
            bad_lines: set[int] = set()
        except UnicodeDecodeError:
            text, bad_lines = _decode_lines(batch)
        lines = text.split("\n")
        if not lines[-1]:
            lines.pop()  # the piece after the final newline
        base = self._line + 1
        self._line += len(lines)
        starts: list[int] | range = range(len(lines))
        records = lines
        open_start = -1
        if '"' in text:
            records, starts, open_start = _group(lines)
        # Rows that are rejected whatever the csv module makes of them.
        problems: dict[int, str] = {}
        if bad_lines and records:
            ends = [*starts[1:], open_start if open_start >= 0 else len(lines)]
            for i, (first, stop) in enumerate(zip(starts, ends, strict=True)):
                if any(n in bad_lines for n in range(first, stop)):
                    problems[i] = "invalid UTF-8"
        if "\x00" in text:
            for i, record in enumerate(records):
                if "\x00" in record:
                    problems.setdefault(i, "NUL character")
        rows, clean = self._rows(records)
        first = 0 if self.columns is not None else self._read_header(rows, problems)
        columns = self.columns or []
        width = len(columns)
        dumps = orjson.dumps
        rejected: list[Rejected] = []
        if clean and not problems:
            # The usual batch: a comprehension is a third faster than the loop below.
            out = [
                dumps(dict(zip(columns, row, strict=False))).decode()
                for row in rows[first:]
                if len(row) == width
            ]
            if len(out) < len(rows) - first:  # blank lines, or rows of the wrong width
                for i in range(first, len(rows)):
                    if rows[i] and len(rows[i]) != width:
                        reason = f"expected {width} fields, got {len(rows[i])}"
                        rejected.append(reject(base + starts[i], reason, records[i]))
        else:
            out = []
            for i in range(first, len(rows)):
                row = rows[i]
                if isinstance(row, list) and len(row) == width and i not in problems:
                    out.append(dumps(dict(zip(columns, row, strict=False))).decode())
                elif row:  # an empty row is a blank line
                    if i in problems:
                        reason = problems[i]
                    elif isinstance(row, str):
                        reason = f"malformed CSV: {row}"
                    else:
                        reason = f"expected {width} fields, got {len(row)}"
                    rejected.append(reject(base + starts[i], reason, records[i]))
        if open_start >= 0:
            raw = "\n".join(lines[open_start:])
            if self.columns is None:
                raise InvalidContent("unterminated quoted field in the CSV header")
            rejected.append(reject(base + open_start, "unterminated quoted field", raw))
        return out, rejected

    def _rows(self, records: list[str]) -> tuple[list[list[str] | str], bool]:
        """Each record's cells, or the csv module's complaint about it; and whether all read."""
        delimiter = self._delimiter
        try:
            rows: list[list[str] | str] = list(
                csv.reader(records, delimiter=delimiter, strict=True)
            )
        except csv.Error:
            rows = []
        # One row per record means each record was read on its own; otherwise (a quote the csv
        # module read differently from our count) read them one by one, so chunks cannot matter.
        if len(rows) == len(records):
            return rows, True
        rows = []
        for record in records:
            try:
                rows.append(next(csv.reader((record,), delimiter=delimiter, strict=True)))
            except csv.Error as exc:
                rows.append(str(exc))
        return rows, False

    def _read_header(self, rows: list[list[str] | str], problems: dict[int, str]) -> int:
        """Take the first non-blank row as the header; returns the index of the row after it."""
        for i, row in enumerate(rows):
            if i in problems or isinstance(row, str):
                reason = problems.get(i) or f"malformed CSV: {row}"
                raise InvalidContent(f"the CSV header cannot be read: {reason}")
            if row:
                self.columns = _unique_names(row)
                return i + 1
        return len(rows)


def _last_boundary(buf: bytearray, start: int, odd: int) -> int:
    """Index of the last newline in buf[start:] outside quotes (-1 if none); `odd` is the parity
    of the quotes in buf[:start]. Walks back from the last newline over pairs of quotes."""
    newline = buf.rfind(b"\n", start)
    if newline < 0:
        return -1
    if (odd + buf.count(b'"', start, newline)) & 1 == 0:
        return newline
    pos = newline  # inside quotes from the last quote before pos up to pos
    while True:
        opening = buf.rfind(b'"', start, pos)
        if opening < 0:
            return -1  # inside quotes since before `start`
        before = buf.rfind(b'"', start, opening)  # outside quotes between `before` and `opening`
        newline = buf.rfind(b"\n", before + 1 if before >= 0 else start, opening)
        if newline >= 0:
            return newline
        if before < 0:
            return -1
        pos = before


def _group(lines: list[str]) -> tuple[list[str], list[int], int]:
    """Join physical lines into records (a quoted field may span lines): the records, the index
    of each one's first line, and the first line of an unterminated last record (or -1)."""
    records: list[str] = []
    starts: list[int] = []
    pending: list[str] = []
    pending_start = -1
    for i, line in enumerate(lines):
        odd = line.count('"') & 1
        if pending:
            pending.append(line)
            if odd:
                records.append("\n".join(pending))
                starts.append(pending_start)
                pending = []
                pending_start = -1
        elif odd:
            pending = [line]
            pending_start = i
        else:
            records.append(line)
            starts.append(i)
    return records, starts, pending_start


def _decode_lines(batch: bytes) -> tuple[str, set[int]]:
    """Decode line by line: the text (bad bytes replaced) and the indexes of invalid lines."""
    bad: set[int] = set()
    lines = batch.split(b"\n")
    for i, line in enumerate(lines):
        try:
            line.decode()
        except UnicodeDecodeError:
            bad.add(i)
    return batch.decode("utf-8", "replace"), bad


def _unique_names(names: list[str]) -> list[str]:
    """Column names made non-empty (`column_<n>`) and unique (`name_2`, `name_3`...)."""
    used: set[str] = set()
    unique: list[str] = []
    for n, name in enumerate(names, start=1):
        base = name if name.strip() else f"column_{n}"
        candidate, suffix = base, 2
        while candidate in used:
            candidate, suffix = f"{base}_{suffix}", suffix + 1
        used.add(candidate)
        unique.append(candidate)
    return unique
