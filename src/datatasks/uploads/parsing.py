"""What parsing an upload yields, shared by the format readers: records are JSON object text,
rejected rows a `Rejected` each."""

from __future__ import annotations

from dataclasses import dataclass

RAW_CHARS = 200
# The defaults of INGEST_MAX_RECORD_BYTES, the longest line (or JSON array element) kept, and
# of INGEST_MAX_COLUMNS.
MAX_RECORD_BYTES = 4 * 1024 * 1024
MAX_COLUMNS = 1_600
NUL_ESCAPE = b"\\u0000"  # how a NUL can appear in JSON text (a raw NUL is invalid JSON)
JSON_WHITESPACE = b" \t\r\n"


@dataclass(frozen=True)
class Rejected:
    """A row skipped during parsing: the line it starts on (1-based), why, and its text."""

    line: int
    reason: str
    raw: str


class InvalidContent(Exception):
    """The file cannot be parsed any further (the ingest job fails)."""


class TooManyColumns(Exception):
    """The file has more columns (CSV) or distinct keys (JSON) than allowed: an export could
    not select them all (the ingest job fails)."""


Output = tuple[list[str], list[Rejected]]


def reject(line: int, reason: str, raw: bytes | str) -> Rejected:
    """A Rejected row; `raw` is decoded leniently and cut to RAW_CHARS characters."""
    if isinstance(raw, bytes):
        # 200 characters never take more than 800 bytes of UTF-8.
        raw = raw[: RAW_CHARS * 4].decode("utf-8", "replace")
    # The sample is stored in jsonb too, which cannot hold a NUL.
    return Rejected(line, reason, raw.rstrip("\r\n")[:RAW_CHARS].replace("\x00", "\ufffd"))


def raw_bytes(limit: int) -> int:
    """How many bytes of a line or element too large for `limit` go in its rejected row's raw
    text: no more than are sure to have come when it is found too large, so that the row does
    not depend on how the file was cut into chunks."""
    return min(limit + 1, RAW_CHARS * 4)


def has_nul(value: object) -> bool:
    """Whether a parsed JSON value holds a NUL in any key or string (iterative: deep nesting)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            if any("\x00" in key for key in item):
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class LongLines:
    """Lines longer than `limit` bytes (their newline aside), for the line-based formats: found
    in what is buffered, rejected, and their bytes dropped as they come, never kept."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.reason = f"line longer than {limit} bytes"
        self.dropping = False  # inside such a line, whose end has not come yet

    def find(self, buf: bytes | bytearray, start: int) -> int:
        """Where the first line of buf[start:] (`start` being where a line starts, the last one
        possibly unfinished) longer than the limit starts, or -1. Looks at one window of
        `limit` + 1 bytes after another: a line shorter than that has its newline in it."""
        limit = self.limit
        pos = start
        while len(buf) - pos > limit:
            newline = buf.rfind(b"\n", pos, pos + limit + 1)
            if newline < 0:
                return pos
            pos = newline + 1
        return -1

    def cut(self, buf: bytearray, line: int) -> Rejected:
        """Reject the long line at the start of `buf`, number `line`, and remove it: up to its
        newline, or all of `buf` if that has not come (then `dropping` until it does)."""
        newline = buf.find(b"\n")
        end = len(buf) if newline < 0 else newline
        rejected = reject(line, self.reason, bytes(buf[: min(end, raw_bytes(self.limit))]))
        if newline < 0:
            buf.clear()
            self.dropping = True
        else:
            del buf[: newline + 1]
        return rejected

    def skip(self, data: bytes) -> bytes | None:
        """What follows the line being dropped in `data`, or None if `data` is all inside it."""
        if not self.dropping:
            return data
        newline = data.find(b"\n")
        if newline < 0:
            return None
        self.dropping = False
        return data[newline + 1 :]
