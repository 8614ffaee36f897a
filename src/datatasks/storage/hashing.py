"""A writer that hashes (and optionally gzips) what it stores, off the event loop."""

from __future__ import annotations

import asyncio
import hashlib
import zlib

from datatasks.storage.base import ObjectWriter

# Compressing and hashing run in threads (zlib and hashlib release the GIL, so they run beside
# the event loop's work); a thread hop pays off only for larger pieces.
_BATCH = 1 << 20


class HashingWriter:
    """Bytes in, in order; out to `writer`, gzip-compressed if asked. `sha256` and `size`
    describe the stored object (after compression), as a client will download it. Call
    `finish()` before the storage block ends."""

    def __init__(self, writer: ObjectWriter, *, gzip: bool) -> None:
        self._writer = writer
        # wbits 31: a gzip member (header and trailer), as `gzip -d` expects.
        self._compressor = zlib.compressobj(6, zlib.DEFLATED, 31) if gzip else None
        self._pending = bytearray()
        self._hash = hashlib.sha256()
        self.size = 0

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    async def write(self, data: bytes) -> None:
        # Callers hand over KiBs at a time; the work below pays off per MiB.
        self._pending += data
        if len(self._pending) >= _BATCH:
            await self._flush(final=False)

    async def finish(self) -> None:
        await self._flush(final=True)

    async def _flush(self, *, final: bool) -> None:
        data, self._pending = bytes(self._pending), bytearray()
        if self._compressor is not None:
            compressor = self._compressor
            data = await asyncio.to_thread(compressor.compress, data)
            if final:
                data += compressor.flush()
        if data:
            self.size += len(data)
            # hashlib releases the GIL: hashing runs beside the write.
            await asyncio.gather(
                asyncio.to_thread(self._hash.update, data), self._writer.write(data)
            )
