"""How an export's COPY output reaches storage: JSON array framing, CRLF line endings, and a
bounded pipe."""

from __future__ import annotations

import asyncio

from datatasks.storage.hashing import HashingWriter


class JsonArrayFraming:
    """Turns a stream of JSON lines (NDJSON, each ending in a newline) into one JSON array.

    JSON text never holds a raw newline (it escapes them), so every newline in the stream ends
    a record: it becomes `,\\n`, except the last one, which closes the array.
    """

    def __init__(self, sink: HashingWriter) -> None:
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


class CrlfLines:
    """Turns COPY's CSV lines (ended by LF) into CRLF lines, leaving line breaks inside quoted
    values as they are (they are data). Quote state carries across chunks: in CSV every quote
    toggles it (an escaped quote is two)."""

    def __init__(self) -> None:
        self._quoted = False

    def convert(self, data: bytes) -> bytes:
        if b'"' not in data:
            return data if self._quoted else data.replace(b"\n", b"\r\n")
        parts = data.split(b'"')
        for index in range(0 if not self._quoted else 1, len(parts), 2):
            parts[index] = parts[index].replace(b"\n", b"\r\n")
        # An odd number of quotes in the chunk flips the state for the next one.
        self._quoted ^= (len(parts) - 1) % 2 == 1
        return b'"'.join(parts)


class Pipe:
    """Decouples the COPY from the writing: chunks go through a bounded queue to a task that
    writes them, so Postgres keeps producing while a chunk is hashed, compressed and stored.
    The bound (not the result size) caps memory; a full queue holds the COPY back."""

    def __init__(self, target: HashingWriter | JsonArrayFraming, *, max_chunks: int = 32) -> None:
        self._target = target
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue(max_chunks)
        self._task = asyncio.create_task(self._drain())

    async def put(self, data: bytes) -> None:
        await self._enqueue(data)

    async def close(self) -> None:
        """Wait until everything put has been written; raises the writer's error if any."""
        await self._enqueue(None)
        await self._task

    async def abort(self) -> None:
        """Stop the writer and wait until it has stopped, so nothing it started (a multipart
        upload, say) outlives the storage block that cleans up after it."""
        self._task.cancel()
        await asyncio.wait({self._task})

    async def _enqueue(self, data: bytes | None) -> None:
        # Wait for room in the queue or for the writer to fail: a writer that died would never
        # make room, and its error, not a timeout an hour later, is what the job must report.
        put = asyncio.ensure_future(self._queue.put(data))
        await asyncio.wait({put, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if not put.done():
            put.cancel()
            await self._task  # raises the writer's error
            raise RuntimeError("the export writer stopped early")

    async def _drain(self) -> None:
        while (data := await self._queue.get()) is not None:
            await self._target.write(data)
