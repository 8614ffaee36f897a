"""The ingest job: parse a stored upload as it streams in and COPY its records, resumably.

Parsing is deterministic, so a re-delivered job parses the file again from the start and skips
the records its dataset already holds (the checkpoint: see jobs/execution.py); the dataset
never holds a record twice. Progress is the bytes read. Rejected rows are counted, sampled,
and written to a rejects file.
"""

from __future__ import annotations

import asyncio
import uuid
from bisect import bisect_left
from collections.abc import Callable
from functools import partial
from itertools import accumulate, islice
from typing import Any

import orjson
import structlog

from datatasks.core.errors import JobCancelled, JobFailed
from datatasks.jobs.execution import ChunkWriter, JobDataset, RunningJob, TaskContext
from datatasks.jobs.results import IngestResult, RejectedRow
from datatasks.models import DatasetSource
from datatasks.storage.base import ObjectWriter
from datatasks.storage.links import issue_link
from datatasks.uploads.encoding import ToUtf8
from datatasks.uploads.locations import original_key, rejects_key, rejects_path
from datatasks.uploads.parser import InvalidContent, RecordParser, Rejected, TooManyColumns
from datatasks.uploads.parsing import Output
from datatasks.uploads.preamble import LineBlanker, TrailingSpaces
from datatasks.uploads.schemas import IngestParams
from datatasks.uploads.sniff import NULL_TOKENS, SPACES, Sniffed

log = structlog.stdlib.get_logger("datatasks.uploads")

