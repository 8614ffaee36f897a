"""Group commit for new jobs: concurrent requests share one INSERT and one COMMIT.

A request hands its job to the writer and waits for that job's commit. While a flush is in
flight, the jobs that arrive meanwhile gather; the next flush writes all of them in a single
statement - the job rows and their outbox entries, and a NOTIFY that wakes the dispatchers -
which Postgres commits as one transaction. At one request at a time a flush is one round
trip; under load, the cost of a commit is shared by everyone who arrived during the last one.

An Idempotency-Key conflict is settled per job, never per batch: a key already taken is not
an error for its batch-mates (ON CONFLICT DO NOTHING), and its request gets the original job,
or a 422 when the payloads differ.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import asyncpg
import orjson
import structlog

from datatasks.core.config import QueueName
from datatasks.core.db import is_postgres_outage
from datatasks.core.errors import DataTasksError, DependencyUnavailable, InvalidParameters
from datatasks.core.metrics import job_event
from datatasks.jobs.idempotency import IdempotencyKey
from datatasks.models import DatasetState, JobStatus, JobType

QUEUE_OF: dict[JobType, QueueName] = {
    JobType.generate: QueueName.generation,
    JobType.ingest: QueueName.ingest,
    JobType.export: QueueName.export,
    JobType.erase: QueueName.erasure,
}


def outbox_channel(schema: str) -> str:
    """The NOTIFY channel of a schema's outbox (each schema - each test run - has its own)."""
    return f"{schema}_outbox"


@dataclass(frozen=True, slots=True)
class DatasetFields:
    """A dataset's job status (None when its job is gone), field names and size, and whether
    it is being erased."""

    status: str | None
    names: list[str]
    rows: int
    erasing: bool = False


@dataclass(frozen=True, slots=True)
class NewJob:
    job_type: JobType
    params: str  # JSON text, as stored
    total: int
    idempotency: IdempotencyKey | None = None
    request_id: str | None = None
    # Told when the job ends (a webhook).
    callback_url: str | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass(frozen=True, slots=True)
class Submitted:
    job_id: uuid.UUID
    status: JobStatus
    # True when an Idempotency-Key matched an earlier request: nothing new was created.
    replayed: bool


# Requests waiting for their job's commit.
_Batch = list[tuple[NewJob, "asyncio.Future[Submitted]"]]


# One statement, so one implicit transaction and one round trip: the rows, their outbox
# entries, and the dispatchers' wake-up (delivered at commit). Rows whose key is taken are
# left out by ON CONFLICT, and the outbox only takes the rows actually inserted.
_INSERT = """
WITH new AS (
    INSERT INTO jobs (id, type, params, progress_total, idempotency_key, idempotency_fingerprint,
                      callback_url)
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::bigint[], $5::text[],
                         $6::text[], $10::text[])
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id
), queued AS (
    INSERT INTO job_outbox (job_id, queue, request_id)
    SELECT q.id, q.queue, q.request_id
    FROM unnest($1::uuid[], $7::text[], $8::text[]) AS q(id, queue, request_id)
    JOIN new USING (id)
)
SELECT coalesce(array_agg(id), '{}') AS inserted,
       CASE WHEN count(*) > 0 THEN pg_notify($9, '') END AS notified
FROM new
"""

_ORIGINALS = """
SELECT id, status, idempotency_key, idempotency_fingerprint,
       created_at <= now() - $2::interval AS expired
FROM jobs WHERE idempotency_key = ANY($1::text[])
"""


