"""Objects in an S3-compatible bucket, through aiobotocore (botocore on aiohttp, so no threads).

The client - and with it the connection pool - is created lazily, on first use, in the event
loop that uses it; whoever created the storage calls `close()` at shutdown.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine, Iterator
from contextlib import (
    AbstractAsyncContextManager,
    AsyncExitStack,
    asynccontextmanager,
    contextmanager,
)
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import structlog
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError
from starlette.responses import RedirectResponse, Response

from datatasks.storage.base import ObjectInfo, ObjectWriter, Storage, StorageFull

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_s3.type_defs import CompletedPartTypeDef

log = structlog.stdlib.get_logger("datatasks.storage")

MIN_PART_SIZE = 5 * 1024 * 1024  # S3 refuses smaller parts, except the last one
READ_CHUNK_SIZE = 1024 * 1024
_NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound"})
# What MinIO answers when its drives are full: 507 Insufficient Storage, XMinioStorageFull.
_FULL_STATUS = 507
_FULL_CODES = frozenset({"507", "XMinioStorageFull"})  # a reply without a body: its status


class S3Storage(Storage):
    """Objects in `bucket`. Credentials left as None come from the usual AWS sources.

    Large objects are sent as multipart uploads of `part_size` bytes per part, so a writer holds
    about one part in memory. With a custom `endpoint_url` (MinIO, Ceph, moto...) path-style
    addressing is used, since such services rarely have a DNS name per bucket.
    """

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        part_size: int = 8 * 1024 * 1024,
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes")
        self.bucket = bucket
        self.part_size = part_size
        self._endpoint_url = endpoint_url
        self._region = region
        self._access_key_id = access_key_id
        self._secret_access_key = secret_access_key
        self._client: S3Client | None = None
        self._exit_stack = AsyncExitStack()
        self._connect_lock = asyncio.Lock()

    async def client(self) -> S3Client:
        """The aiobotocore client, created on first use (in the running event loop)."""
        if self._client is None:
            async with self._connect_lock:
                if self._client is None:
                    self._client = await self._exit_stack.enter_async_context(
                        get_session().create_client(
                            "s3",
                            endpoint_url=self._endpoint_url,
                            region_name=self._region,
                            aws_access_key_id=self._access_key_id,
                            aws_secret_access_key=self._secret_access_key,
                            config=self._config(),
                        )
                    )
        return self._client

    def _config(self) -> AioConfig:
        return AioConfig(
            signature_version="s3v4",
            s3={"addressing_style": "path" if self._endpoint_url else "auto"},
            retries={"mode": "standard", "max_attempts": 5},
            connect_timeout=10,
            read_timeout=60,
            # The CRC checksum headers botocore sends by default are not understood by every
            # S3-compatible service; TLS and Content-Length already guard the bytes in transit.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )

    async def close(self) -> None:
        """Close the client and its connections. A later call would open a new one."""
        self._client = None
        stack, self._exit_stack = self._exit_stack, AsyncExitStack()
        await stack.aclose()

    def create(self, key: str, *, content_type: str) -> AbstractAsyncContextManager[ObjectWriter]:
        """See Storage.create. Any multipart upload of the same key still open (a crashed
        writer's) is aborted first, so two concurrent writers of one key make one of them fail."""
        return self._create(key, content_type)

    @asynccontextmanager
    async def _create(self, key: str, content_type: str) -> AsyncIterator[ObjectWriter]:
        client = await self.client()
        await self._abort_uploads(client, key)
        writer = _MultipartWriter(client, self.bucket, key, content_type, self.part_size)
        try:
            yield writer
            # Once sent, a commit cannot be taken back: let it finish even if cancelled.
            await _finish_despite_cancel(writer.commit())
        except BaseException:
            if not writer.committed:
                try:
                    await _finish_despite_cancel(writer.abort())
                except Exception:
                    # Keep the original error. The next write of this key, or the bucket's
                    # lifecycle rule for incomplete uploads, removes what is left.
                    log.warning("storage.abort_failed", key=key, exc_info=True)
            raise

    async def _abort_uploads(self, client: S3Client, key: str) -> None:
        paginator = client.get_paginator("list_multipart_uploads")
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=key):
            for upload in page.get("Uploads", []):
                if upload.get("Key") == key and "UploadId" in upload:
                    log.info("storage.stale_upload_aborted", key=key)
                    await _abort_upload(client, self.bucket, key, upload["UploadId"])

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """See Storage.read. The FileNotFoundError comes when iteration starts; a range that
        begins past the end of the object yields nothing."""
        if start < 0 or (end is not None and end < start):
            raise ValueError(f"invalid byte range {start}-{end}")
        client = await self.client()
        extra: dict[str, Any] = {}
        # No Range for the whole object: S3 answers `bytes=0-` on an empty object with 416.
        if start or end is not None:
            extra["Range"] = f"bytes={start}-{'' if end is None else end}"
        try:
            response = await client.get_object(Bucket=self.bucket, Key=key, **extra)
        except ClientError as exc:
            code = _error_code(exc)
            if code in _NOT_FOUND:
                raise FileNotFoundError(key) from exc
            if code == "InvalidRange":
                return
            raise
        async with response["Body"] as body:
            while chunk := await body.read(READ_CHUNK_SIZE):
                yield chunk

    async def stat(self, key: str) -> ObjectInfo | None:
        """See Storage.stat."""
        client = await self.client()
        try:
            response = await client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _error_code(exc) in _NOT_FOUND:
                return None
            raise
        return ObjectInfo(key=key, size=response["ContentLength"])

    async def delete(self, key: str) -> None:
        """See Storage.delete."""
        client = await self.client()
        await client.delete_object(Bucket=self.bucket, Key=key)

    async def download(
        self, key: str, *, filename: str, content_type: str, expires_s: int
    ) -> Response:
        """See Storage.download: a redirect to the object itself, presigned."""
        url = await self.presigned_url(
            key, expires_s=expires_s, filename=filename, content_type=content_type
        )
        return RedirectResponse(url, status_code=307)

    async def presigned_url(
        self, key: str, *, expires_s: int, filename: str, content_type: str
    ) -> str:
        """See Storage.presigned_url. Signed locally: no request is made."""
        client = await self.client()
        return await client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "ResponseContentDisposition": attachment_disposition(filename),
                "ResponseContentType": content_type,
            },
            ExpiresIn=expires_s,
        )


