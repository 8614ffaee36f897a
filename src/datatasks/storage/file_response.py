"""A stored file as an HTTP attachment, with RFC 9110 Range handling in front of Starlette's:
what the local backend answers a download with."""

from __future__ import annotations

import re

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.types import Receive, Scope, Send

_RANGE = re.compile(rb"^\s*(\d*)-(\d*)\s*$")
# A byte position (RFC 9110 14.1.2: 1*DIGIT, any number of digits) of more digits than this is
# past the end of any file; kept as a string until then, since Python's int() refuses numbers
# of over 4,300 digits.
_LONGEST = 18


def _position(digits: bytes) -> int:
    digits = digits.lstrip(b"0") or b"0"
    return int(digits) if len(digits) <= _LONGEST else 10**_LONGEST


def _less(a: bytes, b: bytes) -> bool:
    """Whether the decimal number `a` is less than `b`, whatever their lengths."""
    a, b = a.lstrip(b"0"), b.lstrip(b"0")
    return (len(a), a) < (len(b), b)


def _ranges(value: bytes, size: int) -> list[tuple[int, int]] | None:
    """What to serve for a Range header, per RFC 9110 (14.1, 14.2), from a file of `size`
    bytes: the satisfiable ranges, first and last byte; [] if none is (416); None to ignore the
    header and send the whole file (200), as for a unit other than bytes or a range-set the RFC
    calls invalid (bad syntax, or a last-pos less than its first-pos) - which it lets a server
    ignore, rather than fail as Starlette would (a bare 400)."""
    unit, _, specs = value.partition(b"=")
    if unit.strip().lower() != b"bytes" or not specs:
        return None
    ranges: list[tuple[int, int]] = []
    for spec in specs.split(b","):
        match = _RANGE.match(spec)
        if match is None:
            return None
        first, last = match.groups()
        if not first and not last:
            return None
        if first and last and _less(last, first):
            return None
        if not first:  # a suffix: the last N bytes
            length = _position(last)
            if length and size:
                ranges.append((max(0, size - length), size - 1))
            elif length:
                return None  # satisfiable, but by no byte at all: the (empty) whole file
        elif (start := _position(first)) < size:
            ranges.append((start, min(_position(last), size - 1) if last else size - 1))
    return ranges


class Download(FileResponse):
    """A file with RFC 9110 range handling in front of Starlette's: ranges that cannot be
    served are dropped, numbers of any length understood, and a Range with nothing to serve
    answered 416 as problem+json."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        size = self.stat_result.st_size if self.stat_result is not None else 0
        headers = []
        for name, value in scope["headers"]:
            if name == b"range":
                ranges = _ranges(value, size)
                if ranges is None:
                    continue  # ignored: the whole file
                if not ranges and self._range_applies(scope):
                    await self._unsatisfiable(scope, receive, send, size)
                    return
                value = b"bytes=" + b",".join(b"%d-%d" % r for r in ranges)
            headers.append((name, value))
        await super().__call__({**scope, "headers": headers}, receive, send)

    def _range_applies(self, scope: Scope) -> bool:
        """RFC 9110 13.1.5: a Range sent with an If-Range that does not match the file (by a
        strong validator) is ignored. The same test as Starlette's."""
        if_range = Headers(scope=scope).get("if-range")
        return if_range is None or (
            not if_range.startswith("W/")
            and if_range in (self.headers.get("last-modified"), self.headers.get("etag"))
        )

    @staticmethod
    async def _unsatisfiable(scope: Scope, receive: Receive, send: Send, size: int) -> None:
        from datatasks.core.problems import problem_response

        response = problem_response(
            Request(scope),
            status=416,
            title="Range Not Satisfiable",
            detail=f"no requested range starts within the file's {size} bytes",
            slug="range-not-satisfiable",
            headers={"Content-Range": f"bytes */{size}"},
        )
        await response(scope, receive, send)