SAMPLE = 100


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
    async with RunningJob.open(ctx, job_id) as job:
        params = await job.params(IngestParams)
        dataset = await job.dataset(
            name=params.dataset_name,
            record_type=params.record_type,
            source=DatasetSource.uploaded,
        )
        loader = _Loader(job, dataset, await job.checkpoint(dataset))
        rejects = _Rejects()
        parser = RecordParser(
            Sniffed(
                params.format,
                params.delimiter,
                params.quotechar,
                params.header,
                params.ragged,
                NULL_TOKENS if params.null_values is None else frozenset(params.null_values),
                tuple((params.column_types or {}).items()),
            ),
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
            await loader.add(records, read, parser.schema)
            while parser.pending:
                records = await loop.run_in_executor(ctx.cpu, parser.more, loader.room)
                await loader.add(records, 0, parser.schema)

        try:
            async with (
                loader.writer.running(),
                ctx.storage.create(key, content_type="application/x-ndjson") as out,
            ):
                text = ToUtf8(params.encoding)
                lines = LineBlanker(params.skip_rows, params.comment)
                spaces = TrailingSpaces() if params.delimiter == SPACES else None

                def convert(chunk: bytes) -> bytes:
                    data = lines.convert(text.convert(chunk))
                    return spaces.convert(data) if spaces else data

                async for chunk in ctx.storage.read(original_key(params.upload_id)):
                    await load(partial(parser.feed, convert(chunk)), len(chunk), out)
                rest = lines.convert(text.finish()) + lines.finish()
                if spaces:
                    rest = spaces.convert(rest) + spaces.finish()
                if rest:
                    await load(partial(parser.feed, rest), 0, out)
                await load(parser.finish, 0, out)
                await loader.flush()
                if parser.schema is not None:
                    # The types as all the values had them (the first chunk's were a guess).
                    await job.set_schema(dataset, parser.schema)
        except (InvalidContent, TooManyColumns) as exc:
            await job.discard(dataset)
            raise JobFailed(_unloadable(ctx, exc)) from exc
        except JobCancelled:
            # A cancelled job leaves no partial dataset behind.
            await job.discard(dataset)
            raise
        await _check_rejects(job, dataset, key, loader.parsed, rejects)

    result = IngestResult(
        dataset_id=dataset.id,
        rows=loader.written,
        rejected=rejects.count,
        bytes=params.size,
        format=params.format.value,
        encoding=params.encoding,
        warnings=_warnings(parser.columns),
        rejected_sample=[RejectedRow(**r) for r in rejects.sample],
    )
    if rejects.count:
        result.rejects_url, result.rejects_expires_at = await issue_link(
            ctx.settings,
            ctx.storage,
            path=rejects_path(params.upload_id),
            key=key,
            filename=f"rejects-{params.upload_id}.ndjson",
            content_type="application/x-ndjson",
        )
    else:
        await ctx.storage.delete(key)
    log.info("ingest.loaded", rows=loader.written, rejected=rejects.count)
    return result.model_dump(mode="json")


# In a lone column's name, these suggest the file has more columns than the delimiter found.
_SEPARATOR_LIKE = (" ", '"', "'", "\t", ";", "|", ",")


def _warnings(columns: list[str] | None) -> list[str]:
    if columns is not None and len(columns) == 1 and any(c in columns[0] for c in _SEPARATOR_LIKE):
        return [
            f"the file was read as one column named {columns[0][:80]!r}; if it has more, "
            "give its delimiter in the `delimiter` form field"
        ]
    return []


def _unloadable(ctx: TaskContext, exc: InvalidContent | TooManyColumns) -> str:
    if isinstance(exc, TooManyColumns):
        # Postgres selects at most 1664 columns: an export of more would fail every time.
        limit = ctx.settings.ingest_max_columns
        return f"{exc}; the limit is {limit} (INGEST_MAX_COLUMNS), about what an export can select"
    return f"the file cannot be read: {exc}"


async def _check_rejects(
    job: RunningJob, dataset: JobDataset, key: str, accepted: int, rejects: _Rejects
) -> None:
    """Too many bad rows means the file is not what the client thinks: fail, keep nothing."""
    seen = accepted + rejects.count
    limit = job.ctx.settings.ingest_max_reject_share
    if seen and rejects.count / seen > limit:
        await job.discard(dataset)
        await job.ctx.storage.delete(key)
        first = "; ".join(f"line {r['line']}: {r['reason']}" for r in rejects.sample[:3])
        raise JobFailed(
            f"{rejects.count} of {seen} rows were rejected (more than {limit:.0%}); first: {first}"
        )


class _Loader:
    """Batches parsed records for the job's ChunkWriter, skipping those the dataset already
    holds. A batch is written once it has INGEST_CHUNK_SIZE records or INGEST_CHUNK_BYTES
    characters of JSON, whichever comes first."""

    def __init__(self, job: RunningJob, dataset: JobDataset, checkpoint: int) -> None:
        self._settings = job.ctx.settings
        self._dataset = dataset
        self.writer = ChunkWriter(job, dataset, at=checkpoint)
        self._batch: list[str] = []
        self._chars = 0  # the batch's JSON
        self._schema: list[dict[str, str]] | None = None
        self._bytes = 0
        self._resume_at = checkpoint
        if checkpoint:
            log.info("ingest.resuming", written=checkpoint)
        self.parsed = 0  # records accepted by the parser so far
        # This delivery's position in the file's records: those before it are written.
        self.written = checkpoint

    @property
    def room(self) -> int:
        """How much more JSON the batch being filled takes before it is written (characters)."""
        return self._settings.ingest_chunk_bytes - self._chars

    async def add(self, records: list[str], read: int, schema: list[dict[str, str]] | None) -> None:
        self._bytes += read
        self._schema = schema
        # The first records, up to the checkpoint, were written by an earlier delivery.
        skip = max(0, min(len(records), self._resume_at - self.parsed))
        self.parsed += len(records)
        fresh = records[skip:] if skip else records
        self._batch.extend(fresh)
        self._chars += sum(map(len, fresh))
        while (
            len(self._batch) >= self._settings.ingest_chunk_size
            or self._chars >= self._settings.ingest_chunk_bytes
        ):
            await self._put(self._full())

    def _full(self) -> int:
        """How many records make the batch to write now: INGEST_CHUNK_SIZE, or fewer if their
        JSON reaches INGEST_CHUNK_BYTES before (up to the record that reaches it)."""
        size = self._settings.ingest_chunk_size
        if self._chars < self._settings.ingest_chunk_bytes:
            return size
        ends = list(accumulate(map(len, islice(self._batch, size))))
        return min(size, bisect_left(ends, self._settings.ingest_chunk_bytes) + 1)

    async def flush(self) -> None:
        await self._put(len(self._batch))
        await self.writer.wait()

    async def _put(self, count: int) -> None:
        batch, self._batch = self._batch[:count], self._batch[count:]
        self._chars = sum(map(len, self._batch))  # what is left: at most about one parse's
        schema = self._schema
        await self.writer.put(
            self._dataset.records(batch), at=self.written, progress=self._bytes, schema=schema
        )
        self.written += len(batch)
