"""NDJSON and JSON array upload readers."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from typing import Any

import orjson

from datatasks.uploads.parsing import (
    JSON_WHITESPACE,
    MAX_COLUMNS,
    MAX_RECORD_BYTES,
    NUL_ESCAPE,
    InvalidContent,
    LongLines,
    Output,
    Rejected,
    TooManyColumns,
    has_nul,
    raw_bytes,
    reject,
)

# The states of a JSON array's reader: before the `[`, after it, after a `,`, after an element,
# after the `]`.
_START, _FIRST, _NEXT, _AFTER, _END = range(5)
_OPEN, _CLOSE, _OPEN_OBJECT, _CLOSE_OBJECT, _COMMA, _QUOTE = b'[]{},"'
_WHITESPACE = re.compile(rb"[ \t\r\n]*")
# A string (an escape is a backslash and any byte: whether it is valid is orjson's business).
# Possessive quantifiers (*+, ++) throughout: nothing here ever needs to backtrack, and without
# them the regex engine keeps state for each repetition - some 60 bytes per escape or string,
# 60 MB for a megabyte of escapes.
_STRING_BODY_TEXT = rb'[^"\\]*+(?:\\.[^"\\]*+)*+'
_STRING = re.compile(rb'"' + _STRING_BODY_TEXT + rb'"', re.DOTALL)
# Anything up to the next bracket (or unfinished string), strings included.
_STRETCH = re.compile(rb'(?:[^"\[\]{}]++|"' + _STRING_BODY_TEXT + rb'")*+', re.DOTALL)
# For an element being dropped, whose strings may be cut anywhere: up to the next bracket or
# quote, and a string's contents up to its closing quote (or a backslash ending the bytes).
_OUTSIDE = re.compile(rb'[^"\[\]{}]*+')
_STRING_BODY = re.compile(_STRING_BODY_TEXT, re.DOTALL)
# A number, true, false or null (or something else, for orjson to refuse).
_ATOM = re.compile(rb'[^ \t\r\n,\[\]{}"]*')
# Digits enough for an integer beyond 64 bits, which orjson reads as a float (found in a copy of
# the text where digits are 0 and the rest spaces: much faster than a regular expression).
_DIGITS = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_NUMBER = b"0" * 19


# A column's type from the Python types of its values (a JSON value's type, once read).
_SCALARS = {int: "integer", float: "float", bool: "boolean", str: "string"}


class Keys:
    """The distinct keys of the objects read so far (at most `limit`), in the order they first
    appear, and the types of their values. Readers test `seen.issuperset(value)` inline (most
    objects have no new key) and `add` the others, and `observe` every object."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.seen: set[str] = set()
        self._order: list[str] = []
        # (key, Python type of a value): a few per key, whatever the number of objects.
        self._kinds: set[tuple[str, type]] = set()
        self.observe = self._kinds.update  # given zip(value, map(type, value.values()))

    def add(self, value: dict[str, Any]) -> None:
        self._order.extend(key for key in value if key not in self.seen)
        self.seen.update(value)
        if len(self.seen) > self.limit:
            raise TooManyColumns(f"the records have more than {self.limit} distinct keys")

    def schema(self) -> list[dict[str, str]]:
        """The keys in first-seen order with their types: integer, float (with or without
        integers), boolean, string, `null` when only nulls, and `json` for objects, arrays or
        a mix of types."""
        kinds: dict[str, set[type]] = {}
        for key, kind in self._kinds:
            kinds.setdefault(key, set()).add(kind)
        return [{"name": key, "type": _json_type(kinds[key])} for key in self._order]


class _BigInteger:
    """The type of an integer beyond 64 bits: a number no Parquet integer column holds."""


def _kind(value: object) -> type:
    """The type of a JSON value, as Keys.schema tells them apart."""
    if type(value) is int and not -(2**63) <= value < 2**63:
        return _BigInteger
    return type(value)


def _json_type(kinds: set[type]) -> str:
    kinds = kinds - {type(None)}
    if not kinds:
        return "null"
    if kinds == {int, float}:
        return "float"
    if len(kinds) == 1 and (kind := next(iter(kinds))) in _SCALARS:
        return _SCALARS[kind]
    return "json"


