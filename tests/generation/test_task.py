"""The generation job against the real Postgres, through the real bullmq worker loop."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
import httpx
import pytest

from datatasks.core.config import Settings
from datatasks.core.db import SessionMaker, create_copy_pool
from datatasks.generation.task import run_generation
from datatasks.jobs.execution import TaskContext
from datatasks.storage.local import LocalStorage
from tests.conftest import WaitJob, WorkerRunner
from tests.helpers import interrupted

ALL_TYPES: list[dict[str, Any]] = [
    {"name": "id", "type": "uuid"},
    {"name": "n", "type": "sequence", "start": 100, "step": 2},
    {"name": "first", "type": "first_name"},
    {"name": "email", "type": "email", "null_rate": 0.2},
    {"name": "age", "type": "integer", "min": 18, "max": 90},
    {"name": "score", "type": "float", "min": 0, "max": 5, "decimals": 1},
    {"name": "active", "type": "boolean", "probability": 0.3},
    {"name": "plan", "type": "enum", "values": ["free", "pro"], "weights": [3, 1]},
    {"name": "v", "type": "constant", "value": {"schema": 1}},
    {"name": "code", "type": "string", "min_length": 4, "max_length": 4},
    {"name": "born", "type": "date"},
    {"name": "seen", "type": "datetime"},
    {"name": "city", "type": "city"},
    {"name": "bio", "type": "sentence"},
]


def request(count: int, seed: int = 7, **extra: Any) -> dict[str, Any]:
    return {"record_type": "person", "count": count, "seed": seed, "fields": ALL_TYPES, **extra}


@pytest.fixture
def cpu() -> Iterator[ThreadPoolExecutor]:
    executor = ThreadPoolExecutor(2)
    yield executor
    executor.shutdown(cancel_futures=True)


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_copy_pool(settings, size=4)
    yield pool
    await pool.close()


async def records_of(pool: asyncpg.Pool, dataset_id: str) -> list[str]:
    rows = await pool.fetch(
        "SELECT data::text FROM records WHERE dataset_id = $1 ORDER BY id", uuid.UUID(dataset_id)
    )
    return [r[0] for r in rows]


async def test_a_job_generates_exactly_count_records(
    client: httpx.AsyncClient, run_worker: WorkerRunner, wait_job: WaitJob, pool: asyncpg.Pool
) -> None:
    run_worker.start()
    accepted = (await client.post("/generate", json=request(2_345, dataset_name="people"))).json()
    job = await wait_job(accepted["job_id"])
    status = (await client.get(accepted["status_url"])).json()
    assert status["status"] == "completed"
    assert status["progress"] == {"done": 2_345, "total": 2_345, "percent": 100.0}
    assert status["attempts"] == 1
    assert status["started_at"]
    assert status["finished_at"]
    assert status["result"]["rows"] == 2_345
    dataset_id = status["result"]["dataset_id"]
    assert job["error"] is None

    dataset = await pool.fetchrow("SELECT * FROM datasets WHERE id = $1", uuid.UUID(dataset_id))
    assert dataset["name"] == "people"
    assert dataset["source"] == "generated"
    assert dataset["row_count"] == 2_345
    assert dataset["record_type"] == "person"
    rows = await pool.fetch(
        "SELECT record_type, data->>'n' AS n FROM records WHERE dataset_id = $1 ORDER BY id",
        uuid.UUID(dataset_id),
    )
    assert len(rows) == 2_345
    assert {r["record_type"] for r in rows} == {"person"}
    assert [int(r["n"]) for r in rows] == [100 + 2 * i for i in range(2_345)]


async def test_same_seed_same_records_whatever_the_chunk_size(
    settings: Settings,
    sessionmaker: SessionMaker,
    client: httpx.AsyncClient,
    run_worker: WorkerRunner,
    wait_job: WaitJob,
    pool: asyncpg.Pool,
) -> None:
    datasets = []
    for chunk in (1_000, 4_000):
        worker = run_worker.start(
            settings=settings.model_copy(update={"generate_chunk_size": chunk})
        )
        accepted = (await client.post("/generate", json=request(3_500, seed=99))).json()
        job = await wait_job(accepted["job_id"])
        datasets.append(job["result"]["dataset_id"])
        assert await worker.stop() == 0
    first, second = [await records_of(pool, d) for d in datasets]
    assert len(first) == 3_500
    assert first == second

    other = (await client.post("/generate", json=request(3_500, seed=100))).json()
    run_worker.start()
    job = await wait_job(other["job_id"])
    assert await records_of(pool, job["result"]["dataset_id"]) != first


async def test_an_interrupted_job_resumes_from_its_checkpoint_without_duplicates(
    settings: Settings,
    sessionmaker: SessionMaker,
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    run_worker: WorkerRunner,
    wait_job: WaitJob,
    cpu: ThreadPoolExecutor,
) -> None:
    settings = settings.model_copy(update={"generate_chunk_size": 1_000})
    ctx = TaskContext(settings, sessionmaker, pool, cpu, LocalStorage(settings.storage_dir))
    accepted = (await client.post("/generate", json=request(10_000, seed=5))).json()
    job_id = uuid.UUID(accepted["job_id"])

    # First delivery: stopped (as by a crash) once some chunks are committed.
    done = await interrupted(ctx, run_generation, job_id)
    assert 0 < done < 10_000

    # Second and third deliveries (one resuming, one of a finished job) write nothing twice.
    result = await run_generation(ctx, job_id)
    assert await run_generation(ctx, job_id) == result
    resumed = await records_of(pool, result["dataset_id"])
    assert len(resumed) == 10_000

    # ... and the rows are the ones an uninterrupted run makes.
    run_worker.start(settings=settings)
    again = (await client.post("/generate", json=request(10_000, seed=5))).json()
    job = await wait_job(again["job_id"])
    assert await records_of(pool, job["result"]["dataset_id"]) == resumed


async def test_two_deliveries_at_once_write_each_chunk_once(
    settings: Settings,
    sessionmaker: SessionMaker,
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    cpu: ThreadPoolExecutor,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = settings.model_copy(update={"generate_chunk_size": 1_000})
    ctx = TaskContext(settings, sessionmaker, pool, cpu, LocalStorage(settings.storage_dir))
    accepted = (await client.post("/generate", json=request(8_000, seed=3))).json()
    job_id = uuid.UUID(accepted["job_id"])
    results = await asyncio.gather(run_generation(ctx, job_id), run_generation(ctx, job_id))
    # The two really raced: one found the checkpoint moved by the other and skipped ahead.
    assert any("job.checkpoint_moved" in str(r.msg) for r in caplog.records)
    assert results[0] == results[1]
    rows = await records_of(pool, results[0]["dataset_id"])
    assert len(rows) == 8_000
    assert len(set(rows)) == 8_000


async def test_bad_parameters_fail_at_once_without_retries(
    client: httpx.AsyncClient,
    sessionmaker: SessionMaker,
    run_worker: WorkerRunner,
    wait_job: WaitJob,
    pool: asyncpg.Pool,
) -> None:
    accepted = (await client.post("/generate", json=request(10))).json()
    # Parameters a worker cannot use (as from an older API version) are not worth retrying.
    await pool.execute(
        "UPDATE jobs SET params = params - 'fields' WHERE id = $1", uuid.UUID(accepted["job_id"])
    )
    run_worker.start()
    job = await wait_job(accepted["job_id"], statuses=("failed",))
    assert job["attempts"] == 1
    assert job["error"]["final"] is True
    assert "unusable job parameters" in job["error"]["message"]
