"""Objects as files under one directory: written to a temporary file, renamed into place."""

from __future__ import annotations

import asyncio
import errno
import glob
import os
import stat
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

from starlette.responses import Response

from datatasks.core.errors import NotFound
from datatasks.storage.base import ObjectInfo, ObjectWriter, Storage, StorageFull
from datatasks.storage.file_response import Download

# Disk I/O happens in threads, this much at a time: big enough that the hop to a thread costs
# little, small enough that a writer holds little memory.
CHUNK_SIZE = 1024 * 1024


def validate_key(key: str) -> None:
    """Raise ValueError unless `key` is a relative, `/`-separated path that stays under the root."""
    # An absolute path, `a//b` and a trailing `/` all show up as an empty segment.
    if "\0" in key or any(part in ("", ".", "..") for part in key.split("/")):
        raise ValueError(f"invalid storage key: {key!r}")


class LocalStorage(Storage):
    """Objects under `root` (created if missing), one file per key.

    A file is written as a hidden `.<name>.<random>.part` beside its final path and renamed
    into place only when complete, so readers never see a partial file.
    """

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root

    def path(self, key: str) -> Path:
        """The file that holds `key` (which may not exist)."""
        validate_key(key)
        return self.root / key

    def create(self, key: str, *, content_type: str) -> AbstractAsyncContextManager[ObjectWriter]:
        """See Storage.create. `content_type` is not stored: the API knows it from the job."""
        return self._create(self.path(key))

    @asynccontextmanager
    async def _create(self, final: Path) -> AsyncIterator[ObjectWriter]:
        _remove_stale_parts(final)
        writer = _FileWriter(final)  # if this raises, it has created nothing
        try:
            yield writer
            await writer.commit()
        finally:
            if not writer.published:
                writer.discard()

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """See Storage.read. The FileNotFoundError comes when iteration starts."""
        _check_range(start, end)
        path = self.path(key)
        file = await asyncio.to_thread(_open_for_read, path, start)
        try:
            remaining = None if end is None else end - start + 1
            while remaining is None or remaining > 0:
                size = CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining)
                chunk = await asyncio.to_thread(file.read, size)
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk
        finally:
            # Synchronous on purpose: closing a file we only read is quick, and an await in an
            # async generator's finally can be skipped when the generator is closed by the GC.
            file.close()

    async def stat(self, key: str) -> ObjectInfo | None:
        """See Storage.stat."""
        path = self.path(key)
        try:
            info = await asyncio.to_thread(path.stat)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return ObjectInfo(key=key, size=info.st_size) if stat.S_ISREG(info.st_mode) else None

    async def delete(self, key: str) -> None:
        """See Storage.delete. Directories the key leaves empty go too (up to the root)."""
        path = self.path(key)
        with suppress(FileNotFoundError, NotADirectoryError):
            await asyncio.to_thread(path.unlink)
        for parent in path.parents:
            if parent == self.root:
                break
            try:
                parent.rmdir()
            except OSError:
                break

    async def presigned_url(
        self, key: str, *, expires_s: int, filename: str, content_type: str
    ) -> str | None:
        """None: there is no other server to send the client to; the API serves the file."""
        return None

    async def download(
        self, key: str, *, filename: str, content_type: str, expires_s: int
    ) -> Response:
        """See Storage.download: the file, streamed from disk, ranges answered."""
        file = self.path(key)
        try:
            info = file.stat()
        except (FileNotFoundError, NotADirectoryError):
            info = None
        if info is None or not stat.S_ISREG(info.st_mode):
            raise NotFound("the file is gone")
        return Download(
            file,
            stat_result=info,
            media_type=content_type,
            filename=filename,
            content_disposition_type="attachment",
        )


def _check_range(start: int, end: int | None) -> None:
    if start < 0 or (end is not None and end < start):
        raise ValueError(f"invalid byte range {start}-{end}")


def _open_for_read(path: Path, start: int) -> BinaryIO:
    try:
        file = path.open("rb")
    except (NotADirectoryError, IsADirectoryError) as exc:
        # A key whose "parent" is a file, or that names a directory, is simply not an object.
        raise FileNotFoundError(str(path)) from exc
    file.seek(start)
    return file


