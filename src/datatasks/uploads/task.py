"""The ingest job: parse a stored upload as it streams in and COPY its records, resumably.

As with generation, each chunk is written in one transaction with the checkpoint - here the
dataset's row count - under a row lock. Parsing is deterministic, so a re-delivered job parses
the file again from the start and skips the records already written; the dataset never holds
a record twice. Rejected rows are counted, sampled, and written to a rejects file.
"""

from __future__ import annotations

import asyncio
import uuid
from bisect import bisect_left
from collections.abc import Callable
from functools import partial
from itertools import accumulate, islice
from typing import Any

import asyncpg
import orjson
import structlog

from datatasks.core.errors import JobCancelled, JobFailed
from datatasks.models import DatasetSource
from datatasks.storage.base import ObjectWriter
from datatasks.storage.links import issue_link
from datatasks.uploads.parser import InvalidContent, RecordParser, Rejected, TooManyColumns
from datatasks.uploads.rows import Output
from datatasks.uploads.schemas import IngestParams
from datatasks.uploads.sniff import Sniffed
from datatasks.worker.context import TaskContext
from datatasks.worker.rows import ensure_dataset, load_params, remove_dataset

log = structlog.stdlib.get_logger("datatasks.uploads")

COPY_COLUMNS = ("dataset_id", "record_type", "data")
SAMPLE = 100


def rejects_key(upload_id: uuid.UUID) -> str:
    return f"uploads/{upload_id}/rejects.ndjson"


def rejects_path(upload_id: uuid.UUID) -> str:
    """The API route that serves an upload's rejects file (through a signed link)."""
    return f"/uploads/{upload_id}/rejects"


class _Rejects:
    def __init__(self) -> None:
        self.count = 0
        self.sample: list[dict[str, Any]] = []

    def lines(self, rejected: list[Rejected]) -> bytes:
        self.count += len(rejected)
        entries = [{"line": r.line, "reason": r.reason, "raw": r.raw} for r in rejected]
        self.sample.extend(entries[: SAMPLE - len(self.sample)])
        return b"".join(orjson.dumps(e) + b"\n" for e in entries)


async def run_ingest(ctx: TaskContext, job_id: uuid.UUID) -> dict[str, Any]:
    async with ctx.connect() as conn:
        params = await load_params(conn, job_id, IngestParams)
        dataset_id = await ensure_dataset(
            conn,
            job_id,
            name=params.dataset_name,
            record_type=params.record_type,
            source=DatasetSource.uploaded,
        )
        loader = _Loader(ctx, conn, job_id, dataset_id, params.record_type)
        await loader.resume()
        rejects = _Rejects()
        parser = RecordParser(
            Sniffed(params.format, params.delimiter),
            max_record_bytes=ctx.settings.ingest_max_record_bytes,
            max_columns=ctx.settings.ingest_max_columns,
        )
        loop = asyncio.get_running_loop()
        key = rejects_key(params.upload_id)

        async def load(parse: Callable[[int], Output], read: int, out: ObjectWriter) -> None:
            # Parsing runs in a thread, beside the COPY of the previous batch, and makes records
            # only as far as the batch being filled has room; the rows it keeps back come next.
            records, rejected = await loop.run_in_executor(ctx.cpu, parse, loader.room)
            await out.write(rejects.lines(rejected))
            await loader.add(records, read, parser.columns)
            while parser.pending:
                records = await loop.run_in_executor(ctx.cpu, parser.more, loader.room)
                await loader.add(records, 0, parser.columns)

        try:
            async with ctx.storage.create(key, content_type="application/x-ndjson") as out:
                async for chunk in ctx.storage.read(params.key):
                    await load(partial(parser.feed, chunk), len(chunk), out)
                await load(parser.finish, 0, out)
                await loader.flush()
        except (InvalidContent, TooManyColumns) as exc:
            await loader.abort()
            await remove_dataset(conn, dataset_id)
            raise JobFailed(_unloadable(ctx, exc)) from exc
        except JobCancelled:
            # A cancelled job leaves no partial dataset behind.
            await loader.abort()
            await remove_dataset(conn, dataset_id)
            raise
        finally:
            await loader.abort()
        await _check_rejects(ctx, conn, key, dataset_id, loader.parsed, rejects)

    result: dict[str, Any] = {
        "dataset_id": str(dataset_id),
        "rows": loader.written,
        "rejected": rejects.count,
        "bytes": params.size,
        "format": params.format.value,
        "rejected_sample": rejects.sample,
    }
    if rejects.count:
        result["rejects_url"], expires_at = await issue_link(
            ctx.settings,
            ctx.storage,
            path=rejects_path(params.upload_id),
            key=key,
            filename=f"rejects-{params.upload_id}.ndjson",
            content_type="application/x-ndjson",
        )
        result["rejects_expires_at"] = expires_at.isoformat()
    else:
        await ctx.storage.delete(key)
    log.info("ingest.loaded", rows=loader.written, rejected=rejects.count)
    return result


def _unloadable(ctx: TaskContext, exc: InvalidContent | TooManyColumns) -> str:
    if isinstance(exc, TooManyColumns):
        # Postgres selects at most 1664 columns: an export of more would fail every time.
        limit = ctx.settings.ingest_max_columns
        return f"{exc}; the limit is {limit} (INGEST_MAX_COLUMNS), about what an export can select"
    return f"the file cannot be read: {exc}"


