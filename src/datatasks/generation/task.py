"""The generation job: make the records chunk by chunk and COPY them in, resumably.

Records are a pure function of (fields, seed, record index), so a delivery can start at any
checkpoint and write exactly the rows a single run would have (see jobs/execution.py for the
checkpoint and its locking rule). The next chunk is made in a thread while the last is copied.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

import structlog

from datatasks.core.errors import JobCancelled, JobFailed
from datatasks.generation.fields import FieldSpec
from datatasks.generation.generator import generate_json_rows
from datatasks.generation.schemas import GenerateParams
from datatasks.generation.sizing import chunk_rows
from datatasks.jobs.execution import ChunkWriter, CopyRow, JobDataset, RunningJob, TaskContext
from datatasks.jobs.results import GenerationResult
from datatasks.models import DatasetSource

log = structlog.stdlib.get_logger("datatasks.generation")


async def run_generation(ctx: TaskContext, job_id: uuid.UUID) -> dict[str, Any]:
    async with RunningJob.open(ctx, job_id) as job:
        params = await job.params(GenerateParams)
        dataset = await job.dataset(
            name=params.dataset_name,
            record_type=params.record_type,
            source=DatasetSource.generated,
            schema=[f.model_dump(mode="json") for f in params.fields],
        )
        try:
            await _fill(job, dataset, params)
        except JobCancelled:
            # A cancelled job leaves no partial dataset behind.
            await job.discard(dataset)
            raise
    return GenerationResult(dataset_id=dataset.id, rows=params.count, seed=params.seed).model_dump(
        mode="json"
    )


def _make(
    fields: Sequence[FieldSpec], seed: int, start: int, stop: int, dataset: JobDataset
) -> list[CopyRow]:
    return dataset.records(generate_json_rows(fields, seed, start, stop))


async def _fill(job: RunningJob, dataset: JobDataset, params: GenerateParams) -> None:
    settings = job.ctx.settings
    chunk = chunk_rows(
        params.fields,
        max_rows=settings.generate_chunk_size,
        max_bytes=settings.generate_chunk_bytes,
    )
    loop = asyncio.get_running_loop()
    start = await job.checkpoint(dataset)
    if start:
        log.info("generation.resuming", done=start, total=params.count)
    writer = ChunkWriter(job, dataset, at=start)
    async with writer.running():
        while start < params.count:
            stop = min(start + chunk, params.count)
            try:
                records = await loop.run_in_executor(
                    job.ctx.cpu, _make, params.fields, params.seed, start, stop, dataset
                )
            except ValueError as exc:
                # Generation is deterministic: what failed once fails on every retry.
                raise JobFailed(f"cannot generate records {start}..: {exc}") from exc
            await writer.put(records, at=start)
            # Another delivery of this job may have got further: go on from where it is.
            start = max(stop, writer.checkpoint)
        await writer.wait()