class NdjsonFormat:
    """NDJSON: one JSON value per line, parsed by orjson. A line longer than
    `max_record_bytes` is rejected, its bytes dropped as they come."""

    @property
    def schema(self) -> list[dict[str, str]]:
        """The records' keys in first-seen order, with their values' types (see Keys)."""
        return self._keys.schema()

    def __init__(
        self, max_record_bytes: int = MAX_RECORD_BYTES, max_columns: int = MAX_COLUMNS
    ) -> None:
        self._buf = bytearray()  # the start of a line, not yet ended
        self._line = 0  # lines before _buf
        self._long = LongLines(max_record_bytes)
        self._keys = Keys(max_columns)

    def feed(self, data: bytes) -> Output:
        """Parse the lines completed by `data`."""
        rest = self._long.skip(data)
        if rest is None:
            return [], []
        buf = self._buf
        new = len(buf)
        buf += rest
        records: list[str] = []
        rejected: list[Rejected] = []
        while (at := self._long.find(buf, 0)) >= 0:
            more, bad = self._parse(bytes(memoryview(buf)[:at]))
            del buf[:at]
            records += more
            rejected += bad
            self._line += 1
            rejected.append(self._long.cut(buf, self._line))
            if self._long.dropping:
                return records, rejected
            new = 0
        # Only the new bytes can hold a newline: a long line fed in pieces is not rescanned.
        end = buf.rfind(b"\n", new)
        if end < 0:
            return records, rejected
        batch = bytes(memoryview(buf)[: end + 1])
        del buf[: end + 1]
        more, bad = self._parse(batch)
        return records + more, rejected + bad

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
        known = self._keys.seen.issuperset
        observe = self._keys.observe
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
                if not known(value):
                    self._keys.add(value)
                observe(zip(value, map(type, value.values()), strict=True))
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
    """A JSON array: each element is found in the bytes (strings skipped, brackets counted) and
    parsed by orjson on its own; each is one row.

    Only complete elements are parsed, and errors are raised where the bytes are first seen to
    be wrong, so the output does not depend on the caller's chunks. Knowing where each element
    starts gives its line number, and its text: an element with an integer beyond 64 bits (which
    orjson would read as a float) is read again by the json module, which keeps every digit.

    An element larger than `max_record_bytes` is rejected unread, once that many of its bytes
    have come (or when it is complete, if it comes whole); the rest of it is only scanned for
    its end, its bytes dropped as they come.
    """

    @property
    def schema(self) -> list[dict[str, str]]:
        """The elements' keys in first-seen order, with their values' types (see Keys)."""
        return self._keys.schema()

    def __init__(
        self, max_record_bytes: int = MAX_RECORD_BYTES, max_columns: int = MAX_COLUMNS
    ) -> None:
        self.offset = 0  # bytes before what we are fed (a BOM), for error positions
        self._max_bytes = max_record_bytes
        self._too_large = f"element larger than {max_record_bytes} bytes"
        self._keys = Keys(max_columns)
        self._dropping: _Dropping | None = None  # an element too large, not ended yet
        self._buf = bytearray()
        self._at = 0  # bytes fed before _buf
        self._line = 1  # the line _buf starts on
        self._state = _START
        self._scanned = 0  # how far an unfinished element has been scanned (0: not yet)
        self._depth = 0  # and how many brackets are open at that point

    def feed(self, data: bytes) -> Output:
        """Parse the elements completed by `data`."""
        self._buf += data
        return self._parse(final=False)

    def finish(self) -> Output:
        """Parse the last elements and check that the array ended, with nothing after it."""
        output = self._parse(final=True)
        if self._state == _START:
            raise InvalidContent(f"invalid JSON array: no content near byte {self.offset}")
        if self._state != _END:
            raise self._invalid("the file ends inside the array", len(self._buf) - 1)
        return output

    def _parse(self, final: bool) -> Output:
        buf = self._buf
        size = len(buf)
        out: list[str] = []
        rejected: list[Rejected] = []
        state = self._state
        line = self._line  # the line of the byte at `counted`
        counted = pos = 0
        if self._dropping is not None:
            end = self._dropping.end(buf, 0, final)
            if end < 0:
                pos = size
            else:
                self._dropping = None
                state = _AFTER
                pos = end
        skip = _WHITESPACE.match
        while self._dropping is None:
            pos = skip(buf, pos).end()  # type: ignore[union-attr]
            if pos == size:
                break
            if state == _AFTER:
                if buf[pos] == _COMMA:
                    state = _NEXT
                elif buf[pos] == _CLOSE:
                    state = _END
                else:
                    raise self._invalid("expected ',' or ']' after an element", pos)
                pos += 1
            elif state in (_NEXT, _FIRST):
                if state == _FIRST and buf[pos] == _CLOSE:
                    state = _END
                    pos += 1
                    continue
                end, value, element = self._element(pos, final)
                if end < 0 and size - pos <= self._max_bytes:
                    break  # not complete yet
                line += buf.count(b"\n", counted, pos)
                counted = pos
                if end >= 0 and value is not _TOO_LARGE:
                    self._add(value, element, line, out, rejected)
                else:
                    raw = bytes(buf[pos : pos + raw_bytes(self._max_bytes)])
                    rejected.append(reject(line, self._too_large, raw))
                    if end < 0:  # the rest of it is dropped as it comes
                        self._scanned = self._depth = 0
                        self._dropping = _Dropping(buf[pos])
                        # Read from its start (at most the limit and a chunk) for where the
                        # bytes so far leave it; it does not end in them (_element saw that).
                        self._dropping.end(buf, pos, final)
                        pos = size
                        break
                state = _AFTER
                pos = end
            elif state == _START:
                if buf[pos] != _OPEN:
                    raise self._invalid("expected '['", pos)
                state = _FIRST
                pos += 1
            else:
                raise self._invalid("unexpected content after the array", pos)
        self._state = state
        self._line = line + buf.count(b"\n", counted, pos)
        self._at += pos
        del buf[:pos]
        return out, rejected

    def _element(self, start: int, final: bool) -> tuple[int, Any, bytearray]:
        """Where the element starting at `start` ends, its value and its text; -1 if it is not
        complete (and the file goes on)."""
        buf = self._buf
        first = buf[start]
        if first in (_OPEN_OBJECT, _OPEN):
            if not self._scanned:
                # Most elements hold no bracket: try up to the first closing one, unless an
                # opening one comes first (and within the size allowed).
                close_byte = b"}" if first == _OPEN_OBJECT else b"]"
                close = buf.find(close_byte, start + 1, start + self._max_bytes)
                if (
                    close >= 0
                    and buf.find(b"{", start + 1, close) < 0
                    and buf.find(b"[", start + 1, close) < 0
                ):
                    element = buf[start : close + 1]
                    with contextlib.suppress(orjson.JSONDecodeError):
                        return close + 1, orjson.loads(element), element
            end = self._scan(start)
        elif first == _QUOTE:
            string = _STRING.match(buf, start)
            end = -1 if string is None else string.end()
        else:
            end = _ATOM.match(buf, start).end()  # type: ignore[union-attr]
            if end == start:
                raise self._invalid("expected a value", start)
            if end == len(buf) and not final:
                end = -1  # a number may go on
        if end < 0:
            if final:
                raise self._invalid("the file ends inside the array", len(buf) - 1)
            return -1, None, bytearray()
        if end - start > self._max_bytes:
            return end, _TOO_LARGE, bytearray()
        element = buf[start:end]
        try:
            return end, orjson.loads(element), element
        except orjson.JSONDecodeError as exc:
            if not _is_json(element):
                raise self._invalid_element(exc, start, element) from None
            return end, _Unreadable(exc.msg), element

    def _scan(self, start: int) -> int:
        """Where the array or object starting at `start` ends (-1: beyond the bytes so far),
        counting brackets outside strings; resumes where the last call stopped."""
        buf = self._buf
        size = len(buf)
        pos = start + self._scanned
        depth = self._depth
        stretch = _STRETCH.match
        while True:
            pos = stretch(buf, pos).end()  # type: ignore[union-attr]
            if pos == size:
                break
            byte = buf[pos]
            if byte in (_OPEN_OBJECT, _OPEN):
                depth += 1
            elif byte in (_CLOSE_OBJECT, _CLOSE):
                depth -= 1
                if not depth:
                    self._scanned = self._depth = 0
                    return pos + 1
            else:
                break  # a string that does not end within the bytes so far
            pos += 1
        self._scanned = pos - start
        self._depth = depth
        return -1

    def _add(
        self, value: Any, element: bytearray, line: int, out: list[str], rejected: list[Rejected]
    ) -> None:
        """Add an element (its value and text) as a record, or reject it."""
        if type(value) is _Unreadable:
            rejected.append(reject(line, f"cannot be read: {value.reason}", bytes(element)))
            return
        if type(value) is not dict:
            rejected.append(reject(line, "not a JSON object", bytes(element)))
            return
        kind: Callable[[object], type] = type
        try:
            if element.translate(_DIGITS).find(_LONG_NUMBER) >= 0:
                # Maybe an integer beyond 64 bits, which orjson reads as a float: the json
                # module keeps all its digits.
                value = json.loads(element)
                text = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
                kind = _kind
            else:
                text = orjson.dumps(value)
        except (orjson.JSONEncodeError, RecursionError) as exc:  # e.g. nested very deep
            rejected.append(reject(line, f"cannot be stored: {exc}", bytes(element)))
            return
        if NUL_ESCAPE in text and has_nul(value):
            rejected.append(reject(line, "NUL character", text))
        else:
            if not self._keys.seen.issuperset(value):
                self._keys.add(value)
            self._keys.observe(zip(value, map(kind, value.values()), strict=True))
            out.append(text.decode())

    def _invalid(self, reason: str, index: int) -> InvalidContent:
        """The error for the byte at buf[index]."""
        where = self.offset + self._at + index + 1
        return InvalidContent(f"invalid JSON array: {reason} near byte {where}")

    def _invalid_element(
        self, exc: orjson.JSONDecodeError, start: int, element: bytearray
    ) -> InvalidContent:
        """The error for the element at `start`, which orjson could not read."""
        try:
            text = element.decode()
        except UnicodeDecodeError as bad:
            return self._invalid("invalid UTF-8", start + bad.start)
        # "Unexpected end of data" is the element's (`tru`, `1e`): not the file's.
        reason = "incomplete value" if exc.msg.startswith("unexpected end") else exc.msg
        # orjson counts characters; the position is in bytes.
        return self._invalid(reason, start + len(text[: exc.pos].encode()))