async def _check_rejects(
    ctx: TaskContext,
    conn: asyncpg.Connection,
    key: str,
    dataset_id: uuid.UUID,
    accepted: int,
    rejects: _Rejects,
) -> None:
    """Too many bad rows means the file is not what the client thinks: fail, keep nothing."""
    seen = accepted + rejects.count
    limit = ctx.settings.ingest_max_reject_share
    if seen and rejects.count / seen > limit:
        await remove_dataset(conn, dataset_id)
        await ctx.storage.delete(key)
        first = "; ".join(f"line {r['line']}: {r['reason']}" for r in rejects.sample[:3])
        raise JobFailed(
            f"{rejects.count} of {seen} rows were rejected (more than {limit:.0%}); first: {first}"
        )


class _Loader:
    """Batches parsed records into checkpointed COPY transactions, skipping those an earlier
    delivery already wrote; one write in flight while the next batch is parsed. A batch is
    written once it has INGEST_CHUNK_SIZE records or INGEST_CHUNK_BYTES characters of JSON,
    whichever comes first."""

    def __init__(
        self,
        ctx: TaskContext,
        conn: asyncpg.Connection,
        job_id: uuid.UUID,
        dataset_id: uuid.UUID,
        record_type: str,
    ) -> None:
        self._ctx = ctx
        self._conn = conn
        self._job_id = job_id
        self._dataset_id = dataset_id
        self._record_type = record_type
        self._batch: list[str] = []
        self._chars = 0  # the batch's JSON
        self._columns: list[str] | None = None
        self._bytes = 0
        self._writing: asyncio.Task[None] | None = None
        self._resume_at = 0
        self.parsed = 0  # records accepted by the parser so far
        # This delivery's position: records before it are in the dataset (the checkpoint).
        self.written = 0

    async def resume(self) -> None:
        self.written = self._resume_at = await self._conn.fetchval(
            "SELECT row_count FROM datasets WHERE id = $1", self._dataset_id
        )
        if self.written:
            log.info("ingest.resuming", written=self.written)

    @property
    def room(self) -> int:
        """How much more JSON the batch being filled takes before it is written (characters)."""
        return self._ctx.settings.ingest_chunk_bytes - self._chars

    async def add(self, records: list[str], read: int, columns: list[str] | None) -> None:
        self._bytes += read
        self._columns = columns
        # The first records, up to the checkpoint, were written by an earlier delivery.
        skip = max(0, min(len(records), self._resume_at - self.parsed))
        self.parsed += len(records)
        fresh = records[skip:] if skip else records
        self._batch.extend(fresh)
        self._chars += sum(map(len, fresh))
        settings = self._ctx.settings
        while (
            len(self._batch) >= settings.ingest_chunk_size
            or self._chars >= settings.ingest_chunk_bytes
        ):
            await self._write_in_background(self._full())

    def _full(self) -> int:
        """How many records make the batch to write now: INGEST_CHUNK_SIZE, or fewer if their
        JSON reaches INGEST_CHUNK_BYTES before (up to the record that reaches it)."""
        settings = self._ctx.settings
        size = settings.ingest_chunk_size
        if self._chars < settings.ingest_chunk_bytes:
            return size
        ends = list(accumulate(map(len, islice(self._batch, size))))
        return min(size, bisect_left(ends, settings.ingest_chunk_bytes) + 1)

    async def flush(self) -> None:
        await self._write_in_background(len(self._batch))
        await self._wait()

    async def _write_in_background(self, count: int) -> None:
        await self._wait()
        batch, self._batch = self._batch[:count], self._batch[count:]
        self._chars = sum(map(len, self._batch))  # what is left: at most about one parse's
        self._writing = asyncio.create_task(self._write(batch, self._bytes, self._columns))

    async def abort(self) -> None:
        """Stop a write in flight (its transaction rolls back) before the connection is
        released."""
        if self._writing is not None and not self._writing.done():
            self._writing.cancel()
            await asyncio.gather(self._writing, return_exceptions=True)

    async def _wait(self) -> None:
        if self._writing is not None:
            writing, self._writing = self._writing, None
            await writing

    async def _write(self, batch: list[str], read: int, columns: list[str] | None) -> None:
        schema = (
            orjson.dumps([{"name": c, "type": "string"} for c in columns]).decode()
            if columns is not None
            else None
        )
        conn = self._conn
        async with self._ctx.step(conn), conn.transaction():
            found = await conn.fetchval(
                "SELECT row_count FROM datasets WHERE id = $1 FOR UPDATE", self._dataset_id
            )
            status = await conn.fetchval("SELECT status FROM jobs WHERE id = $1", self._job_id)
            if status == "cancelled":
                raise JobCancelled(f"job {self._job_id} was cancelled")
            # This batch is records [start, end) of the file. Another delivery may have got
            # further: what it wrote (up to `found`) is not written again.
            start, end = self.written, self.written + len(batch)
            fresh = batch[max(0, found - start) :]
            if fresh:
                await conn.copy_records_to_table(
                    "records",
                    records=[(self._dataset_id, self._record_type, doc) for doc in fresh],
                    columns=COPY_COLUMNS,
                    schema_name=self._ctx.settings.database_schema,
                )
            count = max(found, end)
            await conn.execute(
                "UPDATE datasets SET row_count = $2, schema = COALESCE(schema, $3::jsonb) "
                "WHERE id = $1",
                self._dataset_id,
                count,
                schema,
            )
            await conn.execute(
                "UPDATE jobs SET progress_done = $2, updated_at = now() WHERE id = $1",
                self._job_id,
                read,
            )
        self.written = end
