"""Download links for stored files: a backend's presigned URL where it has them (S3), else an
HMAC-signed URL of the API route that serves the file, and that route's answer."""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime
from urllib.parse import urlencode

from starlette.responses import Response

from datatasks.core.config import Settings
from datatasks.core.errors import DataTasksError
from datatasks.storage.base import Storage


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
    """The stored file as an attachment (never inline), as its backend serves it (see
    Storage.download), for no longer than the link that asked for it."""
    return await storage.download(
        key,
        filename=filename,
        content_type=content_type,
        expires_s=max(60, expires - int(time.time())),
    )
