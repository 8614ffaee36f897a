"""Download links for stored files: HMAC-signed API URLs for local storage, presigned URLs for
S3, and the response that serves a file through such a link."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi.responses import FileResponse, RedirectResponse
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
    if not file.is_file():
        raise NotFound("the file is gone")
    # FileResponse streams from disk and answers Range requests (206) itself.
    return _Download(
        file, media_type=content_type, filename=filename, content_disposition_type="attachment"
    )


_RANGE = re.compile(rb"^\s*(\d*)-(\d*)\s*$")


def _valid_range(value: bytes) -> bool:
    """Well-formed byte ranges. RFC 9110 says to ignore a Range header one cannot use and
    serve the whole file, rather than fail (Starlette answers a bare 400)."""
    unit, _, ranges = value.partition(b"=")
    if unit.strip() != b"bytes" or not ranges:
        return False
    for spec in ranges.split(b","):
        match = _RANGE.match(spec)
        if match is None:
            return False
        start, end = match.groups()
        if (not start and not end) or (start and end and int(start) > int(end)):
            return False
    return True


class _Download(FileResponse):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [
            (name, value)
            for name, value in scope["headers"]
            if name != b"range" or _valid_range(value)
        ]
        await super().__call__({**scope, "headers": headers}, receive, send)