def attachment_disposition(filename: str) -> str:
    """A Content-Disposition of `attachment` with `filename`; when that is not plain printable
    ASCII, an ASCII fallback plus RFC 6266's `filename*=UTF-8''...` with the exact name."""
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in filename)
    value = f'attachment; filename="{fallback}"'
    if fallback != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value


class _MultipartWriter(ObjectWriter):
    """Buffers up to one part; starts a multipart upload only once a whole part is full, so a
    small object is a single PutObject."""

    def __init__(
        self, client: S3Client, bucket: str, key: str, content_type: str, part_size: int
    ) -> None:
        self._client = client
        self._bucket = bucket
        self._key = key
        self._content_type = content_type
        self._part_size = part_size
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[CompletedPartTypeDef] = []
        self.bytes_written = 0
        self.committed = False

    async def write(self, data: bytes) -> None:
        """Accept `data`; each full part is uploaded before this returns."""
        self.bytes_written += len(data)
        self._buffer += data
        while len(self._buffer) >= self._part_size:
            part = bytes(self._buffer[: self._part_size])
            del self._buffer[: self._part_size]
            with _space_errors():
                await self._upload_part(part)

    async def commit(self) -> None:
        with _space_errors():
            await self._commit()

    async def _commit(self) -> None:
        if self._upload_id is None:
            await self._client.put_object(
                Bucket=self._bucket,
                Key=self._key,
                Body=bytes(self._buffer),
                ContentType=self._content_type,
            )
        else:
            if self._buffer:
                await self._upload_part(bytes(self._buffer))
            await self._client.complete_multipart_upload(
                Bucket=self._bucket,
                Key=self._key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
            )
        self._buffer.clear()
        self.committed = True

    async def abort(self) -> None:
        if self._upload_id is not None:
            await _abort_upload(self._client, self._bucket, self._key, self._upload_id)

    async def _upload_part(self, body: bytes) -> None:
        if self._upload_id is None:
            # Shielded: an upload the server created but whose id we never saw could not be
            # aborted by `abort()`.
            await _finish_despite_cancel(self._start_upload())
        assert self._upload_id is not None
        number = len(self._parts) + 1
        response = await self._client.upload_part(
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=body,
        )
        self._parts.append({"PartNumber": number, "ETag": response["ETag"]})

    async def _start_upload(self) -> None:
        response = await self._client.create_multipart_upload(
            Bucket=self._bucket, Key=self._key, ContentType=self._content_type
        )
        self._upload_id = response["UploadId"]


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextmanager
def _space_errors() -> Iterator[None]:
    """The service being out of space raises StorageFull, which callers can tell from a fault."""
    try:
        yield
    except ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if _error_code(exc) in _FULL_CODES or status == _FULL_STATUS:
            raise StorageFull(f"the S3 service has no room for the object: {exc}") from exc
        raise


async def _abort_upload(client: S3Client, bucket: str, key: str, upload_id: str) -> None:
    try:
        await client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    except ClientError as exc:
        # Already completed or aborted (by us on an earlier try, or by another writer).
        if _error_code(exc) != "NoSuchUpload":
            raise


async def _finish_despite_cancel(operation: Coroutine[Any, Any, None]) -> None:
    """Run `operation` to its end even if this task is cancelled meanwhile, then re-raise the
    cancellation. For steps that must not stop half-way: commit, abort, starting an upload."""
    task = asyncio.ensure_future(operation)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            # Ours, even when the operation finished in the same turn of the loop (then it is
            # done, and forgetting the cancellation here would let the caller run on forever);
            # if the operation itself was cancelled, task.result() raises that.
            cancelled = True
    task.result()
    if cancelled:
        raise asyncio.CancelledError
