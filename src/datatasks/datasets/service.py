"""Reading datasets for the API, and marking one for erasure. Raw SQL on the API's asyncpg
pool: a dataset's size and sample come from its partition, which the ORM does not map."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import orjson

from datatasks.core.cursor import decode_cursor, encode_cursor
from datatasks.core.errors import Conflict, NotFound, parse_path_id
from datatasks.datasets import partitions
from datatasks.datasets.erasure import EraseParams
from datatasks.datasets.profile import DatasetProfile, profile_rows
from datatasks.datasets.schemas import DatasetField, DatasetOut
from datatasks.exports.query import Select, json_object_column
from datatasks.jobs.writer import NewJob, Submitted, insert_jobs, outbox_channel, postgres_as_503
from datatasks.models import DatasetSource, DatasetState, JobStatus, JobType

_COLUMNS = """
    d.id, d.name, d.record_type, d.source, d.state, d.job_id, j.status AS job_status,
    d.schema::text AS schema, d.row_count, d.created_at, d.erase_job_id,
    coalesce(pg_total_relation_size(to_regclass('records_' || replace(d.id::text, '-', ''))), 0)
        AS bytes
"""


def parse_dataset_id(raw: str) -> uuid.UUID:
    return parse_path_id(raw, "dataset")


def _out(row: asyncpg.Record) -> DatasetOut:
    schema = orjson.loads(row["schema"]) if row["schema"] else []
    return DatasetOut(
        id=row["id"],
        name=row["name"],
        record_type=row["record_type"],
        source=DatasetSource(row["source"]),
        state=DatasetState(row["state"]),
        job_id=row["job_id"],
        job_status=row["job_status"],
        fields=[DatasetField(name=f["name"], type=f["type"]) for f in schema],
        rows=row["row_count"],
        bytes=row["bytes"],
        created_at=row["created_at"],
    )


async def list_datasets(
    pool: asyncpg.Pool,
    *,
    source: DatasetSource | None,
    record_type: str | None,
    name_prefix: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[DatasetOut], str | None]:
    """Newest first, keyset-paginated on (created_at, id); erased datasets are not listed."""
    where = ["d.state <> 'erased'"]
    args: list[Any] = []

    def bind(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if source is not None:
        where.append(f"d.source = {bind(source.value)}")
    if record_type is not None:
        where.append(f"d.record_type = {bind(record_type)}")
    if name_prefix is not None:
        # starts_with, not LIKE: a prefix holding % or _ means itself.
        where.append(f"starts_with(d.name, {bind(name_prefix)})")
    if cursor is not None:
        created_at, dataset_id = decode_cursor(cursor)
        where.append(f"(d.created_at, d.id) < ({bind(created_at)}, {bind(dataset_id)})")
    query = (
        f"SELECT {_COLUMNS} FROM datasets d LEFT JOIN jobs j ON j.id = d.job_id "  # noqa: S608
        f"WHERE {' AND '.join(where)} ORDER BY d.created_at DESC, d.id DESC LIMIT {bind(limit + 1)}"
    )
    with postgres_as_503():
        rows = await pool.fetch(query, *args)
    items = [_out(r) for r in rows[:limit]]
    if len(rows) > limit:
        return items, encode_cursor(items[-1].created_at, items[-1].id)
    return items, None


async def get_dataset(pool: asyncpg.Pool, dataset_id: uuid.UUID, *, sample: int = 0) -> DatasetOut:
    """The dataset (404 if unknown or erased, 409 while being erased), with its first
    `sample` records."""
    with postgres_as_503():
        async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
            if sample and await partitions.lock_for_reading(conn, dataset_id) is None:
                raise NotFound(f"no dataset with id {str(dataset_id)!r}")
            row = await conn.fetchrow(
                f"SELECT {_COLUMNS} FROM datasets d LEFT JOIN jobs j ON j.id = d.job_id "  # noqa: S608
                "WHERE d.id = $1",
                dataset_id,
            )
            _check_readable(dataset_id, row)
            dataset = _out(row)
            if sample:
                dataset.sample = await _sample(conn, dataset, sample)
    return dataset


async def _sample(conn: asyncpg.Connection, dataset: DatasetOut, n: int) -> list[dict[str, Any]]:
    """The first `n` records as a JSON export writes them: fields in the schema's order, an
    upload's values as their columns' types."""
    select = Select()
    if dataset.fields:
        names = [f.name for f in dataset.fields]
        column = json_object_column(select, names, types={f.name: f.type for f in dataset.fields})
    else:
        column = "data::text"
    query = (
        f"SELECT {column} FROM {partitions.table(dataset.id)} "  # noqa: S608
        f"ORDER BY id LIMIT {select.bind(n)}"
    )
    return [orjson.loads(row[0]) for row in await conn.fetch(query, *select.args)]


def _check_readable(dataset_id: uuid.UUID, row: asyncpg.Record | None) -> None:
    if row is None or row["state"] == DatasetState.erased:
        raise NotFound(f"no dataset with id {str(dataset_id)!r}")
    if row["state"] == DatasetState.erasing:
        raise Conflict(
            f"dataset {dataset_id} is being erased (job {row['erase_job_id']})",
            erase_job_id=str(row["erase_job_id"]),
        )


async def mark_for_erasure(
    pool: asyncpg.Pool, dataset_id: uuid.UUID, *, schema: str, request_id: str | None
) -> Submitted:
    """Mark the dataset `erasing` and queue its erase job, in one transaction; a dataset
    already being erased (or erased) answers with the job that does (did) it."""
    with postgres_as_503():
        async with pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT d.state, d.erase_job_id, e.status AS erase_status, j.id AS job_id, "
                "j.status AS job_status FROM datasets d LEFT JOIN jobs j ON j.id = d.job_id "
                "LEFT JOIN jobs e ON e.id = d.erase_job_id WHERE d.id = $1 FOR UPDATE OF d",
                dataset_id,
            )
            if row is None:
                raise NotFound(f"no dataset with id {str(dataset_id)!r}")
            if row["state"] != DatasetState.active and row["erase_job_id"] is not None:
                status = JobStatus(row["erase_status"] or JobStatus.completed)
                return Submitted(row["erase_job_id"], status, replayed=True)
            if row["job_status"] in (JobStatus.pending, JobStatus.in_progress):
                raise Conflict(
                    f"dataset {dataset_id} is still being made by job {row['job_id']} "
                    f"({row['job_status']}); cancel that job (POST /jobs/{row['job_id']}/cancel)"
                    " - which removes what it wrote - or erase the dataset once it has ended",
                    job_id=str(row["job_id"]),
                )
            job = NewJob(
                JobType.erase,
                EraseParams(dataset_id=dataset_id).model_dump_json(),
                total=0,
                request_id=request_id,
            )
            await insert_jobs(conn, [job], outbox_channel(schema))
            await conn.execute(
                "UPDATE datasets SET state = 'erasing', erase_job_id = $2 WHERE id = $1",
                dataset_id,
                job.id,
            )
    return Submitted(job.id, JobStatus.pending, replayed=False)


# A profile looks at a uniform sample of at most this many records (about a second's work).
PROFILE_SAMPLE = 50_000


async def profile(pool: asyncpg.Pool, dataset_id: uuid.UUID) -> DatasetProfile:
    """The dataset's profile, computed from a sample on first asking and kept: a complete
    dataset does not change. 409 while its job is still making it."""
    with postgres_as_503():
        async with pool.acquire() as conn:
            async with conn.transaction(isolation="repeatable_read"):
                await partitions.lock_for_reading(conn, dataset_id)
                row = await conn.fetchrow(
                    f"SELECT {_COLUMNS}, d.profile::text AS profile FROM datasets d "  # noqa: S608
                    "LEFT JOIN jobs j ON j.id = d.job_id WHERE d.id = $1",
                    dataset_id,
                )
                _check_readable(dataset_id, row)
                if row["job_status"] not in (None, JobStatus.completed):
                    raise Conflict(
                        f"dataset {dataset_id} is still being made (job {row['job_id']} is "
                        f"{row['job_status']}); profile it once that job has completed"
                    )
                if row["profile"] is not None:
                    return DatasetProfile.model_validate_json(row["profile"])
                dataset = _out(row)
                share = min(100.0, PROFILE_SAMPLE / max(dataset.rows, 1) * 100)
                # BERNOULLI picks rows independently (SYSTEM would pick whole pages);
                # REPEATABLE makes the same sample, so the same profile, every time.
                sampled = f"TABLESAMPLE BERNOULLI ({share}) REPEATABLE (0)" if share < 100 else ""
                texts = await conn.fetch(
                    f"SELECT data::text FROM {partitions.table(dataset_id)} {sampled} "  # noqa: S608
                    f"LIMIT {PROFILE_SAMPLE}"
                )
            found = await asyncio.to_thread(_profile, dataset, [t[0] for t in texts])
            await conn.execute(
                "UPDATE datasets SET profile = $2::jsonb WHERE id = $1 AND state = 'active'",
                dataset_id,
                found.model_dump_json(),
            )
    return found


def _profile(dataset: DatasetOut, texts: list[str]) -> DatasetProfile:
    return profile_rows(
        (orjson.loads(t) for t in texts),
        fields=[f.name for f in dataset.fields],
        types={f.name: f.type for f in dataset.fields},
        total_rows=dataset.rows,
    )
