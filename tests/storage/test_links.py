"""Serving a stored file through a signed link: Range requests as RFC 9110 has them, whatever
the numbers in them (through the API's rejects route, with local storage)."""

from __future__ import annotations

import uuid

import httpx
import pytest

from datatasks.core.config import Settings
from datatasks.storage.links import issue_link
from datatasks.storage.local import LocalStorage
from datatasks.uploads.locations import rejects_key, rejects_path

CONTENT = bytes(range(100))
HUGE = "9" * 4301  # past Python's int-string limit (4,300 digits)


async def stored_link(settings: Settings, content: bytes) -> str:
    storage = LocalStorage(settings.storage_dir)
    upload_id = uuid.uuid4()
    async with storage.create(rejects_key(upload_id), content_type="text/plain") as out:
        await out.write(content)
    url, _ = await issue_link(
        settings,
        storage,
        path=rejects_path(upload_id),
        key=rejects_key(upload_id),
        filename="f.bin",
        content_type="application/octet-stream",
    )
    return url


@pytest.fixture
async def link(settings: Settings) -> str:
    return await stored_link(settings, CONTENT)


@pytest.mark.parametrize(
    ("header", "status", "served"),
    [
        # Syntactically valid, satisfiable: the end or the suffix is past the file, so clamped.
        (f"bytes=0-{HUGE}", 206, slice(0, 100)),
        (f"bytes=-{HUGE}", 206, slice(0, 100)),
        (f"bytes=90-{HUGE}", 206, slice(90, 100)),
        ("bytes=10-19", 206, slice(10, 20)),
        ("Bytes=10-19", 206, slice(10, 20)),  # range units are case-insensitive
        # A range that cannot be served is dropped; the others are.
        (f"bytes=10-19, {HUGE}-", 206, slice(10, 20)),
        ("bytes=0-1, 200-300", 206, slice(0, 2)),
        # Invalid (last-pos less than first-pos, or bad syntax): ignored, the whole file.
        (f"bytes=1{HUGE}-{HUGE}", 200, slice(0, 100)),
        ("bytes=10-5", 200, slice(0, 100)),
        ("bytes=abc", 200, slice(0, 100)),
        ("lines=1-2", 200, slice(0, 100)),
    ],
)
async def test_ranges_of_any_length(
    client: httpx.AsyncClient, link: str, header: str, status: int, served: slice
) -> None:
    response = await client.get(link, headers={"Range": header})
    assert response.status_code == status, response.text
    assert response.content == CONTENT[served]
    if status == 206:
        last = served.stop - 1
        assert response.headers["content-range"] == f"bytes {served.start}-{last}/100"


@pytest.mark.parametrize(
    "header", [f"bytes={HUGE}-", "bytes=100-", f"bytes=100-{HUGE}", "bytes=-0"]
)
async def test_nothing_to_serve_is_416(client: httpx.AsyncClient, link: str, header: str) -> None:
    response = await client.get(link, headers={"Range": header})
    assert response.status_code == 416
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["content-range"] == "bytes */100"
    assert response.json()["status"] == 416


async def test_an_if_range_that_does_not_match_gets_the_whole_file(
    client: httpx.AsyncClient, link: str
) -> None:
    etag = (await client.get(link)).headers["etag"]
    for header in ("bytes=10-19", f"bytes={HUGE}-"):
        stale = await client.get(link, headers={"Range": header, "If-Range": '"stale"'})
        assert (stale.status_code, stale.content) == (200, CONTENT)
    fresh = await client.get(link, headers={"Range": f"bytes={HUGE}-", "If-Range": etag})
    assert fresh.status_code == 416


async def test_an_empty_file(settings: Settings, client: httpx.AsyncClient) -> None:
    url = await stored_link(settings, b"")
    whole = await client.get(url, headers={"Range": "bytes=-5"})
    assert (whole.status_code, whole.content) == (200, b"")
    assert (await client.get(url, headers={"Range": "bytes=0-"})).status_code == 416
