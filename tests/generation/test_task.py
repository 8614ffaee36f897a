"""The generation job against the real Postgres, through the real bullmq worker loop."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
import httpx
import orjson
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


USERS: list[dict[str, Any]] = [
    {"name": "id", "type": "uuid", "unique": True},
    {"name": "first_name", "type": "first_name"},
    {"name": "last_name", "type": "last_name"},
    {"name": "email", "type": "email", "unique": True},
    {"name": "city", "type": "city"},
    {"name": "signed_up", "type": "datetime"},
]


def orders(users_id: str) -> list[dict[str, Any]]:
    return [
        {"name": "id", "type": "sequence", "unique": True},
        {"name": "user_id", "type": "reference", "dataset_id": users_id, "field": "id"},
        {"name": "vip_id", "type": "reference", "dataset_id": users_id, "field": "id",
         "distribution": "zipf"},
        {"name": "amount", "type": "float", "min": 0, "max": 1000,
         "distribution": {"type": "normal", "mean": 80, "stddev": 20}},
        {"name": "ref", "type": "template", "template": "ORD-{id}-{user_id|upper}"},
        {"name": "placed", "type": "datetime"},
        {"name": "shipped", "type": "datetime", "after": "placed", "max_gap_days": 5},
    ]  # fmt: skip


async def test_orders_reference_real_users_the_same_way_whatever_the_chunking(
    settings: Settings,
    client: httpx.AsyncClient,
    run_worker: WorkerRunner,
    wait_job: WaitJob,
    pool: asyncpg.Pool,
) -> None:
    run_worker.start()
    users_body = {"record_type": "user", "count": 3_000, "seed": 1, "locale": "de", "fields": USERS}
    accepted = (await client.post("/generate", json=users_body)).json()
    users_id = (await wait_job(accepted["job_id"]))["result"]["dataset_id"]
    users = [orjson.loads(r) for r in await records_of(pool, users_id)]
    assert len({u["id"] for u in users}) == len({u["email"] for u in users}) == 3_000
    assert all(u["email"].isascii() for u in users)
    await run_worker.stop()

    datasets = []
    for chunk in (1_000, 4_000):
        worker = run_worker.start(
            settings=settings.model_copy(update={"generate_chunk_size": chunk})
        )
        body = {"record_type": "order", "count": 5_000, "seed": 2, "fields": orders(users_id)}
        accepted = (await client.post("/generate", json=body)).json()
        datasets.append((await wait_job(accepted["job_id"]))["result"]["dataset_id"])
        assert await worker.stop() == 0
    first, second = [await records_of(pool, d) for d in datasets]
    assert first == second
    rows = [orjson.loads(r) for r in first]
    user_ids = {u["id"] for u in users}
    assert {r["user_id"] for r in rows} <= user_ids
    assert {r["vip_id"] for r in rows} <= user_ids
    assert [r["id"] for r in rows] == list(range(1, 5_001))
    assert all(r["ref"] == f"ORD-{r['id']}-{r['user_id'].upper()}" for r in rows)
    assert all(r["shipped"] >= r["placed"] for r in rows)


async def test_a_reference_to_a_dataset_erased_since_the_request_fails_the_job(
    client: httpx.AsyncClient, run_worker: WorkerRunner, wait_job: WaitJob, pool: asyncpg.Pool
) -> None:
    run_worker.start()
    users_body = {"record_type": "user", "count": 10, "seed": 1, "fields": USERS}
    accepted = (await client.post("/generate", json=users_body)).json()
    users_id = (await wait_job(accepted["job_id"]))["result"]["dataset_id"]
    body = {"record_type": "order", "count": 10, "seed": 2, "fields": orders(users_id)}
    await run_worker.stop()
    accepted = (await client.post("/generate", json=body)).json()
    await pool.execute("DELETE FROM records WHERE dataset_id = $1", uuid.UUID(users_id))
    run_worker.start()
    job = await wait_job(accepted["job_id"], statuses=("failed",))
    assert job["attempts"] == 1
    assert "has no records with a value for 'id'" in job["error"]["message"]
    rows = await pool.fetchval(
        "SELECT count(*) FROM records r JOIN datasets d ON d.id = r.dataset_id WHERE d.job_id = $1",
        uuid.UUID(accepted["job_id"]),
    )
    assert rows == 0
