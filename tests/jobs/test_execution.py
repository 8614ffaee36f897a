"""The job-execution kit against the real Postgres, without a queue: checkpoints, doubled
deliveries, cancellation and progress, as every handler gets them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import orjson
import pytest

from datatasks.core.config import Settings
from datatasks.core.db import SessionMaker
from datatasks.core.errors import JobCancelled, JobFailed
from datatasks.generation.schemas import GenerateParams
from datatasks.jobs.execution import ChunkWriter, JobDataset, RunningJob, TaskContext
from datatasks.models import DatasetSource
from tests.helpers import task_context


@pytest.fixture
async def ctx(settings: Settings, sessionmaker: SessionMaker) -> AsyncIterator[TaskContext]:
    async with task_context(settings, sessionmaker, connections=4) as context:
        yield context


async def new_job(ctx: TaskContext, params: object = None) -> uuid.UUID:
    job_id = uuid.uuid4()
    await ctx.pool.execute(
        "INSERT INTO jobs (id, type, params, progress_total) VALUES ($1, 'generate', $2, 10)",
        job_id,
        orjson.dumps(params or {}).decode(),
    )
    return job_id


def numbered(dataset: JobDataset, start: int, stop: int) -> list[tuple[uuid.UUID, str, str]]:
    return dataset.records(orjson.dumps({"n": i}).decode() for i in range(start, stop))


async def numbers(ctx: TaskContext, dataset: JobDataset) -> list[int]:
    rows = await ctx.pool.fetch(
        "SELECT (data->>'n')::int AS n FROM records WHERE dataset_id = $1 ORDER BY 1", dataset.id
    )
    return [r["n"] for r in rows]


async def open_dataset(job: RunningJob) -> JobDataset:
    return await job.dataset(name="d", record_type="t", source=DatasetSource.generated)


async def test_a_chunk_and_its_checkpoint_are_written_together(ctx: TaskContext) -> None:
    job_id = await new_job(ctx)
    async with RunningJob.open(ctx, job_id) as job:
        dataset = await open_dataset(job)
        assert await job.checkpoint(dataset) == 0
        assert await job.write(dataset, numbered(dataset, 0, 4), at=0) == 4
        assert await job.write(dataset, numbered(dataset, 4, 6), at=4, progress=600) == 6
        assert await job.checkpoint(dataset) == 6
    assert await numbers(ctx, dataset) == list(range(6))
    assert await ctx.pool.fetchval("SELECT progress_done FROM jobs WHERE id = $1", job_id) == 600


async def test_a_second_delivery_finds_its_dataset_and_writes_only_past_the_checkpoint(
    ctx: TaskContext,
) -> None:
    job_id = await new_job(ctx)
    async with RunningJob.open(ctx, job_id) as first, RunningJob.open(ctx, job_id) as second:
        dataset = await open_dataset(first)
        assert await open_dataset(second) == dataset  # one dataset per job
        # Both deliveries made records 0-9; the first wrote 0-6 meanwhile.
        await first.write(dataset, numbered(dataset, 0, 7), at=0)
        assert await second.write(dataset, numbered(dataset, 0, 10), at=0) == 10
        # A delivery behind the checkpoint writes nothing and learns where it is.
        assert await first.write(dataset, numbered(dataset, 7, 9), at=7) == 10
    assert await numbers(ctx, dataset) == list(range(10))


async def test_a_cancelled_job_writes_nothing_more_and_discards_its_dataset(
    ctx: TaskContext,
) -> None:
    job_id = await new_job(ctx)
    async with RunningJob.open(ctx, job_id) as job:
        dataset = await open_dataset(job)
        await job.write(dataset, numbered(dataset, 0, 3), at=0)
        await ctx.pool.execute("UPDATE jobs SET status = 'cancelled' WHERE id = $1", job_id)
        with pytest.raises(JobCancelled):
            await job.write(dataset, numbered(dataset, 3, 6), at=3)
        with pytest.raises(JobCancelled):
            await job.report(1, force=True)
        assert await numbers(ctx, dataset) == [0, 1, 2]
        await job.discard(dataset)
    assert await ctx.pool.fetchval("SELECT count(*) FROM datasets") == 0
    assert await ctx.pool.fetchval("SELECT count(*) FROM records") == 0


async def test_progress_is_reported_about_once_a_second(ctx: TaskContext) -> None:
    job_id = await new_job(ctx)
    done = "SELECT progress_done FROM jobs WHERE id = $1"
    async with RunningJob.open(ctx, job_id) as job:
        await job.report(5)  # not due yet: nothing written
        assert await ctx.pool.fetchval(done, job_id) == 0
        await job.report(6, force=True)
        assert await ctx.pool.fetchval(done, job_id) == 6
        await job.set_total(99)
    assert await ctx.pool.fetchval("SELECT progress_total FROM jobs WHERE id = $1", job_id) == 99


async def test_unusable_parameters_fail_the_job(ctx: TaskContext) -> None:
    job_id = await new_job(ctx, {"record_type": "t"})
    async with RunningJob.open(ctx, job_id) as job:
        with pytest.raises(JobFailed, match="unusable job parameters"):
            await job.params(GenerateParams)


async def test_the_chunk_writer_overlaps_and_reports_a_failed_write_at_the_next_put(
    ctx: TaskContext,
) -> None:
    job_id = await new_job(ctx)
    async with RunningJob.open(ctx, job_id) as job:
        dataset = await open_dataset(job)
        writer = ChunkWriter(job, dataset, at=0)
        async with writer.running():
            await writer.put(numbered(dataset, 0, 5), at=0)
            await writer.put(numbered(dataset, 5, 8), at=5)  # waits for the first
            assert await writer.wait() == 8
        writer = ChunkWriter(job, dataset, at=8)
        await writer.put(dataset.records(["not JSON"]), at=8)  # its COPY fails
        with pytest.raises(asyncpg.DataError):
            await writer.put(numbered(dataset, 9, 10), at=9)
    assert await numbers(ctx, dataset) == list(range(8))


async def test_a_write_in_flight_is_rolled_back_when_the_block_is_left(ctx: TaskContext) -> None:
    job_id = await new_job(ctx)
    async with RunningJob.open(ctx, job_id) as job:
        dataset = await open_dataset(job)
        writer = ChunkWriter(job, dataset, at=0)

        async def fail_while_writing() -> None:
            async with writer.running():
                await writer.put(numbered(dataset, 0, 50_000), at=0)
                await asyncio.sleep(0)  # the COPY has started
                raise RuntimeError("the handler failed meanwhile")

        with pytest.raises(RuntimeError):
            await fail_while_writing()
        assert await job.checkpoint(dataset) == 0
    assert await numbers(ctx, dataset) == []


async def test_a_cancel_found_by_a_write_wins_over_a_later_error(ctx: TaskContext) -> None:
    job_id = await new_job(ctx)
    async with RunningJob.open(ctx, job_id) as job:
        dataset = await open_dataset(job)
        await ctx.pool.execute("UPDATE jobs SET status = 'cancelled' WHERE id = $1", job_id)
        writer = ChunkWriter(job, dataset, at=0)

        async def fail_after_a_cancelled_write() -> None:
            async with writer.running():
                await writer.put(numbered(dataset, 0, 3), at=0)  # finds the job cancelled
                await asyncio.sleep(0.2)  # ...while the next chunk is made, which fails
                raise JobFailed("the next chunk could not be made")

        # The handler then discards the dataset, as for any cancel.
        with pytest.raises(JobCancelled):
            await fail_after_a_cancelled_write()
