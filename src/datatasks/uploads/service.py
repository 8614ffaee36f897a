"""Accepting a stored upload: its row, its ingest job and the job's outbox entry in one
transaction, and what becomes of the stored file decided here, in one place.

The route streams the file into storage first, then calls `accept`. The file:

- stays when the transaction commits: the upload row names it, the ingest job reads it;
- is deleted when the request repeats an earlier one (its Idempotency-Key, with the same file
  and fields: the original upload is the answer) or reuses a key for something else (422);
- is deleted when anything fails before the COMMIT is sent: the transaction rolls back, so
  nothing names the file;
- when the COMMIT itself fails (the connection lost as it went), is deleted only once the upload
  row is known to be absent. When that cannot be known (Postgres still away), the file is kept
  and the log says so: a stray file is better than an accepted upload without one.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import timedelta

import asyncpg
import orjson
import structlog

from datatasks.core.config import Settings
from datatasks.core.errors import DependencyUnavailable, NotFound
from datatasks.jobs.idempotency import IdempotencyKey
from datatasks.jobs.writer import (
    NewJob,
    Submitted,
    insert_jobs,
    outbox_channel,
    postgres_as_503,
    reused_key,
)
from datatasks.models import JobStatus, JobType
from datatasks.storage import Storage
from datatasks.uploads.schemas import IngestParams

log = structlog.stdlib.get_logger("datatasks.uploads")


@dataclass(frozen=True, slots=True)
class StoredUpload:
    """A file the route has stored, and what the client said of it."""

    id: uuid.UUID
    key: str
    filename: str | None
    size: int
    sha256: str
    params: IngestParams


@dataclass(frozen=True, slots=True)
class Accepted:
    job: Submitted
    upload_id: uuid.UUID
    size: int
    sha256: str
    params: IngestParams


_ORIGINAL = """
SELECT j.id, j.status, j.params, j.idempotency_fingerprint,
       j.created_at <= now() - $2::interval AS expired, u.id AS upload_id, u.size, u.sha256
FROM jobs j LEFT JOIN uploads u ON u.id = (j.params->>'upload_id')::uuid
WHERE j.idempotency_key = $1
"""


async def accept(
    pool: asyncpg.Pool,
    settings: Settings,
    storage: Storage,
    upload: StoredUpload,
    *,
    idempotency: IdempotencyKey | None,
    request_id: str | None,
) -> Accepted:
    """Record `upload` and queue its ingest, or answer with the original of its key."""
    with postgres_as_503():
        try:
            conn = await pool.acquire()
        except BaseException:
            await _delete(storage, upload)  # nothing was written
            raise
        try:
            return await _accept(pool, conn, settings, storage, upload, idempotency, request_id)
        finally:
            await pool.release(conn)


async def _accept(
    pool: asyncpg.Pool,
    conn: asyncpg.Connection,
    settings: Settings,
    storage: Storage,
    upload: StoredUpload,
    idempotency: IdempotencyKey | None,
    request_id: str | None,
) -> Accepted:
    ttl = timedelta(seconds=settings.idempotency_ttl_s)
    transaction = conn.transaction()
    try:
        await transaction.start()
        if idempotency is not None and (earlier := await _original(conn, idempotency, ttl)):
            await transaction.rollback()
            await _delete(storage, upload)  # the original upload is the answer
            return earlier
        job = NewJob(
            JobType.ingest,
            orjson.dumps(upload.params.model_dump(mode="json")).decode(),
            total=upload.size,
            idempotency=idempotency,
            request_id=request_id,
        )
        await conn.execute(
            "INSERT INTO uploads (id, original_filename, content_type, size, sha256, storage_key)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            upload.id,
            upload.filename,
            upload.params.format.value,
            upload.size,
            upload.sha256,
            upload.key,
        )
        inserted = await insert_jobs(conn, [job], outbox_channel(settings.database_schema))
    except BaseException:
        await _roll_back(transaction)
        await _delete(storage, upload)
        raise
    if not inserted:
        # The same key in a request committed a moment ago: that one is the answer.
        await transaction.rollback()
        await _delete(storage, upload)
        assert idempotency is not None  # only a keyed job can be left out
        if (earlier := await _original(conn, idempotency, ttl)) is None:
            raise DependencyUnavailable(
                "a concurrent request with this Idempotency-Key is being written; retry",
                retry_after_s=1,
            )
        return earlier
    try:
        await transaction.commit()
    except BaseException:
        await _after_a_failed_commit(pool, storage, upload)
        raise
    structlog.contextvars.bind_contextvars(job_id=str(job.id))
    return Accepted(
        Submitted(job.id, JobStatus.pending, replayed=False),
        upload.id,
        upload.size,
        upload.sha256,
        upload.params,
    )


async def _original(
    conn: asyncpg.Connection, key: IdempotencyKey, ttl: timedelta
) -> Accepted | None:
    """The upload an earlier request with this key made; None when there is none (a key past
    its lifetime is freed here, in the caller's transaction)."""
    row = await conn.fetchrow(_ORIGINAL, key.key, ttl)
    if row is None:
        return None
    if row["expired"]:
        await conn.execute("UPDATE jobs SET idempotency_key = NULL WHERE id = $1", row["id"])
        return None
    if row["idempotency_fingerprint"] != key.fingerprint:
        raise reused_key()
    if row["upload_id"] is None:
        raise NotFound(f"the upload of job {row['id']} is gone")
    structlog.contextvars.bind_contextvars(job_id=str(row["id"]))
    return Accepted(
        Submitted(row["id"], JobStatus(row["status"]), replayed=True),
        row["upload_id"],
        row["size"],
        row["sha256"],
        IngestParams.model_validate_json(row["params"]),
    )


async def _after_a_failed_commit(
    pool: asyncpg.Pool, storage: Storage, upload: StoredUpload
) -> None:
    """Whether the transaction committed is not known: ask on another connection (this one
    may be gone), and delete the file only on a definite no."""
    try:
        async with asyncio.timeout(5):
            recorded = await pool.fetchval(
                "SELECT EXISTS (SELECT 1 FROM uploads WHERE id = $1)", upload.id
            )
    except Exception as exc:
        log.error(
            "upload.outcome_unknown",
            upload_id=str(upload.id),
            key=upload.key,
            error=repr(exc),
            detail="the commit failed and Postgres cannot say whether it happened: file kept",
        )
        return
    if not recorded:
        await _delete(storage, upload)


async def _roll_back(transaction: asyncpg.transaction.Transaction) -> None:
    try:
        await transaction.rollback()
    except Exception as exc:
        # The connection is gone: the server rolls the transaction back itself.
        log.debug("upload.rollback_failed", error=repr(exc))


async def _delete(storage: Storage, upload: StoredUpload) -> None:
    await asyncio.shield(storage.delete(upload.key))
