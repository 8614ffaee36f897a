"""Where an export's bytes go: optional gzip, a running sha256 and size, then storage."""

from __future__ import annotations

import asyncio
import hashlib
import zlib

from datatasks.storage import ObjectWriter

# Compressing off the event loop pays for the thread hop only for larger pieces (zlib releases
# the GIL, so a thread also lets it run beside the COPY).
_BATCH = 1 << 20


class ExportSink:
    """Bytes in, in order; out to `writer`, gzip-compressed if asked. `sha256` and `size`
    describe the stored file (after compression), as a client will download it."""

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
        if self._compressor is None:
            await self._emit(data)
            return
        self._pending += data
        if len(self._pending) >= _BATCH:
            pending, self._pending = bytes(self._pending), bytearray()
            await self._emit(await asyncio.to_thread(self._compressor.compress, pending))

    async def finish(self) -> None:
        if self._compressor is not None:
            pending, self._pending = bytes(self._pending), bytearray()
            compressor = self._compressor
            await self._emit(compressor.compress(pending) + compressor.flush())

    async def _emit(self, data: bytes) -> None:
        if data:
            self._hash.update(data)
            self.size += len(data)
            await self._writer.write(data)


class JsonArrayFraming:
    """Turns a stream of JSON lines (NDJSON, each ending in a newline) into one JSON array.

    JSON text never holds a raw newline (it escapes them), so every newline in the stream ends
    a record: it becomes `,\\n`, except the last one, which closes the array.
    """

    def __init__(self, sink: ExportSink) -> None:
        self._sink = sink
        self._started = False
        self._newline_pending = False

    async def write(self, data: bytes) -> None:
        if not data:
            return
        head = b"[\n" if not self._started else (b",\n" if self._newline_pending else b"")
        self._started = True
        self._newline_pending = data.endswith(b"\n")
        if self._newline_pending:
            data = data[:-1]
        await self._sink.write(head + data.replace(b"\n", b",\n"))

    async def finish(self) -> None:
        await self._sink.write(b"[]\n" if not self._started else b"\n]\n")
