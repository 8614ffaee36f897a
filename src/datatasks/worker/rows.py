"""Row-level helpers that task handlers share: their parameters and their dataset."""

from __future__ import annotations

import uuid
from typing import TypeVar

import asyncpg
from pydantic import BaseModel, ValidationError

from datatasks.core.errors import JobFailed
from datatasks.models import DatasetSource

P = TypeVar("P", bound=BaseModel)


async def load_params(conn: asyncpg.Connection, job_id: uuid.UUID, model: type[P]) -> P:
    """The job's stored parameters; ones a handler cannot use fail the job without retries."""
    raw = await conn.fetchval("SELECT params FROM jobs WHERE id = $1", job_id)
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise JobFailed(f"unusable job parameters ({model.__name__}): {exc}") from exc


async def ensure_dataset(
    conn: asyncpg.Connection,
    job_id: uuid.UUID,
    *,
    name: str | None,
    record_type: str,
    source: DatasetSource,
    schema: str | None = None,
) -> uuid.UUID:
    """The job's dataset, created on the first attempt and found again on later ones (one
    dataset per job: `datasets.job_id` is unique)."""
    dataset_id: uuid.UUID = await conn.fetchval(
        """
        INSERT INTO datasets (id, job_id, name, record_type, source, schema)
        VALUES ($1, $2, $3, $4, $5, $6::jsonb)
        ON CONFLICT (job_id) DO UPDATE SET job_id = EXCLUDED.job_id
        RETURNING id
        """,
        uuid.uuid4(),
        job_id,
        name,
        record_type,
        source.value,
        schema,
    )
    return dataset_id


async def remove_dataset(conn: asyncpg.Connection, dataset_id: uuid.UUID) -> None:
    """Delete a dataset and its records (a cancelled job's partial output, a failed ingest's)."""
    async with conn.transaction():
        await conn.execute("DELETE FROM records WHERE dataset_id = $1", dataset_id)
        await conn.execute("DELETE FROM datasets WHERE id = $1", dataset_id)
