"""Running a job: the one owner of its parameters, dataset, checkpoint, progress and cancellation.

A handler (generation, ingest, export) is given a `RunningJob` and says only what to make, what
to write and what the result is. The rules it relies on live here:

- **One locking rule.** Every write of a job's work - a chunk of records with its checkpoint,
  or a progress report - happens under the lock on the job's row (`SELECT ... FOR UPDATE`, or
  the UPDATE's own lock), and reads the job's status there. A cancel (which updates that row)
  is therefore seen by the next write, and raised as JobCancelled.
- **One checkpoint.** A job that makes records checkpoints on its dataset's `row_count`: the
  records before it are in the dataset. A chunk and the checkpoint it advances are committed in
  one transaction, so a crash loses both or neither. Records have a position (record index
  for generation, record order in the file for ingest), and a chunk is written at the
  position it starts at: when another delivery of the same job got further meanwhile, only the
  records past its checkpoint are written. So a resumed or doubled delivery never writes a
  record twice.
- **Progress** is the job's own measure (records made, bytes read, rows exported), written in
  the same transaction as the chunk, or reported on its own about once a second.

`ChunkWriter` overlaps the two halves of the work: the next chunk is made (in a thread) while
the last one is copied.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
import orjson
import structlog
from pydantic import BaseModel, ValidationError

from datatasks.core.config import Settings
from datatasks.core.db import PostgresUnavailable, SessionMaker, guarded, postgres_only
from datatasks.core.errors import JobCancelled, JobFailed
from datatasks.datasets import partitions
from datatasks.models import DatasetSource, JobStatus, partition_name
from datatasks.storage import Storage

log = structlog.stdlib.get_logger("datatasks.jobs")

P = TypeVar("P", bound=BaseModel)

# A record as COPYed into its dataset's partition of `records`.
CopyRow = tuple[uuid.UUID, str, str]
COPY_COLUMNS = ("dataset_id", "record_type", "data")
PROGRESS_EVERY_S = 1.0


@dataclass(frozen=True, slots=True)
class TaskContext:
    """What a worker gives the jobs it runs: configuration and its connections."""

    settings: Settings
    sessionmaker: SessionMaker
    # asyncpg connections for COPY; SQLAlchemy is for the small typed updates.
    pool: asyncpg.Pool
    # CPU work (making rows) runs here so it overlaps with the COPY on the event loop.
    cpu: ThreadPoolExecutor
    storage: Storage

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[asyncpg.Connection]:
        """A COPY connection for a job's work, which ends with PostgresUnavailable as soon as
        Postgres drops it (see `guarded`), and is had within `worker_db_timeout_s`."""
        async with postgres_only("cannot connect to Postgres"):
            conn: asyncpg.Connection = await self.pool.acquire(
                timeout=self.settings.worker_db_timeout_s
            )
        try:
            async with guarded(conn, None):
                yield conn
        finally:
            try:
                await self.pool.release(conn, timeout=self.settings.worker_db_timeout_s)
            except Exception as exc:
                # The pool has dropped the connection; only an outage makes a reset fail.
                raise PostgresUnavailable(f"cannot reset the connection: {exc!r}") from exc

    @asynccontextmanager
    async def step(self, conn: asyncpg.Connection) -> AsyncIterator[None]:
        """One bounded step of work on `conn` (a chunk's COPY and checkpoint)."""
        async with guarded(conn, self.settings.worker_db_timeout_s):
            yield


# A handler takes the job row's id and returns the job's result. It must be idempotent:
# re-running it after a crash or a re-delivery leaves the same effect as one run.
Handler = Callable[[TaskContext, uuid.UUID], Coroutine[Any, Any, dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class JobDataset:
    """The dataset a job fills (one per job)."""

    id: uuid.UUID
    record_type: str

    def records(self, docs: Iterable[str]) -> list[CopyRow]:
        """Records of this dataset from their JSON texts (cheap enough to build in a thread)."""
        dataset_id, record_type = self.id, self.record_type
        return [(dataset_id, record_type, doc) for doc in docs]


class RunningJob:
    """One delivery of a job, on one connection of its own."""

    def __init__(self, ctx: TaskContext, conn: asyncpg.Connection, job_id: uuid.UUID) -> None:
        self.ctx = ctx
        self.conn = conn
        self.id = job_id
        self._next_report = time.monotonic() + PROGRESS_EVERY_S

    @classmethod
    @asynccontextmanager
    async def open(cls, ctx: TaskContext, job_id: uuid.UUID) -> AsyncIterator[RunningJob]:
        async with ctx.connect() as conn:
            yield cls(ctx, conn, job_id)

    async def params(self, model: type[P]) -> P:
        """The job's stored parameters; ones a handler cannot use fail the job without retries."""
        raw = await self.conn.fetchval("SELECT params FROM jobs WHERE id = $1", self.id)
        try:
            return model.model_validate_json(raw)
        except ValidationError as exc:
            raise JobFailed(f"unusable job parameters ({model.__name__}): {exc}") from exc

    async def dataset(
        self,
        *,
        name: str | None,
        record_type: str,
        source: DatasetSource,
        schema: Sequence[dict[str, Any]] | None = None,
    ) -> JobDataset:
        """The job's dataset, created on the first delivery and found again on later ones
        (`datasets.job_id` is unique)."""
        dataset_id: uuid.UUID = await self.conn.fetchval(
            """
            INSERT INTO datasets (id, job_id, name, record_type, source, schema)
            VALUES ($1, $2, $3, $4, $5, $6::jsonb)
            ON CONFLICT (job_id) DO UPDATE SET job_id = EXCLUDED.job_id
            RETURNING id
            """,
            uuid.uuid4(),
            self.id,
            name,
            record_type,
            source.value,
            None if schema is None else orjson.dumps(schema).decode(),
        )
        await partitions.create(self.conn, dataset_id)
        return JobDataset(dataset_id, record_type)

    async def checkpoint(self, dataset: JobDataset) -> int:
        """Where this delivery resumes: how many records the dataset holds."""
        done: int = await self.conn.fetchval(
            "SELECT row_count FROM datasets WHERE id = $1", dataset.id
        )
        return done

    async def write(
        self,
        dataset: JobDataset,
        records: Sequence[CopyRow],
        *,
        at: int,
        progress: int | None = None,
        schema: Sequence[dict[str, Any]] | None = None,
    ) -> int:
        """Write `records`, which are those from position `at` on, and advance the checkpoint,
        in one transaction under the job's lock; returns the checkpoint after it. Records
        before the checkpoint found there (written by another delivery) are not written
        again. `progress`: the job's progress to record with it (default: the checkpoint);
        `schema`: the dataset's fields, if it has none yet."""
        conn = self.conn
        async with self.ctx.step(conn), conn.transaction():
            await self._lock()
            found: int = await conn.fetchval(
                "SELECT row_count FROM datasets WHERE id = $1", dataset.id
            )
            if found > at:
                # Another delivery of this job got further meanwhile: its records stand.
                log.warning("job.checkpoint_moved", job_id=str(self.id), expected=at, found=found)
            fresh = records[max(0, found - at) :]
            if fresh:
                await conn.copy_records_to_table(
                    partition_name(dataset.id),
                    records=fresh,
                    columns=COPY_COLUMNS,
                    schema_name=self.ctx.settings.database_schema,
                )
            done = max(found, at + len(records))
            await conn.execute(
                "UPDATE datasets SET row_count = $2, schema = COALESCE(schema, $3::jsonb) "
                "WHERE id = $1",
                dataset.id,
                done,
                None if schema is None else orjson.dumps(schema).decode(),
            )
            await conn.execute(
                "UPDATE jobs SET progress_done = $2, updated_at = now() WHERE id = $1",
                self.id,
                done if progress is None else progress,
            )
        return done

    async def set_total(self, total: int) -> None:
        """What progress counts up to (an estimate is fine: progress never shows 100% early).
        On a connection of its own, as `report`: the job's may be inside a long transaction."""
        async with self.ctx.connect() as conn, self.ctx.step(conn):
            await conn.execute("UPDATE jobs SET progress_total = $2 WHERE id = $1", self.id, total)

    async def set_schema(self, dataset: JobDataset, schema: Sequence[dict[str, Any]]) -> None:
        """Replace the dataset's schema (its fields and their types), once all are known."""
        await self.conn.execute(
            "UPDATE datasets SET schema = $2::jsonb WHERE id = $1",
            dataset.id,
            orjson.dumps(schema).decode(),
        )

    def report_due(self) -> bool:
        return time.monotonic() >= self._next_report

    async def report(self, done: int, *, force: bool = False) -> None:
        """Record progress (about once a second unless `force`d), and stop if the job was
        cancelled. On a connection of its own: the job's may be busy streaming."""
        if not (force or self.report_due()):
            return
        self._next_report = time.monotonic() + PROGRESS_EVERY_S
        async with self.ctx.connect() as conn, self.ctx.step(conn):
            status = await conn.fetchval(
                "UPDATE jobs SET progress_done = $2, updated_at = now() WHERE id = $1 "
                "RETURNING status",
                self.id,
                done,
            )
        if status is None or status == JobStatus.cancelled:
            raise JobCancelled(f"job {self.id} was cancelled")

    async def discard(self, dataset: JobDataset) -> None:
        """Delete the dataset and its records: a cancelled or failed job leaves nothing."""
        await partitions.empty(self.conn, dataset.id)
        await self.conn.execute("DELETE FROM datasets WHERE id = $1", dataset.id)
        await partitions.drop(self.conn, dataset.id)

    async def _lock(self) -> None:
        status = await self.conn.fetchval(
            "SELECT status FROM jobs WHERE id = $1 FOR UPDATE", self.id
        )
        if status is None or status == JobStatus.cancelled:
            raise JobCancelled(f"job {self.id} was cancelled")


class ChunkWriter:
    """Writes a job's chunks one at a time in the background, so the caller makes the next
    chunk while the last one is copied. `put` waits for the previous write (raising its
    error, if any), then starts this one and returns."""

    def __init__(self, job: RunningJob, dataset: JobDataset, *, at: int) -> None:
        self._job = job
        self._dataset = dataset
        self._writing: asyncio.Task[int] | None = None
        # The checkpoint as last written (or found): what the dataset holds.
        self.checkpoint = at

    async def put(
        self,
        records: Sequence[CopyRow],
        *,
        at: int,
        progress: int | None = None,
        schema: Sequence[dict[str, Any]] | None = None,
    ) -> None:
        await self.wait()
        self._writing = asyncio.create_task(
            self._job.write(self._dataset, records, at=at, progress=progress, schema=schema)
        )

    async def wait(self) -> int:
        """Wait for the write in flight; returns the checkpoint."""
        if self._writing is not None:
            writing, self._writing = self._writing, None
            self.checkpoint = await writing
        return self.checkpoint

    async def abort(self) -> BaseException | None:
        """Stop a write in flight (its transaction rolls back) before the connection goes;
        returns the error a write that had already ended with raised, if any."""
        writing, self._writing = self._writing, None
        if writing is None:
            return None
        if not writing.done():
            writing.cancel()
        (outcome,) = await asyncio.gather(writing, return_exceptions=True)
        return outcome if isinstance(outcome, BaseException) else None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[ChunkWriter]:
        """The writer, with any write still in flight stopped when the block is left early.
        A write that found the job cancelled wins over the error the block left with: the
        cancel (and its clean-up) must not be lost to a later failure."""
        try:
            yield self
        except BaseException as exc:
            found = await self.abort()
            if isinstance(found, JobCancelled):
                raise found from None
            if found is not None and found is not exc:
                log.warning("job.write_failed", job_id=str(self._job.id), error=repr(found))
            raise
        finally:
            await self.abort()
