"""Download links for stored files: HMAC-signed API URLs for local storage, presigned URLs for
S3, and the response that serves a file through such a link."""

from __future__ import annotations

import hashlib
import hmac
import re
import stat
import time
from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi.responses import FileResponse, RedirectResponse
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from datatasks.core.config import Settings
from datatasks.core.errors import DataTasksError, NotFound
from datatasks.storage.base import Storage
from datatasks.storage.local import LocalStorage


class Forbidden(DataTasksError):
    status = 403
    title = "Forbidden"
    type_slug = "forbidden"


def _signature(secret: str, path: str, expires: int) -> str:
    message = f"{path}\n{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(secret: str, path: str, expires: int, signature: str) -> None:
    """Raise Forbidden unless `signature` was made by us for `path` and has not expired."""
    expected = _signature(secret, path, expires)
    if not hmac.compare_digest(expected, signature) or expires <= time.time():
        raise Forbidden("this download link is invalid or has expired; ask for a new one")


async def issue_link(
    settings: Settings,
    storage: Storage,
    *,
    path: str,
    key: str,
    filename: str,
    content_type: str,
) -> tuple[str, datetime]:
    """A URL for the stored `key`, valid for DOWNLOAD_LINK_TTL_S, and its expiry: presigned
    by the storage if it can, else `path` (the API route that serves it) signed by us."""
    ttl = settings.download_link_ttl_s
    expires = int(time.time()) + ttl
    url = await storage.presigned_url(
        key, expires_s=ttl, filename=filename, content_type=content_type
    )
    if url is None:
        signature = _signature(settings.secret_key.get_secret_value(), path, expires)
        url = f"{path}?{urlencode({'expires': expires, 'signature': signature})}"
    return url, datetime.fromtimestamp(expires, UTC)


async def serve(
    storage: Storage, key: str, *, filename: str, content_type: str, expires: int
) -> Response:
    """The stored file as an attachment (never inline), with Range support; from S3, a
    redirect to a presigned URL that expires with the link."""
    if not isinstance(storage, LocalStorage):
        url = await storage.presigned_url(
            key,
            expires_s=max(60, expires - int(time.time())),
            filename=filename,
            content_type=content_type,
        )
        if url is None:
            raise NotFound("this storage cannot serve the file")
        return RedirectResponse(url, status_code=307)
    file = storage.path(key)
    try:
        info = file.stat()
    except (FileNotFoundError, NotADirectoryError):
        info = None
    if info is None or not stat.S_ISREG(info.st_mode):
        raise NotFound("the file is gone")
    # FileResponse streams from disk and answers Range requests (206) itself; _Download
    # decides first which ranges it gets.
    return _Download(
        file,
        stat_result=info,
        media_type=content_type,
        filename=filename,
        content_disposition_type="attachment",
    )


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


class _Download(FileResponse):
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