class JobWriter:
    """Writes new jobs for one API process, `max_flushes` batches at a time at most."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        schema: str,
        idempotency_ttl_s: int,
        max_flushes: int = 2,
        max_batch: int = 512,
        acquire_timeout_s: float = 2.0,
    ) -> None:
        self._pool = pool
        self._acquire_timeout_s = acquire_timeout_s
        self._channel = outbox_channel(schema)
        self._ttl = timedelta(seconds=idempotency_ttl_s)
        self._max_flushes = max_flushes
        self._max_batch = max_batch
        self._waiting: _Batch = []
        self._flushes: set[asyncio.Task[None]] = set()

    async def submit(self, job: NewJob, *, refusal: DataTasksError | None = None) -> Submitted:
        """Commit `job` (or find the original of its Idempotency-Key); returns once durable.

        With a `refusal` (its queue is full: Backlog.refusal), nothing new is written: a repeat
        of an earlier request still gets its original job, anything else gets the refusal."""
        if refusal is not None:
            if job.idempotency is None or (found := await self._original(job.idempotency)) is None:
                raise refusal
            submitted = found
        else:
            future: asyncio.Future[Submitted] = asyncio.get_running_loop().create_future()
            self._waiting.append((job, future))
            if len(self._flushes) < self._max_flushes:
                task = asyncio.create_task(self._flush_while_waiting())
                self._flushes.add(task)
                task.add_done_callback(self._flushes.discard)
            submitted = await future
            if not submitted.replayed:
                job_event(job.job_type.value, "accepted")
        # For the rest of the request: the access log line names the job it created.
        structlog.contextvars.bind_contextvars(job_id=str(submitted.job_id))
        return submitted

    async def dataset_state(self, dataset_id: uuid.UUID) -> DatasetState | None:
        """For requests that name a dataset: one indexed lookup on the writer's pool. None:
        there is no such dataset (or it was erased)."""
        with postgres_as_503():
            state: str | None = await self._pool.fetchval(
                "SELECT state FROM datasets WHERE id = $1", dataset_id
            )
        return None if state in (None, DatasetState.erased) else DatasetState(state)

    async def dataset_fields(self, dataset_id: uuid.UUID) -> DatasetFields | None:
        """What a request that draws from a dataset needs to know of it; None if there is no
        such dataset."""
        with postgres_as_503():
            row = await self._pool.fetchrow(
                "SELECT d.schema, d.row_count, d.state, j.status"
                " FROM datasets d LEFT JOIN jobs j ON j.id = d.job_id WHERE d.id = $1",
                dataset_id,
            )
        if row is None or row["state"] == DatasetState.erased:
            return None
        schema = orjson.loads(row["schema"]) if row["schema"] else []
        names = [entry["name"] for entry in schema if isinstance(entry, dict) and "name" in entry]
        erasing = row["state"] == DatasetState.erasing
        return DatasetFields(row["status"], names, row["row_count"], erasing)

    async def _original(self, key: IdempotencyKey) -> Submitted | None:
        with postgres_as_503():
            row = await self._pool.fetchrow(_ORIGINALS, [key.key], self._ttl)
        if row is None or row["expired"]:
            return None
        if row["idempotency_fingerprint"] != key.fingerprint:
            raise reused_key()
        return Submitted(row["id"], JobStatus(row["status"]), replayed=True)

    async def close(self) -> None:
        """Let flushes in flight finish (their requests are waiting on them)."""
        if self._flushes:
            await asyncio.gather(*self._flushes, return_exceptions=True)

    async def _flush_while_waiting(self) -> None:
        """Write batches while requests wait, on one connection; each batch's requests are
        answered as soon as it is committed (before the connection goes back to the pool)."""
        try:
            await self._flush()
        finally:
            # At once, not in a done-callback a loop turn later: a submit in between would see
            # this flush still counted and start none, and wait for the next request's.
            self._flushes.discard(asyncio.current_task())

    async def _flush(self) -> None:
        while self._waiting:
            batch: _Batch | None = None  # None: no connection yet
            try:
                async with self._pool.acquire(timeout=self._acquire_timeout_s) as conn:
                    while self._waiting:
                        batch = self._take()
                        _deliver(batch, await self._write(conn, batch))
                        batch = []
            except BaseException as exc:
                # The batch being written, or, when no connection could be had, the requests
                # that were waiting for one. (After a delivered batch there is no one to tell.)
                _fail(self._take() if batch is None else batch, as_outage(exc))
                if not isinstance(exc, Exception):
                    raise

    def _take(self) -> _Batch:
        batch, self._waiting = (
            self._waiting[: self._max_batch],
            self._waiting[self._max_batch :],
        )
        return batch

    async def _write(self, conn: asyncpg.Connection, batch: _Batch) -> list[Submitted | Exception]:
        jobs = [job for job, _ in batch]
        outcomes: dict[uuid.UUID, Submitted | Exception] = {}
        todo = jobs
        # A second round only for keys whose original had expired (freed in between).
        for round_ in range(2):
            inserted = await insert_jobs(conn, todo, self._channel)
            left_out = []
            for job in todo:
                if job.id in inserted:
                    outcomes[job.id] = Submitted(job.id, JobStatus.pending, replayed=False)
                else:
                    left_out.append(job)
            if not left_out:
                break
            todo = await self._settle(conn, left_out, outcomes, free_expired=round_ == 0)
            if not todo:
                break
        for job in jobs:
            # Taken and freed again by concurrent requests in between: rare, and retryable.
            outcomes.setdefault(
                job.id,
                DependencyUnavailable(
                    "a concurrent request with this Idempotency-Key is being written; retry",
                    retry_after_s=1,
                ),
            )
        return [outcomes[job.id] for job in jobs]

    async def _settle(
        self,
        conn: asyncpg.Connection,
        jobs: list[NewJob],
        outcomes: dict[uuid.UUID, Submitted | Exception],
        *,
        free_expired: bool,
    ) -> list[NewJob]:
        """Settle jobs whose Idempotency-Key was taken: the original job, or a 422 for another
        payload. Returns those to write again: a key freed meanwhile, or (with `free_expired`)
        one whose job is past the key's lifetime, which is freed here."""
        keys = [j.idempotency.key for j in jobs if j.idempotency is not None]
        found = {r["idempotency_key"]: r for r in await conn.fetch(_ORIGINALS, keys, self._ttl)}
        again: list[NewJob] = []
        for job in jobs:
            assert job.idempotency is not None  # only a keyed job can be left out
            original = found.get(job.idempotency.key)
            if original is None or (original["expired"] and free_expired):
                again.append(job)
            elif original["idempotency_fingerprint"] != job.idempotency.fingerprint:
                outcomes[job.id] = reused_key()
            else:
                status = JobStatus(original["status"])
                outcomes[job.id] = Submitted(original["id"], status, replayed=True)
        if again and free_expired:
            await conn.execute(
                "UPDATE jobs SET idempotency_key = NULL WHERE idempotency_key = ANY($1::text[]) "
                "AND created_at <= now() - $2::interval",
                [j.idempotency.key for j in again if j.idempotency is not None],
                self._ttl,
            )
        return again


