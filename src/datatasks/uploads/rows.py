"""What parsing an upload yields, shared by the format readers: records are JSON object text,
rejected rows a `Rejected` each."""

from __future__ import annotations

from dataclasses import dataclass

RAW_CHARS = 200
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


Output = tuple[list[str], list[Rejected]]


def reject(line: int, reason: str, raw: bytes | str) -> Rejected:
    """A Rejected row; `raw` is decoded leniently and cut to RAW_CHARS characters."""
    if isinstance(raw, bytes):
        # 200 characters never take more than 800 bytes of UTF-8.
        raw = raw[: RAW_CHARS * 4].decode("utf-8", "replace")
    # The sample is stored in jsonb too, which cannot hold a NUL.
    return Rejected(line, reason, raw.rstrip("\r\n")[:RAW_CHARS].replace("\x00", "\ufffd"))


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
