"""CSV upload reader: the csv module reads complete lines and decides where each record ends."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import accumulate, chain, islice

import orjson

from datatasks.uploads.parsing import (
    MAX_COLUMNS,
    MAX_RECORD_BYTES,
    InvalidContent,
    LongLines,
    Output,
    Rejected,
    TooManyColumns,
    reject,
)
from datatasks.uploads.sniff import (
    NULL_TOKENS,
    ColumnType,
    Ragged,
    reader_options,
    unique_names,
)
from datatasks.uploads.types import Inference

# How far one record may span: lines, and bytes (newlines included; the parser's
# `max_record_bytes`, which also bounds a single line). A quote opening a field by mistake would
# otherwise make the rest of the file one record, held in memory: a record that does not end
# within these (or whose quoted field outgrows the csv module's limit over several lines) is
# rejected at its first line, and parsing resumes at the next one.
MAX_RECORD_LINES = 10_000
UNTERMINATED = "unterminated quoted field"
# The csv module's complaint when its input ends inside a quoted field (strict mode only).
_END_OF_DATA = "unexpected end of data"
_FIELD_LIMIT = "field larger than field limit"  # csv.field_size_limit(), 128 Ki characters

Cells = list[str] | str  # a record's cells, or why it is rejected


class CsvFormat:
    """CSV: complete lines go to the csv module (strict, so that it reports a quoted field still
    open where its input ends). A record still open at the end of the lines fed so far waits
    for more: only its new lines are read again, from inside the quoted field it is in.

    A line longer than `max_record_bytes` is rejected on its own, its bytes dropped as they
    come: what precedes it is read as if the file ended there (a record going on into it would
    be over the bound anyway), and reading resumes after it. A header of more than
    `max_columns` columns fails the file.

    Each record repeats the header's names, so its JSON can be far longer than its row: given a
    `limit`, a call makes rows into records only while the least they can take (the record of
    empty cells, times their number) stays within it, and the rows beyond wait, read and
    checked, for `more`. The cells add no more than their rows hold, JSON-escaped."""

    def __init__(
        self,
        delimiter: str,
        max_record_bytes: int = MAX_RECORD_BYTES,
        max_columns: int = MAX_COLUMNS,
        *,
        quotechar: str = '"',
        header: bool = True,
        ragged: Ragged = Ragged.reject,
        nulls: frozenset[str] = NULL_TOKENS,
        declared: Mapping[str, ColumnType] | None = None,
    ) -> None:
        self.columns: list[str] | None = None
        self._dialect = _dialect(delimiter, quotechar)
        self._header = header
        self._ragged = ragged
        self._nulls = nulls
        self._declared = dict(declared or {})
        self._inference: Inference | None = None
        self._max_bytes = max_record_bytes
        self._max_columns = max_columns
        self._long = LongLines(max_record_bytes)
        self._buf = bytearray()
        self._line = 0  # physical lines before _buf
        # Complete lines at the start of _buf known to belong to one record still open at the end
        # of each of them (inside a quoted field), and their bytes.
        self._open_lines = 0
        self._open_bytes = 0
        # Each record repeats the header's names: its JSON is at least `_floor` characters (the
        # record of empty cells), however short its row. Rows read (and checked: their rejects
        # are out) wait in `_ready`, from `_ready_at` on, until the caller has room for their
        # records; `_room` is what this call has left, None for no limit.
        self._floor = 0
        self._ready: list[Cells] = []
        self._ready_at = 0
        self._room: int | None = None

    @property
    def pending(self) -> bool:
        """Whether rows read are waiting to be made into records (see `more`)."""
        return self._ready_at < len(self._ready)

    def feed(self, data: bytes, limit: int | None = None) -> Output:
        """Parse the records completed by `data` (the header first). With a `limit`, only about
        that many characters of records are made (at least one): the rest wait, for `more`."""
        self._room = limit
        records, rejected = self._feed(data)
        if self.pending:
            records += self._take()
        return records, rejected

    def finish(self, limit: int | None = None) -> Output:
        """Parse what is left: a last record without a newline, or an unterminated one."""
        self._room = limit
        records, rejected = self._parse(len(self._buf), final=True)
        if self.pending:
            records += self._take()
        return records, rejected

    def more(self, limit: int | None = None) -> list[str]:
        """The next records of rows already read, about `limit` characters (at least one)."""
        self._room = limit
        return self._take()

    def _feed(self, data: bytes) -> Output:
        rest = self._long.skip(data)
        if rest is None:
            return [], []
        buf = self._buf
        new = len(buf)
        buf += rest
        records: list[str] = []
        rejected: list[Rejected] = []
        # Only the line `data` goes on with, and the ones after it, can be new long lines.
        while (at := self._long.find(buf, buf.rfind(b"\n", 0, new) + 1)) >= 0:
            more, bad = self._parse(at, final=True)
            records += more
            rejected += bad
            if self.columns is None:
                raise InvalidContent(f"the CSV header cannot be read: {self._long.reason}")
            self._line += 1
            rejected.append(self._long.cut(buf, self._line))
            if self._long.dropping:
                return records, rejected
            new = 0
        # _buf holds no complete line beyond the open record's: only new bytes can end one.
        end = buf.rfind(b"\n", new) + 1
        if not end or (self._open_lines and not self._open_record_settles(end)):
            return records, rejected
        more, bad = self._parse(end, final=False)
        return records + more, rejected + bad

    def _open_record_settles(self, end: int) -> bool:
        """Whether the open record at the start of _buf ends, fails or outgrows the bounds
        within _buf[:end]. Reads only the lines after those known to be open, starting inside a
        quoted field as the record is there (the csv module's state at the end of a line inside
        a record is always that), and counts them as open when it reaches their end."""
        buf = self._buf
        capped = False
        quote = self._dialect.quotechar or '"'

        def lines() -> Iterator[str]:
            nonlocal capped
            prefix = quote  # opens a quoted field: where the record is at this point
            pos = self._open_bytes
            while pos < end:
                stop = buf.index(b"\n", pos, end) + 1
                if (
                    self._open_lines >= MAX_RECORD_LINES
                    or self._open_bytes + stop - pos > self._max_bytes
                ):
                    capped = True
                    return
                yield prefix + buf[pos:stop].decode("utf-8", "replace")
                prefix = ""
                self._open_lines += 1
                self._open_bytes += stop - pos
                pos = stop

        reader = csv.reader(lines(), self._dialect)
        try:
            next(reader)
        except StopIteration:
            return True  # the very first new line is beyond the bounds
        except csv.Error as exc:
            if str(exc) != _END_OF_DATA:
                return True
            # Still open after all the new lines.
            return capped or not self._may_grow(self._open_lines, self._open_bytes)
        return True

    def _may_grow(self, lines: int, size: int) -> bool:
        """Whether a record still open after `lines` lines of `size` bytes may end within the
        bounds (on a line still to come)."""
        return lines < MAX_RECORD_LINES and size < self._max_bytes

    def _parse(self, size: int, final: bool) -> Output:
        """Parse the complete lines in _buf[:size] (all of it when `final`), keeping a record
        still open at their end in _buf unless `final`."""
        buf = self._buf
        self._open_lines = self._open_bytes = 0
        batch = bytes(memoryview(buf)[:size])
        try:
            text = batch.decode()
            bad_lines: set[int] = set()
        except UnicodeDecodeError:
            text, bad_lines = _decode_lines(batch)
        lines = text.split("\n")
        if not lines[-1]:
            lines.pop()  # the piece after the final newline
        n = len(lines)
        # The usual batch: read in one go. Without quotes no record spans lines, and the lines
        # can go to the csv module as they are; with quotes, it needs their newlines.
        quoted = (self._dialect.quotechar or '"') in text
        source: Iterable[str] = io.StringIO(text, newline="\n") if quoted else lines
        reader = csv.reader(source, self._dialect)
        rows: list[Cells] = []
        error = None
        try:
            rows.extend(reader)  # keeps the records read before an error
        except csv.Error as exc:
            error = str(exc)
        spans: tuple[Sequence[int], Sequence[int]] | None = None  # first and last lines
        used = n  # lines parsed, the rest being a record still open
        open_at = size  # where that record starts
        slow = True
        if error is None and reader.line_num == len(rows):
            spans = (range(n), range(n))
            slow = False
        elif error is None or (error == _END_OF_DATA and not final):
            if error is not None:
                # The records read take a line each, and one more per newline in their cells.
                used = len(rows) + "".join(chain.from_iterable(rows)).count("\n")
            if used - len(rows) < MAX_RECORD_LINES and n - used < MAX_RECORD_LINES:
                open_at = _line_start(batch, n - used)
                # No record read can be beyond the bounds, and the open one may end within them.
                slow = open_at > self._max_bytes or (
                    used < n and not self._may_grow(n - used, size - open_at)
                )
        if slow:
            # Errors, unterminated records, or the bounds to apply: record by record.
            rows, starts, ends, used, open_at = self._records(lines, batch, final)
            spans = (starts, ends)
        if used < n:
            self._open_lines = n - used
            self._open_bytes = size - open_at
            size = open_at
            del lines[used:]
        del buf[:size]
        base = self._line + 1
        self._line += used
        return self._output(lines, rows, spans, base, not slow, bad_lines, "\x00" in text)

    def _records(
        self, lines: list[str], batch: bytes, final: bool
    ) -> tuple[list[Cells], list[int], list[int], int, int]:
        """Read the lines record by record: each one's cells (or why it is rejected), first and
        last line; then how many lines (and bytes) precede a record still open at their end
        (all of them if none is, or if `final`).

        A record is rejected as unterminated, at its first line, when it does not end within
        the bounds, or within the lines when `final`; the line after its first is read next.
        That line is most likely inside the same quoted field: the csv module's state at the
        end of a line inside a record is always "in a quoted field", so a record open at the end
        of its first line is open wherever the one rejected was (a "run" of lines), and the
        next records only need their first line read to be settled, until the run's end.
        """
        max_bytes = self._max_bytes
        may_grow = self._may_grow
        n = len(lines)
        with_newlines = [line + "\n" for line in lines]
        offsets = [0, *accumulate(len(line) + 1 for line in batch.split(b"\n"))]
        if not batch.endswith(b"\n"):
            offsets[-1] -= 1  # the file's last line, without a newline
            if n:
                with_newlines[-1] = lines[-1]

        def fits(first: int, last: int) -> bool:
            """Whether a record on lines first..last is within the bounds."""
            return last == first or (
                last - first < MAX_RECORD_LINES and offsets[last + 1] - offsets[first] <= max_bytes
            )

        rows: list[Cells] = []
        starts: list[int] = []
        ends: list[int] = []
        run_end = -1  # the last line of the run (see above), if i is in one
        run_stop = -1  # the line after it, on which the record ended (or failed); -1: none
        i = 0
        while i < n:
            if i <= run_end:
                alone = _first_line(with_newlines[i], self._dialect)
                if alone is not None:
                    rows.append(alone)
                    starts.append(i)
                    ends.append(i)
                    i += 1
                    continue
                # In the run: the record is open at least to its end.
                if run_stop < 0 and not final and may_grow(n - i, offsets[n] - offsets[i]):
                    return rows, starts, ends, i, offsets[i]
                if run_stop < 0 or not fits(i, run_stop):
                    rows.append(UNTERMINATED)
                    starts.append(i)
                    ends.append(i)
                    i += 1
                    continue
                # It ends within the bounds: read it for real.
            run_end = run_stop = -1
            reader = csv.reader(islice(with_newlines, i, None), self._dialect)
            before = i - 1  # the line before the record being read
            while i < n:
                cells: Cells
                try:
                    cells = next(reader)
                except csv.Error as exc:
                    last = before + reader.line_num
                    if str(exc) == _END_OF_DATA:  # open to the end of the lines
                        if not final and may_grow(n - i, offsets[n] - offsets[i]):
                            return rows, starts, ends, i, offsets[i]
                        rows.append(UNTERMINATED)
                        starts.append(i)
                        ends.append(i)
                        run_end = last
                        i += 1
                        break
                    cells = f"malformed CSV: {exc}"
                    # A quoted field over several lines that outgrows the csv module's limit
                    # (128 Ki characters, less than ours) was most likely left open by mistake:
                    # it is given up on like a record that outgrows the bounds.
                    overgrown = str(exc).startswith(_FIELD_LIMIT)
                else:
                    last = before + reader.line_num
                    overgrown = False
                if last != i and (overgrown or not fits(i, last)):
                    rows.append(UNTERMINATED)
                    starts.append(i)
                    ends.append(i)
                    run_end, run_stop = last - 1, last
                    i += 1
                    break
                rows.append(cells)
                starts.append(i)
                ends.append(last)
                i = last + 1
        return rows, starts, ends, n, offsets[n]

    def _output(
        self,
        lines: list[str],
        rows: list[Cells],
        spans: tuple[Sequence[int], Sequence[int]] | None,
        base: int,
        clean: bool,
        bad_lines: set[int],
        nul: bool,
    ) -> Output:
        """The records and rejected rows for `rows`, whose first and last lines are `spans`
        (found from the rows if None: `clean` rows, those of a batch without errors)."""
        # Rows that are rejected whatever the csv module made of them.
        problems: dict[int, str] = {}
        if bad_lines or nul:
            starts, ends = spans = spans or _spans(rows)
            for i, (first, last) in enumerate(zip(starts, ends, strict=True)):
                span = range(first, last + 1)
                if bad_lines and any(n in bad_lines for n in span):
                    problems[i] = "invalid UTF-8"
                elif nul and any("\x00" in lines[n] for n in span):
                    problems[i] = "NUL character"
        first = 0 if self.columns is not None else self._read_header(rows, problems)
        width = len(self.columns or [])
        if self._ragged is not Ragged.reject:
            # Where each row is in the file, before padding puts nulls among its cells.
            spans = spans or _spans(rows)
            for i in range(first, len(rows)):
                rows[i] = self._fitted(rows[i], width)
        if self._declared:
            problems.update(self._misfits(rows, first, width, problems))
        rejected: list[Rejected] = []

        def rejecting(i: int, reason: str) -> None:
            nonlocal spans
            starts, ends = spans = spans or _spans(rows)
            raw = "\n".join(lines[starts[i] : ends[i] + 1])
            rejected.append(reject(base + starts[i], reason, raw))

        if clean and not problems:
            # The usual batch: one comprehension, a third faster than the loop below.
            good = rows[first:] if first else rows
            out = self._make(good) if self._fits(len(good)) else self._keep(good)
            if len(out) < len(good):  # blank lines or rows of the wrong width (or waiting)
                for i in range(first, len(rows)):
                    if rows[i] and len(rows[i]) != width:
                        rejecting(i, f"expected {width} fields, got {len(rows[i])}")
            return out, rejected
        good = []
        for i in range(first, len(rows)):
            row = rows[i]
            if isinstance(row, list) and len(row) == width and i not in problems:
                good.append(row)
            elif row:  # an empty row is a blank line
                if i in problems:
                    rejecting(i, problems[i])
                elif isinstance(row, str):
                    rejecting(i, row)
                else:
                    rejecting(i, f"expected {width} fields, got {len(row)}")
        return (self._make(good) if self._fits(len(good)) else self._keep(good)), rejected

    def _misfits(
        self, rows: list[Cells], first: int, width: int, problems: dict[int, str]
    ) -> dict[int, str]:
        """The rows from `first` on (of the header's width, not already rejected) with a value
        that does not fit its column's declared type, each with why."""
        if self._inference is None:
            return {}
        at = [
            i
            for i in range(first, len(rows))
            if isinstance(rows[i], list) and len(rows[i]) == width and i not in problems
        ]
        columns = self.columns or []
        reasons = {}
        for k, (column, value) in self._inference.misfits([rows[i] for i in at]).items():
            kind = self._declared[columns[column]]
            reasons[at[k]] = f"column {columns[column]!r}: {value!r} is not {_a(kind)}"
        return reasons

    def _fitted(self, row: Cells, width: int) -> Cells:
        """`row` padded with nulls to `width` (and, to truncate, cut to it): see Ragged. A blank
        line stays blank, and a row the csv module could not read stays its reason."""
        if not isinstance(row, list) or not row or len(row) == width:
            return row
        if len(row) < width:
            return row + [None] * (width - len(row))  # type: ignore[list-item]
        return row[:width] if self._ragged is Ragged.truncate else row

    def _make(self, rows: list[Cells]) -> list[str]:
        """The records of `rows` (those of the header's width: the others are rejected), null
        tokens as nulls; the columns' types narrowed by their values."""
        columns = self.columns or []
        width = len(columns)
        good = [row for row in rows if len(row) == width]
        if good and self._inference is not None:
            self._inference.observe(good)
        dumps = orjson.dumps
        nulls = self._nulls
        clean = nulls.isdisjoint
        return [
            dumps(
                dict(zip(columns, row if clean(row) else _nulled(row, nulls), strict=True))
            ).decode()
            for row in good
        ]

    @property
    def types(self) -> list[str] | None:
        """The columns' types as inferred from the values read so far (see uploads/types)."""
        return None if self._inference is None else self._inference.types()

    def _fits(self, rows: int) -> bool:
        """Whether this many rows can be made into records now: none wait before them, and the
        least their records can take fits in the room left (which they then take)."""
        if self.pending:
            return False
        if self._room is None:
            return True
        least = rows * self._floor
        if least > self._room:
            return False
        self._room -= least
        return True

    def _keep(self, rows: list[Cells]) -> list[str]:
        """Keep `rows` (checked, their rejects out) until there is room for their records."""
        if self._ready_at:
            del self._ready[: self._ready_at]
            self._ready_at = 0
        if self._ready:
            self._ready += rows
        else:
            self._ready = rows
        return []

    def _take(self) -> list[str]:
        """The records of the rows waiting, as many as fit in the room left (at least one)."""
        ready, at = self._ready, self._ready_at
        if at == len(ready):
            return []
        end = len(ready) if self._room is None else at + max(1, self._room // self._floor)
        if end < len(ready):
            self._ready_at = end
        else:
            self._ready, self._ready_at = [], 0
        return self._make(ready[at:end])

    def _read_header(self, rows: list[Cells], problems: dict[int, str]) -> int:
        """Take the first non-blank row as the header; returns the index of the row after it."""
        for i, row in enumerate(rows):
            if i in problems or isinstance(row, str):
                reason = problems.get(i) or row
                raise InvalidContent(f"the CSV header cannot be read: {reason}")
            if row:
                if len(row) > self._max_columns:
                    raise TooManyColumns(f"the CSV header has {len(row)} columns")
                if self._header:
                    self.columns = unique_names(row)
                else:
                    self.columns = [f"column_{n}" for n in range(1, len(row) + 1)]
                self._floor = len(orjson.dumps(dict.fromkeys(self.columns, "")).decode())
                if missing := [name for name in self._declared if name not in self.columns]:
                    raise InvalidContent(
                        f"the schema names columns the file does not have: {missing}"
                    )
                index = {name: i for i, name in enumerate(self.columns)}
                self._inference = Inference(
                    len(self.columns),
                    self._nulls,
                    {index[name]: kind for name, kind in self._declared.items()},
                )
                return i + 1 if self._header else i
        return len(rows)


def _line_start(batch: bytes, lines: int) -> int:
    """Where the last `lines` lines of `batch` (which ends with a newline) start."""
    pos = len(batch)
    for _ in range(lines):
        pos = batch.rfind(b"\n", 0, pos - 1) + 1
    return pos


def _spans(rows: list[Cells]) -> tuple[list[int], list[int]]:
    """The first and last line of each record read in one go (all cells, no errors): a line
    each, and one more per newline in its cells."""
    starts: list[int] = []
    ends: list[int] = []
    line = 0
    for row in rows:
        starts.append(line)
        line += "".join(row).count("\n")
        ends.append(line)
        line += 1
    return starts, ends


def _nulled(row: Cells, nulls: frozenset[str]) -> list[str | None]:
    """`row` with its null tokens as None."""
    return [None if cell in nulls else cell for cell in row]


def _dialect(delimiter: str, quotechar: str) -> type[csv.Dialect]:
    """The csv module's dialect for these options: strict, so that it reports a quoted field
    still open where its input ends."""
    attributes = {**reader_options(delimiter), "quotechar": quotechar, "strict": True}
    return type("UploadDialect", (csv.excel,), attributes)


def _first_line(line: str, dialect: type[csv.Dialect]) -> Cells | None:
    """What the csv module makes of a record starting on `line`: its cells, or why it is
    rejected, if it ends there; None if the record goes on to the next line."""
    try:
        return next(csv.reader((line,), dialect))
    except csv.Error as exc:
        if str(exc) == _END_OF_DATA:
            return None
        return f"malformed CSV: {exc}"


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


def _a(kind: str) -> str:
    """`kind` with its article: an integer, a date."""
    return ("an " if kind[0] in "aeiou" else "a ") + kind.replace("_", " ")
