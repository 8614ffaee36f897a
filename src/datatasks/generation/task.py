"""The generation job: make the records chunk by chunk and COPY them in, resumably.

Records are a pure function of (fields, seed, record index), so a delivery can start at any
checkpoint and write exactly the rows a single run would have (see jobs/execution.py for the
checkpoint and its locking rule). The next chunk is made in a thread while the last is copied.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg
import orjson
import structlog

from datatasks.core.errors import JobCancelled, JobFailed
from datatasks.datasets import partitions
from datatasks.generation.fields import FieldSpec, ReferenceField
from datatasks.generation.generator import Source, generate_json_rows
from datatasks.generation.schemas import GenerateParams
from datatasks.generation.sizing import REFERENCE_MAX_VALUES, REFERENCE_VALUE_BYTES, chunk_rows
from datatasks.jobs.execution import ChunkWriter, CopyRow, JobDataset, RunningJob, TaskContext
from datatasks.jobs.results import GenerationResult
from datatasks.models import DatasetSource, DatasetState

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
        except (JobCancelled, JobFailed):
            # A cancelled job leaves no partial dataset behind, nor does one that can never
            # succeed (bad parameters, a referenced dataset gone): a retry starts afresh.
            await job.discard(dataset)
            raise
    return GenerationResult(dataset_id=dataset.id, rows=params.count, seed=params.seed).model_dump(
        mode="json"
    )


def _make(
    params: GenerateParams,
    sources: Mapping[str, Source],
    start: int,
    stop: int,
    dataset: JobDataset,
) -> list[CopyRow]:
    rows = generate_json_rows(
        params.fields,
        params.seed,
        start,
        stop,
        locale=params.locale,
        count=params.count,
        sources=sources,
    )
    return dataset.records(rows)


# A referenced field's values, in the records' stable order, without nulls and absent keys.
_REFERENCED = """
    SELECT data -> $1 FROM {table}
    WHERE data -> $1 IS NOT NULL AND data -> $1 <> 'null'::jsonb
    ORDER BY id
"""


def parse_source(spec: ReferenceField, texts: list[str]) -> Source:
    return Source.of(spec, [orjson.loads(t) for t in texts])


async def _sources(job: RunningJob, fields: Sequence[FieldSpec]) -> dict[str, Source]:
    """The values every reference field draws from, read once per delivery."""
    loop = asyncio.get_running_loop()
    sources: dict[str, Source] = {}
    for spec in fields:
        if isinstance(spec, ReferenceField):
            async with job.ctx.step(job.conn):
                texts = await reference_values(job.conn, spec)
            # Parsing a million values takes a while: off the event loop, which keeps the
            # job's lock renewed meanwhile.
            sources[spec.name] = await loop.run_in_executor(job.ctx.cpu, parse_source, spec, texts)
            log.info("generation.references_loaded", field=spec.name, values=len(texts))
    return sources


async def reference_values(conn: asyncpg.Connection, spec: ReferenceField) -> list[str]:
    """A reference field's values (JSON texts): the same rows in the same order on every
    read, so a retried job - or a preview - makes the same references. JobFailed when the
    dataset cannot be drawn from."""
    texts: list[str] = []
    async with conn.transaction(readonly=True):
        state = await partitions.lock_for_reading(conn, spec.dataset_id)
        if state is not DatasetState.active:
            raise JobFailed(
                f"field {spec.name!r}: dataset {spec.dataset_id} is "
                + ("gone" if state is None else state.value)
            )
        # A cursor holds one batch of rows at a time, not the dataset's as asyncpg records.
        query = _REFERENCED.format(table=partitions.table(spec.dataset_id))
        async for row in conn.cursor(query, spec.field, prefetch=10_000):
            texts.append(row[0])
    if not texts:
        raise JobFailed(
            f"field {spec.name!r}: dataset {spec.dataset_id} has no records with a value"
            f" for {spec.field!r}"
        )
    if len(texts) > REFERENCE_MAX_VALUES:
        raise JobFailed(
            f"field {spec.name!r}: dataset {spec.dataset_id} has {len(texts)} values;"
            f" references draw from at most {REFERENCE_MAX_VALUES}"
        )
    if (longest := max(len(t.encode()) for t in texts)) > REFERENCE_VALUE_BYTES:
        raise JobFailed(
            f"field {spec.name!r}: a value of {spec.field!r} takes {longest} bytes;"
            f" references take values up to {REFERENCE_VALUE_BYTES}"
        )
    return texts


async def _fill(job: RunningJob, dataset: JobDataset, params: GenerateParams) -> None:
    settings = job.ctx.settings
    chunk = chunk_rows(
        params.fields,
        max_rows=settings.generate_chunk_size,
        max_bytes=settings.generate_chunk_bytes,
        locale=params.locale,
    )
    loop = asyncio.get_running_loop()
    start = await job.checkpoint(dataset)
    if start:
        log.info("generation.resuming", done=start, total=params.count)
    sources = await _sources(job, params.fields) if start < params.count else {}
    writer = ChunkWriter(job, dataset, at=start)
    async with writer.running():
        while start < params.count:
            stop = min(start + chunk, params.count)
            try:
                records = await loop.run_in_executor(
                    job.ctx.cpu, _make, params, sources, start, stop, dataset
                )
            except ValueError as exc:
                # Generation is deterministic: what failed once fails on every retry.
                raise JobFailed(f"cannot generate records {start}..: {exc}") from exc
            await writer.put(records, at=start)
            # Another delivery of this job may have got further: go on from where it is.
            start = max(stop, writer.checkpoint)
        await writer.wait()
