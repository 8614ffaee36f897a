"""Download links: HMAC-signed API URLs for local storage, presigned URLs for S3."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import urlencode

from datatasks.core.config import Settings
from datatasks.storage import Storage


def download_path(job_id: uuid.UUID) -> str:
    return f"/exports/{job_id}/download"


def _signature(secret: str, path: str, expires: int) -> str:
    message = f"{path}\n{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(secret: str, path: str, expires: int, signature: str) -> bool:
    """True if `signature` was made by us for `path` and `expires` has not passed."""
    expected = _signature(secret, path, expires)
    return hmac.compare_digest(expected, signature) and expires > time.time()


async def issue_link(
    settings: Settings,
    storage: Storage,
    *,
    job_id: uuid.UUID,
    key: str,
    filename: str,
    content_type: str,
) -> tuple[str, datetime]:
    """A download URL for a finished export, valid for DOWNLOAD_LINK_TTL_S, and its expiry."""
    ttl = settings.download_link_ttl_s
    expires = int(time.time()) + ttl
    url = await storage.presigned_url(
        key, expires_s=ttl, filename=filename, content_type=content_type
    )
    if url is None:
        path = download_path(job_id)
        signature = _signature(settings.secret_key, path, expires)
        url = f"{path}?{urlencode({'expires': expires, 'signature': signature})}"
    return url, datetime.fromtimestamp(expires, UTC)