class _FileWriter(ObjectWriter):
    """Buffers writes and hands them, in order, to a thread that appends to the temporary file.

    A cancellation can end our wait for a thread but not the thread itself, so the operation in
    flight is kept in `_busy`; `discard()` closes the file only once that thread is done with it.
    """

    def __init__(self, final: Path) -> None:
        self._final = final
        self._temp = final.with_name(f".{final.name}.{uuid.uuid4().hex}.part")
        # Created on the event loop, like the rename and unlink below: these are quick metadata
        # operations, and doing them here means no thread can create the file after a
        # cancellation has made us discard it.
        with _space_errors():
            final.parent.mkdir(parents=True, exist_ok=True)
            self._file = self._temp.open("xb")
        self._buffer = bytearray()
        self._busy: asyncio.Future[None] | None = None
        self.bytes_written = 0
        self.published = False

    async def write(self, data: bytes) -> None:
        """Accept `data`; it reaches the disk in ~1 MiB writes, one in flight while the next
        is gathered (so the caller's input - a socket, a COPY - keeps flowing meanwhile)."""
        self.bytes_written += len(data)
        if not self._buffer and len(data) >= CHUNK_SIZE:
            # Already a whole chunk: skip the copy into the buffer.
            await self._start(lambda: self._write_sync(data))
            return
        self._buffer += data
        if len(self._buffer) >= CHUNK_SIZE:
            chunk = bytes(self._buffer)
            self._buffer.clear()
            await self._start(lambda: self._write_sync(chunk))

    async def commit(self) -> None:
        """Make the file durable and publish it under its final name."""
        rest = bytes(self._buffer)
        self._buffer.clear()
        await self._start(lambda: self._finish_sync(rest))
        await self._finished()
        # On the event loop, with no await between the rename and the flag: once the file is in
        # place, a cancellation can no longer make `discard()` think it is not.
        with _space_errors():
            os.replace(self._temp, self._final)
        self.published = True
        # Makes the rename itself survive a crash. A cancellation arriving here still leaves
        # the object published: the commit point has passed.
        await asyncio.to_thread(_fsync_dir, self._final.parent)

    def discard(self) -> None:
        """Remove the temporary file and close it once no thread is using it.

        No await here, so a second cancellation cannot cut the clean-up short; an unlink is one
        quick metadata operation, and the (deferred) close costs no I/O.
        """
        with suppress(FileNotFoundError):
            os.unlink(self._temp)
        # The key's directories were made for this object; an empty one is debris too.
        with suppress(OSError):
            self._final.parent.rmdir()
        if self._busy is None or self._busy.done():
            self._release(self._busy)
        else:
            self._busy.add_done_callback(self._release)

    async def _start(self, operation: Callable[[], None]) -> None:
        """Run `operation` in a thread once the previous one is done (raising its error)."""
        await self._finished()
        self._busy = asyncio.get_running_loop().run_in_executor(None, operation)

    async def _finished(self) -> None:
        if self._busy is not None:
            # Shielded so that a cancellation leaves `_busy` running (as the thread does) for
            # `discard()` to wait on, rather than marking it cancelled while the file is in use.
            with _space_errors():
                await asyncio.shield(self._busy)

    def _release(self, busy: asyncio.Future[None] | None) -> None:
        if busy is not None and not busy.cancelled():
            busy.exception()  # retrieved, so asyncio does not log it as never retrieved
        self._file.close()

    def _write_sync(self, data: bytes) -> None:
        self._file.write(data)

    def _finish_sync(self, rest: bytes) -> None:
        self._file.write(rest)
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()


@contextmanager
def _space_errors() -> Iterator[None]:
    """A full disk or quota raises StorageFull, which callers can tell from a fault."""
    try:
        yield
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT) and not isinstance(exc, StorageFull):
            raise StorageFull(f"no space left on the storage device: {exc}") from exc
        raise


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# A writer that is alive writes at least this often; older temp files were left by a crash.
STALE_PART_S = 15 * 60


def _remove_stale_parts(final: Path) -> None:
    """Delete temporary files a killed writer left for this key (S3 aborts its multipart
    uploads for the same reason)."""
    if not final.parent.is_dir():
        return
    cutoff = time.time() - STALE_PART_S
    for part in final.parent.glob(f".{glob.escape(final.name)}.*.part"):
        with suppress(FileNotFoundError):
            if part.stat().st_mtime < cutoff:
                part.unlink()
