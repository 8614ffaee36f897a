"""The generation job: make the records chunk by chunk and COPY them in, resumably.

Each chunk is written in one transaction with the job's checkpoint (`progress_done`), under a
row lock on the job. A re-delivered job resumes at the checkpoint, and two deliveries running at
once cannot both write a chunk: the second sees the checkpoint moved and continues from there.
Records are a pure function of (fields, seed, record index), so resuming writes the same rows
a single run would have.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson
import structlog

from datatasks.core.errors import JobCancelled, JobFailed
from datatasks.generation.fields import FieldSpec
from datatasks.generation.generator import generate_json_rows
from datatasks.generation.schemas import GenerateParams
from datatasks.generation.sizing import chunk_rows
from datatasks.models import DatasetSource
from datatasks.worker.context import TaskContext
from datatasks.worker.rows import ensure_dataset, load_params, remove_dataset

log = structlog.stdlib.get_logger("datatasks.generation")

COPY_COLUMNS = ("dataset_id", "record_type", "data")
Row = tuple[uuid.UUID, str, str]


async def run_generation(ctx: TaskContext, job_id: uuid.UUID) -> dict[str, Any]:
    async with ctx.connect() as conn:
        params = await load_params(conn, job_id, GenerateParams)
        dataset_id = await ensure_dataset(
            conn,
            job_id,
            name=params.dataset_name,
            record_type=params.record_type,
            source=DatasetSource.generated,
            schema=orjson.dumps([f.model_dump(mode="json") for f in params.fields]).decode(),
        )
        try:
            await _fill(ctx, conn, job_id, dataset_id, params)
        except JobCancelled:
            # A cancelled job leaves no partial dataset behind.
            await remove_dataset(conn, dataset_id)
            raise
    return {"dataset_id": str(dataset_id), "rows": params.count, "seed": params.seed}


def _make_rows(
    fields: Sequence[FieldSpec],
    seed: int,
    start: int,
    stop: int,
    dataset_id: uuid.UUID,
    record_type: str,
) -> list[Row]:
    return [(dataset_id, record_type, doc) for doc in generate_json_rows(fields, seed, start, stop)]


async def _fill(
    ctx: TaskContext,
    conn: asyncpg.Connection,
    job_id: uuid.UUID,
    dataset_id: uuid.UUID,
    params: GenerateParams,
) -> None:
    loop = asyncio.get_running_loop()
    chunk = chunk_rows(
        params.fields,
        max_rows=ctx.settings.generate_chunk_size,
        max_bytes=ctx.settings.generate_chunk_bytes,
    )
    count = params.count

    def make(start: int) -> asyncio.Future[list[Row]]:
        stop = min(start + chunk, count)
        return loop.run_in_executor(
            ctx.cpu,
            _make_rows,
            params.fields,
            params.seed,
            start,
            stop,
            dataset_id,
            params.record_type,
        )

    start = await conn.fetchval("SELECT progress_done FROM jobs WHERE id = $1", job_id)
    if start:
        log.info("generation.resuming", done=start, total=count)
    pending = make(start) if start < count else None
    while pending is not None:
        try:
            rows = await pending
        except ValueError as exc:
            # Generation is deterministic: what failed once fails on every retry.
            raise JobFailed(f"cannot generate records {start}..: {exc}") from exc
        # Make the next chunk while this one is copied: generation and COPY overlap.
        nxt = start + len(rows)
        pending = make(nxt) if nxt < count else None
        try:
            moved_to = await _write_chunk(ctx, conn, job_id, dataset_id, start, rows)
        except BaseException:
            if pending is not None:
                pending.cancel()
            raise
        if moved_to is not None:
            # Another delivery of this job got there first: continue from its checkpoint.
            if pending is not None:
                pending.cancel()
            log.warning("generation.checkpoint_moved", expected=start, found=moved_to)
            start = moved_to
            pending = make(start) if start < count else None
            continue
        start = nxt


async def _write_chunk(
    ctx: TaskContext,
    conn: asyncpg.Connection,
    job_id: uuid.UUID,
    dataset_id: uuid.UUID,
    start: int,
    rows: list[Row],
) -> int | None:
    """Copy one chunk and advance the checkpoint, atomically. Returns the checkpoint found
    instead of writing when it is not `start` (someone else wrote this chunk)."""
    stop = start + len(rows)
    async with ctx.step(conn), conn.transaction():
        state = await conn.fetchrow(
            "SELECT progress_done, status FROM jobs WHERE id = $1 FOR UPDATE", job_id
        )
        if state is None or state["status"] == "cancelled":
            raise JobCancelled(f"job {job_id} was cancelled")
        if state["progress_done"] != start:
            found: int = state["progress_done"]
            return found
        await conn.copy_records_to_table(
            "records",
            records=rows,
            columns=COPY_COLUMNS,
            schema_name=ctx.settings.database_schema,
        )
        await conn.execute(
            "UPDATE jobs SET progress_done = $2, updated_at = now() WHERE id = $1", job_id, stop
        )
        await conn.execute("UPDATE datasets SET row_count = $2 WHERE id = $1", dataset_id, stop)
    return None