# The value of an element larger than allowed: it is rejected unread.
_TOO_LARGE = object()


class _Dropping:
    """An element too large to keep, read only for where it ends (brackets counted outside
    strings, as `_scan` does), across any number of chunks."""

    def __init__(self, first: int) -> None:
        self._atom = first not in (_OPEN_OBJECT, _OPEN, _QUOTE)
        self._depth = 0
        self._in_string = False
        self._escaped = False  # a backslash in a string ended the bytes so far

    def end(self, data: bytearray, pos: int, final: bool) -> int:
        """Where the element ends in data[pos:], or -1 if it goes on past it."""
        size = len(data)
        if self._atom:
            end: int = _ATOM.match(data, pos).end()  # type: ignore[union-attr]
            return -1 if end == size and not final else end
        while pos < size:
            if self._escaped:
                self._escaped = False
                pos += 1
            elif self._in_string:
                pos = _STRING_BODY.match(data, pos).end()  # type: ignore[union-attr]
                if pos == size:
                    break
                self._escaped = data[pos] != _QUOTE
                self._in_string = self._escaped
                pos += 1
                if not self._in_string and not self._depth:
                    return pos  # the element was a string
            else:
                pos = _OUTSIDE.match(data, pos).end()  # type: ignore[union-attr]
                if pos == size:
                    break
                byte = data[pos]
                pos += 1
                if byte == _QUOTE:
                    self._in_string = True
                elif byte in (_OPEN_OBJECT, _OPEN):
                    self._depth += 1
                else:
                    self._depth -= 1
                    if not self._depth:
                        return pos
        return -1


class _Unreadable:
    """An element that is valid JSON but that orjson cannot read (a lone surrogate in a string,
    a number too large for a float): it is rejected on its own."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _is_json(data: bytearray) -> bool:
    """Whether `data` is valid JSON for the json module, which reads some that orjson does not.
    Nested deeper than it can read, it is given the benefit of the doubt."""
    try:
        json.loads(data, parse_constant=_refuse)
    except RecursionError:
        return True
    except ValueError:  # JSONDecodeError, UnicodeDecodeError
        return False
    return True


def _refuse(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")
