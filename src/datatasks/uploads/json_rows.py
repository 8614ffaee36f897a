"""NDJSON and JSON array upload readers."""

from __future__ import annotations

import ast
import contextlib
from typing import Any

import ijson
import orjson

from datatasks.uploads.rows import (
    JSON_WHITESPACE,
    NUL_ESCAPE,
    InvalidContent,
    Output,
    Rejected,
    has_nul,
    reject,
)

# The JSON array goes to ijson in blocks aligned to multiples of this, so that its error
# messages (and the byte offset we derive from them) do not depend on the caller's chunks.
BLOCK = 64 * 1024


class NdjsonFormat:
    """NDJSON: one JSON value per line, parsed by orjson."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._line = 0  # lines before _buf

    def feed(self, data: bytes) -> Output:
        """Parse the lines completed by `data`."""
        buf = self._buf
        buf += data
        # Only the new bytes can hold a newline: a long line fed in pieces is not rescanned.
        end = buf.rfind(b"\n", len(buf) - len(data))
        if end < 0:
            return [], []
        batch = bytes(memoryview(buf)[: end + 1])
        del buf[: end + 1]
        return self._parse(batch)

    def finish(self) -> Output:
        """Parse a last line without a newline."""
        batch = bytes(self._buf)
        self._buf.clear()
        return self._parse(batch)

    def _parse(self, batch: bytes) -> Output:
        lines = batch.split(b"\n")
        if not lines[-1]:
            lines.pop()
        base = self._line + 1
        self._line += len(lines)
        loads = orjson.loads
        out: list[str] = []
        rejected: list[Rejected] = []
        for i, line in enumerate(lines):
            try:
                value = loads(line)
            except orjson.JSONDecodeError as exc:
                if not line.strip():
                    continue  # blank line
                reason = "invalid UTF-8" if not _is_utf8(line) else f"invalid JSON: {exc}"
                rejected.append(reject(base + i, reason, line))
                continue
            if type(value) is not dict:
                rejected.append(reject(base + i, "not a JSON object", line))
            elif NUL_ESCAPE in line and has_nul(value):
                rejected.append(reject(base + i, "NUL character", line))
            else:
                # The line itself, not orjson.dumps(value): it is valid JSON (it just parsed),
                # it is faster, and integers beyond 64 bits keep their digits (orjson reads them
                # as floats). Only the whitespace around values is not compacted.
                out.append(line.strip(JSON_WHITESPACE).decode())
        return out, rejected


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


class ArrayFormat:
    """A JSON array, streamed through ijson's push API; each element is one row."""

    def __init__(self) -> None:
        self.offset = 0  # bytes before what we are fed (a BOM), for error positions
        self._items: list[Any] = ijson.sendable_list()
        self._coro = ijson.items_coro(self._items, "item", use_float=True)
        self._pending = bytearray()
        self._sent = 0  # bytes sent to ijson so far, always a multiple of BLOCK until finish
        self._index = 0  # elements seen
        self._started = False

    def feed(self, data: bytes) -> Output:
        """Parse the elements completed by the whole blocks that `data` completes."""
        self._pending += data
        if not self._started and not self._check_start():
            return [], []
        usable = len(self._pending) - len(self._pending) % BLOCK
        view = memoryview(self._pending)
        try:
            for start in range(0, usable, BLOCK):
                self._send(bytes(view[start : start + BLOCK]))
        finally:
            view.release()
        del self._pending[:usable]
        return self._collect()

    def finish(self) -> Output:
        """Parse the last block and check that the array ended, with nothing after it."""
        if not self._started and not self._check_start():
            raise InvalidContent(f"invalid JSON array: no content near byte {self.offset}")
        self._send(bytes(self._pending))
        self._pending.clear()
        try:
            self._coro.close()
        except ijson.JSONError as exc:
            raise self._invalid(exc, b"") from None
        return self._collect()

    def _check_start(self) -> bool:
        """Whether the array has begun; a file must start with `[` (after whitespace)."""
        stripped = self._pending.lstrip(JSON_WHITESPACE)
        if not stripped:
            return False
        if stripped[0] != ord("["):
            at = self.offset + len(self._pending) - len(stripped) + 1
            raise InvalidContent(f"invalid JSON array: expected '[' near byte {at}")
        self._started = True
        return True

    def _send(self, block: bytes) -> None:
        try:
            self._coro.send(block)
        except ijson.JSONError as exc:
            raise self._invalid(exc, block) from None
        self._sent += len(block)

    def _invalid(self, exc: Exception, block: bytes) -> InvalidContent:
        reason, at = _yajl_error(str(exc), block)
        where = self.offset + self._sent + at
        return InvalidContent(f"invalid JSON array: {reason} near byte {where}")

    def _collect(self) -> Output:
        out: list[str] = []
        rejected: list[Rejected] = []
        dumps = orjson.dumps
        for item in self._items:
            self._index += 1
            if type(item) is not dict:
                rejected.append(reject(self._index, "not a JSON object", _raw(item)))
                continue
            try:
                text = dumps(item)
            except orjson.JSONEncodeError as exc:  # e.g. nested deeper than orjson writes
                rejected.append(reject(self._index, f"cannot be stored: {exc}", _raw(item)))
                continue
            if NUL_ESCAPE in text and has_nul(item):
                rejected.append(reject(self._index, "NUL character", text))
            else:
                out.append(text.decode())
        del self._items[:]
        return out, rejected


def _raw(item: object) -> bytes | str:
    try:
        return orjson.dumps(item)
    except orjson.JSONEncodeError:
        return repr(item)


def _yajl_error(message: str, block: bytes) -> tuple[str, int]:
    """The reason from a yajl error message, and where in `block` it happened.

    yajl reports no offset, only up to 30 bytes either side of the error, padded so that the
    error sits at column 40: find which offset in the block renders the same. The first match
    wins (repetitive data may give several); with none, the end of the block.
    """
    raw = message.encode()
    if message[:2] in ("b'", 'b"'):
        # The C backend gives the message as a bytes repr when the excerpt is not UTF-8.
        with contextlib.suppress(ValueError, SyntaxError):
            raw = ast.literal_eval(message)
    parts = raw.split(b"\n")
    reason = parts[0].decode("utf-8", "replace").rstrip(".")
    if len(parts) < 3:
        return reason, len(block)
    excerpt = parts[1]
    shown = block.replace(b"\n", b" ").replace(b"\r", b" ")
    for at in range(min(30, len(block) + 1)):
        if excerpt == b" " * (40 - at) + shown[: at + 30]:
            return reason, at
    text = excerpt[10:]
    found = shown.find(text)
    while found >= 0:
        at = found + 30
        if excerpt == b" " * 10 + shown[at - 30 : at + 30]:
            return reason, at
        found = shown.find(text, found + 1)
    return reason, len(block)
