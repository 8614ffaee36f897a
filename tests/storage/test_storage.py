"""Both storage backends against the same contract: local disk, and S3 on the moto server."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from datatasks.core.config import Settings
from datatasks.storage import Storage, create_storage
from datatasks.storage.local import LocalStorage
from datatasks.storage.s3 import MIN_PART_SIZE, S3Storage, attachment_disposition

KEY = "exports/0190aaaa-bbbb/data.csv"
MiB = 1024 * 1024


class Boom(Exception):
    pass


async def put(storage: Storage, key: str, data: bytes, piece: int = 300 * 1024) -> None:
    # Uneven pieces, so buffering across part and chunk boundaries is exercised.
    async with storage.create(key, content_type="text/csv") as writer:
        for i in range(0, len(data), piece):
            await writer.write(data[i : i + piece])
    assert writer.bytes_written == len(data)


async def get(storage: Storage, key: str, start: int = 0, end: int | None = None) -> bytes:
    chunks = [chunk async for chunk in storage.read(key, start, end)]
    assert all(0 < len(chunk) <= MiB for chunk in chunks)
    return b"".join(chunks)


async def put_then_fail(storage: Storage, key: str, data: bytes) -> None:
    async with storage.create(key, content_type="text/csv") as writer:
        await writer.write(data)
        raise Boom


async def assert_nothing_partial(storage: Storage) -> None:
    """No temporary file (local) and no open multipart upload (S3) is left."""
    if isinstance(storage, LocalStorage):
        assert list(storage.root.rglob("*.part")) == []
    else:
        assert isinstance(storage, S3Storage)
        client = await storage.client()
        uploads = await client.list_multipart_uploads(Bucket=storage.bucket)
        assert uploads.get("Uploads", []) == []


@pytest.mark.parametrize("size", [0, 10, 12 * MiB], ids=["empty", "small", "multipart"])
async def test_round_trip(storage: Storage, size: int) -> None:
    data = os.urandom(size)
    await put(storage, KEY, data)
    assert await get(storage, KEY) == data
    info = await storage.stat(KEY)
    assert info is not None
    assert (info.key, info.size) == (KEY, size)
    await assert_nothing_partial(storage)


@pytest.mark.parametrize("storage", ["s3"], indirect=True)
async def test_s3_large_object_is_sent_in_parts(storage: Storage) -> None:
    assert isinstance(storage, S3Storage)
    await put(storage, KEY, os.urandom(12 * MiB))
    head = await (await storage.client()).head_object(Bucket=storage.bucket, Key=KEY)
    # A multipart object's ETag ends in -<number of parts>: 5 + 5 + 2 MiB.
    assert head["ETag"].strip('"').endswith("-3")
    assert head["ContentType"] == "text/csv"


SIZE = 3 * MiB + 17


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (0, None, slice(0, SIZE)),
        (MiB + 5, None, slice(MiB + 5, SIZE)),
        (10, 2 * MiB, slice(10, 2 * MiB + 1)),
        (SIZE - 1, SIZE - 1, slice(SIZE - 1, SIZE)),
        (SIZE - 10, SIZE + 100, slice(SIZE - 10, SIZE)),
        (SIZE, None, slice(SIZE, SIZE)),
    ],
    ids=["whole", "start-only", "start-end", "last-byte", "end-past-eof", "start-at-eof"],
)
async def test_read_ranges(storage: Storage, start: int, end: int | None, expected: slice) -> None:
    data = os.urandom(SIZE)
    await put(storage, KEY, data, piece=MiB)
    assert await get(storage, KEY, start, end) == data[expected]


async def test_read_rejects_bad_ranges(storage: Storage) -> None:
    await put(storage, KEY, b"abc")
    with pytest.raises(ValueError, match="range"):
        await get(storage, KEY, 2, 1)
    with pytest.raises(ValueError, match="range"):
        await get(storage, KEY, -1)


async def test_absent_keys(storage: Storage) -> None:
    assert await storage.stat(KEY) is None
    with pytest.raises(FileNotFoundError):
        await get(storage, KEY)
    await storage.delete(KEY)  # nothing there: no error


async def test_delete(storage: Storage) -> None:
    await put(storage, KEY, b"x" * 100)
    await put(storage, "exports/other", b"y")
    await storage.delete(KEY)
    await storage.delete(KEY)
    assert await storage.stat(KEY) is None
    with pytest.raises(FileNotFoundError):
        await get(storage, KEY)
    assert await get(storage, "exports/other") == b"y"


async def test_object_appears_only_when_the_block_exits(storage: Storage) -> None:
    async with storage.create(KEY, content_type="text/csv") as writer:
        await writer.write(os.urandom(6 * MiB))
        assert await storage.stat(KEY) is None
    assert await storage.stat(KEY) is not None


@pytest.mark.parametrize("size", [10, 6 * MiB], ids=["small", "past-one-part"])
async def test_error_inside_create_leaves_nothing(storage: Storage, size: int) -> None:
    with pytest.raises(Boom):
        await put_then_fail(storage, KEY, os.urandom(size))
    assert await storage.stat(KEY) is None
    await assert_nothing_partial(storage)


@pytest.mark.parametrize("cancels", [1, 3], ids=["once", "repeatedly"])
async def test_cancel_inside_create_leaves_nothing(storage: Storage, cancels: int) -> None:
    written = asyncio.Event()

    async def write_then_hang() -> None:
        async with storage.create(KEY, content_type="text/csv") as writer:
            await writer.write(os.urandom(6 * MiB))
            written.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(write_then_hang())
    await written.wait()
    task.cancel()
    for _ in range(cancels - 1):
        # Lands while the clean-up (S3: aborting the upload) is under way.
        await asyncio.sleep(0.001)
        task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await storage.stat(KEY) is None
    await assert_nothing_partial(storage)


async def test_cancel_during_writes_leaves_nothing(storage: Storage) -> None:
    # Cancelled while a write (a thread, or a part upload) is most likely in flight.
    started = asyncio.Event()
    chunk = os.urandom(MiB)

    async def keep_writing() -> None:
        async with storage.create(KEY, content_type="text/csv") as writer:
            started.set()
            for _ in range(64):
                await writer.write(chunk)
            await asyncio.Event().wait()  # a fast disk may be done before the cancel comes

    task = asyncio.create_task(keep_writing())
    await started.wait()
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await storage.stat(KEY) is None
    await assert_nothing_partial(storage)


@pytest.mark.parametrize("size", [10, 6 * MiB], ids=["small", "past-one-part"])
async def test_failed_overwrite_keeps_the_old_object(storage: Storage, size: int) -> None:
    first, second = os.urandom(1000), os.urandom(size)
    await put(storage, KEY, first)
    with pytest.raises(Boom):
        await put_then_fail(storage, KEY, second)
    assert await get(storage, KEY) == first
    await put(storage, KEY, second)
    assert await get(storage, KEY) == second
    await assert_nothing_partial(storage)


@pytest.mark.parametrize("storage", ["s3"], indirect=True)
async def test_s3_create_aborts_a_crashed_writers_upload(storage: Storage) -> None:
    assert isinstance(storage, S3Storage)
    client = await storage.client()
    stale = await client.create_multipart_upload(Bucket=storage.bucket, Key=KEY)
    other = await client.create_multipart_upload(Bucket=storage.bucket, Key=f"{KEY}.2")
    await put(storage, KEY, b"fresh")
    uploads = (await client.list_multipart_uploads(Bucket=storage.bucket)).get("Uploads", [])
    # Only the same key's upload is aborted, not one whose key merely starts with it.
    assert [u["UploadId"] for u in uploads] == [other["UploadId"]]
    assert stale["UploadId"] != other["UploadId"]
    await client.abort_multipart_upload(
        Bucket=storage.bucket, Key=f"{KEY}.2", UploadId=other["UploadId"]
    )


async def test_presigned_url(storage: Storage) -> None:
    data = os.urandom(2000)
    await put(storage, KEY, data)
    filename = "résumé 2024.csv"
    url = await storage.presigned_url(
        KEY, expires_s=60, filename=filename, content_type="text/csv; charset=utf-8"
    )
    if isinstance(storage, LocalStorage):
        assert url is None  # the API serves the file itself
        return
    assert url is not None
    async with httpx.AsyncClient() as http:
        response = await http.get(url)
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-disposition"] == attachment_disposition(filename)
    assert response.headers["content-type"] == "text/csv; charset=utf-8"


def test_attachment_disposition() -> None:
    assert attachment_disposition("data.csv") == 'attachment; filename="data.csv"'
    assert attachment_disposition("résumé.csv") == (
        "attachment; filename=\"r_sum_.csv\"; filename*=UTF-8''r%C3%A9sum%C3%A9.csv"
    )
    # Quotes, backslashes and line breaks never reach the quoted form.
    assert attachment_disposition('a"b\\c\r\n.csv') == (
        "attachment; filename=\"a_b_c__.csv\"; filename*=UTF-8''a%22b%5Cc%0D%0A.csv"
    )


@pytest.mark.parametrize(
    "key", ["", "/etc/passwd", "../x", "a/../../x", "a//b", "a/", "./a", "a/./b", "a\0b", ".."]
)
def test_local_rejects_unsafe_keys(tmp_path: Path, key: str) -> None:
    storage = LocalStorage(tmp_path)
    with pytest.raises(ValueError, match="invalid storage key"):
        storage.path(key)
    with pytest.raises(ValueError, match="invalid storage key"):
        storage.create(key, content_type="text/plain")


async def test_local_writes_beside_the_final_path(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "new" / "root")  # created if missing
    async with storage.create(KEY, content_type="text/csv") as writer:
        await writer.write(b"hello")
        (temp,) = storage.path(KEY).parent.iterdir()
        assert temp.name.startswith(".data.csv.")
        assert temp.name.endswith(".part")
    assert [p.name for p in storage.path(KEY).parent.iterdir()] == ["data.csv"]
    assert storage.path(KEY).read_bytes() == b"hello"


async def test_create_storage_local(base_settings: Settings, tmp_path: Path) -> None:
    storage = create_storage(base_settings.model_copy(update={"storage_dir": tmp_path / "s"}))
    assert isinstance(storage, LocalStorage)
    await put(storage, KEY, b"local")
    assert (tmp_path / "s" / KEY).read_bytes() == b"local"
    await storage.close()


async def test_create_storage_s3(
    base_settings: Settings, s3_settings_overrides: dict[str, Any]
) -> None:
    storage = create_storage(base_settings.model_copy(update=s3_settings_overrides))
    assert isinstance(storage, S3Storage)
    assert storage.bucket == s3_settings_overrides["s3_bucket"]
    assert storage.part_size == base_settings.s3_part_size >= MIN_PART_SIZE
    try:
        await put(storage, KEY, b"remote")
        assert await get(storage, KEY) == b"remote"
    finally:
        await storage.close()
