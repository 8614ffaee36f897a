"""The erase job: remove every copy of a dataset's data, and say so in the audit log.

DELETE /datasets/{id} marks the dataset `erasing` and queues this job in one transaction; from
then on no reader starts on it (see partitions.py). The job then, each step idempotent so a
retry after a crash finishes the work:

1. empties the dataset's partition (TRUNCATE: the space is back at once), after the exports
   already reading it have finished reading;
2. deletes its upload's original file and rejects file, and scrubs the rejected rows the
   ingest job's result quotes;
3. deletes the file of every export that holds its rows, once that export has ended, and
   marks the export's result `erased` (its links then answer 410);
4. drops the partition, and marks the dataset `erased`: a tombstone with no data.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import orjson
import structlog
from pydantic import BaseModel

from datatasks.core.errors import JobFailed
from datatasks.core.logging import AUDIT_LOGGER
from datatasks.datasets import partitions
from datatasks.exports.locations import export_key
from datatasks.exports.schemas import ExportRequest
from datatasks.jobs.execution import RunningJob, TaskContext
from datatasks.jobs.results import EraseResult
from datatasks.models import DatasetState, JobType
from datatasks.uploads.locations import original_key, rejects_key

audit = structlog.stdlib.get_logger(AUDIT_LOGGER)

# How often the job looks again at exports still writing a file with the dataset's rows.
EXPORT_POLL_S = 0.2


class EraseParams(BaseModel):
    dataset_id: uuid.UUID


async def run_erase(ctx: TaskContext, job_id: uuid.UUID) -> dict[str, Any]:
    async with RunningJob.open(ctx, job_id) as job:
        params = await job.params(EraseParams)
        return await _erase(ctx, job, params.dataset_id)


async def _erase(ctx: TaskContext, job: RunningJob, dataset_id: uuid.UUID) -> dict[str, Any]:
    conn = job.conn
    dataset = await conn.fetchrow(
        "SELECT d.state, d.row_count, d.job_id, j.type AS job_type, j.params AS job_params "
        "FROM datasets d LEFT JOIN jobs j ON j.id = d.job_id WHERE d.id = $1",
        dataset_id,
    )
    if dataset is None or dataset["state"] == DatasetState.active:
        raise JobFailed(f"dataset {dataset_id} is not marked for erasure")
    size: int = await conn.fetchval(
        "SELECT coalesce(pg_total_relation_size(to_regclass($1)), 0)",
        partitions.table(dataset_id),
    )
    rows = await partitions.empty(conn, dataset_id)
    # A retry after the records were emptied: the count was recorded by the first attempt.
    rows = rows or dataset["row_count"]
    await conn.execute("UPDATE datasets SET row_count = $2 WHERE id = $1", dataset_id, rows)
    files = await _erase_upload(ctx, conn, dataset)
    exports = await _erase_exports(ctx, job, dataset_id)
    files += len(exports)
    await partitions.drop(conn, dataset_id)
    await partitions.sweep(conn)
    await conn.execute(
        "UPDATE datasets SET state = 'erased', erased_at = coalesce(erased_at, now()), "
        "profile = NULL WHERE id = $1",
        dataset_id,
    )
    audit.info(
        "dataset.erased",
        dataset_id=str(dataset_id),
        made_by=str(dataset["job_id"]) if dataset["job_id"] else None,
        rows=rows,
        bytes=size,
        files=files,
        exports=[str(e) for e in exports],
    )
    return EraseResult(
        dataset_id=dataset_id, rows=rows, bytes=size, files=files, exports=exports
    ).model_dump(mode="json")


async def _erase_upload(ctx: TaskContext, conn: asyncpg.Connection, dataset: asyncpg.Record) -> int:
    """An uploaded dataset's original file and rejects file, its upload row, and the rejected
    rows its ingest job's result quotes. Returns how many files there were."""
    if dataset["job_type"] != JobType.ingest:
        return 0
    upload_id = uuid.UUID(orjson.loads(dataset["job_params"])["upload_id"])
    files = 0
    for key in (original_key(upload_id), rejects_key(upload_id)):
        if await ctx.storage.stat(key) is not None:
            files += 1
        await ctx.storage.delete(key)
    await conn.execute("DELETE FROM uploads WHERE id = $1", upload_id)
    await conn.execute(
        'UPDATE jobs SET result = result || \'{"rejected_sample": [], "rejects_url": null, '
        '"rejects_expires_at": null}\'::jsonb WHERE id = $1 AND result IS NOT NULL',
        dataset["job_id"],
    )
    return files


async def _erase_exports(
    ctx: TaskContext, job: RunningJob, dataset_id: uuid.UUID
) -> list[uuid.UUID]:
    """Delete the files of the exports that read the dataset's rows, as each ends (one still
    running may be reading other datasets). Returns those whose file was deleted."""
    conn = job.conn
    erased: list[uuid.UUID] = []
    while True:
        found = await conn.fetch(
            "SELECT j.id, j.status, j.params, j.result IS NOT NULL AS has_file "
            "FROM export_datasets e JOIN jobs j ON j.id = e.export_job_id "
            "WHERE e.dataset_id = $1",
            dataset_id,
        )
        running = [r for r in found if r["status"] in ("pending", "in_progress")]
        for row in found:
            if row in running or row["id"] in erased:
                continue
            if row["has_file"]:
                params = ExportRequest.model_validate_json(row["params"])
                await ctx.storage.delete(export_key(row["id"], params.download_name(row["id"])))
                await conn.execute(
                    """
                    UPDATE jobs SET result = result || jsonb_build_object('erased',
                        jsonb_build_object(
                            'at', coalesce(result #> '{erased,at}', to_jsonb(now())),
                            'datasets', coalesce(result #> '{erased,datasets}', '[]'::jsonb)
                                || to_jsonb($2::text)))
                    WHERE id = $1
                      AND NOT coalesce(result #> '{erased,datasets}', '[]'::jsonb) ? $2::text
                    """,
                    row["id"],
                    str(dataset_id),
                )
                erased.append(row["id"])
            # An export that ended without a file needs nothing; either way it is settled.
            await conn.execute(
                "DELETE FROM export_datasets WHERE dataset_id = $1 AND export_job_id = $2",
                dataset_id,
                row["id"],
            )
        if not running:
            return erased
        await job.report(0)
        await asyncio.sleep(EXPORT_POLL_S)