async def insert_jobs(conn: asyncpg.Connection, jobs: list[NewJob], channel: str) -> set[uuid.UUID]:
    """Insert `jobs` with their outbox entries and wake the dispatchers at commit, in one
    statement (in the caller's transaction, if it has one). Returns the ids inserted: a job
    whose Idempotency-Key is taken is left out."""
    row = await conn.fetchrow(
        _INSERT,
        [j.id for j in jobs],
        [j.job_type.value for j in jobs],
        [j.params for j in jobs],
        [j.total for j in jobs],
        [j.idempotency.key if j.idempotency else None for j in jobs],
        [j.idempotency.fingerprint if j.idempotency else None for j in jobs],
        [QUEUE_OF[j.job_type].value for j in jobs],
        [j.request_id for j in jobs],
        channel,
        [j.callback_url for j in jobs],
    )
    return set(row["inserted"])


def _deliver(batch: _Batch, outcomes: list[Submitted | Exception]) -> None:
    for (_, future), outcome in zip(batch, outcomes, strict=True):
        if future.done():  # its request went away
            continue
        if isinstance(outcome, Exception):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


def _fail(batch: _Batch, error: BaseException) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(error)


def as_outage(exc: BaseException) -> BaseException:
    """Postgres away or restarting (a refused connect, an admin shutdown, "not yet accepting
    connections", a timeout) is a 503 the client may retry, not a 500."""
    if is_postgres_outage(exc):
        outage = DependencyUnavailable("the database is unavailable")
        outage.__cause__ = exc
        return outage
    return exc


@contextmanager
def postgres_as_503() -> Iterator[None]:
    """Around a request's Postgres calls: an outage is raised as the 503 of `as_outage`."""
    try:
        yield
    except Exception as exc:
        if (outage := as_outage(exc)) is not exc:
            raise outage from exc
        raise


def reused_key() -> DataTasksError:
    return InvalidParameters(
        ["header", "Idempotency-Key"],
        "this key was already used with a different payload",
        kind="idempotency_key_reused",
    )
