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
from datatasks.core.metrics import job_event
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
    callback_url: str | None = None


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
    fate = _Fate()
    try:
        with postgres_as_503():
            # Bounded: uploads share the API's small pool with the enqueue path.
            conn = await pool.acquire(timeout=settings.dependency_timeout_s)
            try:
                return await _accept(pool, conn, settings, upload, idempotency, request_id, fate)
            finally:
                await pool.release(conn)
    except BaseException:
        if fate.keep is None:  # no connection, or it failed before its first statement
            fate.keep = False
        raise
    finally:
        # After the connection went back: deleting from S3 can take a while.
        if fate.keep is False:
            await _delete(storage, upload)


@dataclass(slots=True)
class _Fate:
    """What becomes of the stored file: kept (True), deleted (False), or not decided yet."""

    keep: bool | None = None


async def _accept(
    pool: asyncpg.Pool,
    conn: asyncpg.Connection,
    settings: Settings,
    upload: StoredUpload,
    idempotency: IdempotencyKey | None,
    request_id: str | None,
    fate: _Fate,
) -> Accepted:
    ttl = timedelta(seconds=settings.idempotency_ttl_s)
    transaction = conn.transaction()
    try:
        await transaction.start()
        if idempotency is not None and (earlier := await _original(conn, idempotency, ttl)):
            fate.keep = False  # the original upload is the answer
            await _roll_back(transaction)
            return earlier
        job = NewJob(
            JobType.ingest,
            orjson.dumps(upload.params.model_dump(mode="json")).decode(),
            total=upload.size,
            idempotency=idempotency,
            request_id=request_id,
            callback_url=upload.callback_url,
        )
        # The transaction's id: after a failed COMMIT, Postgres can say what became of it.
        xid: str = await conn.fetchval(
            "INSERT INTO uploads (id, original_filename, content_type, size, sha256, storage_key)"
            " VALUES ($1, $2, $3, $4, $5, $6) RETURNING pg_current_xact_id()::text",
            upload.id,
            upload.filename,
            upload.params.format.value,
            upload.size,
            upload.sha256,
            upload.key,
        )
        inserted = await insert_jobs(conn, [job], outbox_channel(settings.database_schema))
    except BaseException:
        fate.keep = False  # rolled back: nothing names the file
        await _roll_back(transaction)
        raise
    if not inserted:
        # The same key in a request committed a moment ago: that one is the answer.
        fate.keep = False
        await _roll_back(transaction)
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
        fate.keep = not await _aborted(pool, upload, xid)
        raise
    fate.keep = True
    job_event(JobType.ingest.value, "accepted")
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


async def _aborted(pool: asyncpg.Pool, upload: StoredUpload, xid: str) -> bool:
    """After a failed COMMIT, whether the transaction is known to have aborted. A COMMIT that
    timed out may still land: only Postgres's own record of the transaction says (asked on
    another connection; this one may be gone). Anything but "aborted" keeps the file."""
    try:
        async with asyncio.timeout(5):
            status = await pool.fetchval("SELECT pg_xact_status($1::text::xid8)", xid)
    except Exception as exc:
        status = f"unknown ({exc!r})"
    if status == "aborted":
        return True
    log.error(
        "upload.outcome_unknown",
        upload_id=str(upload.id),
        key=upload.key,
        transaction=status,
        detail="the commit failed, and may yet have happened: the file is kept",
    )
    return False


async def _roll_back(transaction: asyncpg.transaction.Transaction) -> None:
    try:
        await transaction.rollback()
    except Exception as exc:
        # The connection is gone: the server rolls the transaction back itself.
        log.debug("upload.rollback_failed", error=repr(exc))


async def _delete(storage: Storage, upload: StoredUpload) -> None:
    """Delete this request's copy; a failure is logged, never put in place of the answer."""
    try:
        await asyncio.shield(storage.delete(upload.key))
    except Exception:
        log.exception("upload.delete_failed", upload_id=str(upload.id), key=upload.key)
