"""DELETE /datasets/{id}: every copy of the data goes, safely against exports in flight."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from datatasks.core.config import QueueName, Settings
from datatasks.models import partition_name
from tests.conftest import WaitJob, WorkerRunner

FIELDS: list[dict[str, Any]] = [
    {"name": "id", "type": "sequence"},
    {"name": "email", "type": "email"},
    {"name": "age", "type": "integer", "min": 18, "max": 90},
]
ALL = (QueueName.generation, QueueName.ingest, QueueName.export, QueueName.erasure)


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(
        settings.asyncpg_dsn, server_settings={"search_path": settings.database_schema}
    )
    yield conn
    await conn.close()


async def generate(client: httpx.AsyncClient, wait_job: WaitJob, count: int = 1_000) -> str:
    body = {"record_type": "user", "count": count, "seed": 5, "fields": FIELDS}
    response = await client.post("/generate", json=body)
    job = await wait_job(response.json()["job_id"])
    dataset_id: str = job["result"]["dataset_id"]
    return dataset_id


async def erase(client: httpx.AsyncClient, dataset_id: str) -> str:
    response = await client.delete(f"/datasets/{dataset_id}")
    assert response.status_code == 202, response.text
    assert response.headers["location"] == response.json()["status_url"]
    job_id: str = response.json()["job_id"]
    return job_id


async def status(client: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get(f"/status/{job_id}")).json()
    return body


def stored(settings: Settings) -> list[Path]:
    root = settings.storage_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def partition_exists(db: asyncpg.Connection, dataset_id: str) -> bool:
    name = partition_name(uuid.UUID(dataset_id))
    found: bool = await db.fetchval("SELECT to_regclass($1) IS NOT NULL", name)
    return found


async def waiting_on(db: asyncpg.Connection, relation: str, mode: str) -> None:
    """Until some backend waits for `mode` on `relation`."""
    await _locks(db, relation, mode, granted=False)


async def held(db: asyncpg.Connection, relation: str, mode: str) -> None:
    """Until another backend holds `mode` on `relation`."""
    await _locks(db, relation, mode, granted=True)


async def _locks(db: asyncpg.Connection, relation: str, mode: str, *, granted: bool) -> None:
    async with asyncio.timeout(20):
        while not await db.fetchval(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE relation = to_regclass($1) "
            "AND mode = $2 AND granted = $3 AND pid <> pg_backend_pid())",
            relation,
            mode,
            granted,
        ):
            await asyncio.sleep(0.02)


async def test_erasure_removes_records_partition_and_export_files(
    client: httpx.AsyncClient,
    run_worker: WorkerRunner,
    wait_job: WaitJob,
    settings: Settings,
    db: asyncpg.Connection,
    caplog: pytest.LogCaptureFixture,
) -> None:
    run_worker.start(queues=ALL)
    dataset_id = await generate(client, wait_job)
    kept = await generate(client, wait_job, count=10)
    exported = await client.post("/export", json={"format": "csv", "dataset_id": dataset_id})
    both = await client.post("/export", json={"format": "ndjson", "record_type": "user"})
    other = await client.post("/export", json={"format": "json", "dataset_id": kept})
    exports = [r.json()["job_id"] for r in (exported, both, other)]
    for job_id in exports:
        await wait_job(job_id)
    links = [(await status(client, j))["result"]["download_url"] for j in exports]
    for link in links:
        assert (await client.get(link)).status_code == 200
    assert len(stored(settings)) == 3

    job_id = await erase(client, dataset_id)
    erased = await wait_job(job_id)
    result = erased["result"]
    assert result["dataset_id"] == dataset_id
    assert result["rows"] == 1_000
    assert result["bytes"] > 1_000 * 40
    assert sorted(result["exports"]) == sorted(exports[:2])
    assert result["files"] == 2

    # The records and their table are gone; the other dataset and its export are not.
    assert not await partition_exists(db, dataset_id)
    assert await db.fetchval("SELECT count(*) FROM records WHERE dataset_id = $1", dataset_id) == 0
    assert await partition_exists(db, kept)
    assert (await client.get(f"/datasets/{dataset_id}")).status_code == 404
    listed = (await client.get("/datasets")).json()["items"]
    assert [d["id"] for d in listed] == [kept]
    # The export files holding its rows are deleted, their links answer 410, their jobs say so.
    assert len(stored(settings)) == 1
    for export_id, link in zip(exports[:2], links, strict=False):
        export = await status(client, export_id)
        assert export["result"]["erased"]["datasets"] == [dataset_id]
        gone = await client.get(link)
        assert gone.status_code == 410, gone.text
        assert dataset_id in gone.json()["detail"]
        assert (await client.post(f"/exports/{export_id}/link")).status_code == 410
    assert (await client.get(links[2])).status_code == 200
    # The audit line.
    audit = [r for r in caplog.records if "dataset.erased" in str(r.msg)]
    assert audit, "no audit line"
    assert dataset_id in str(audit[0].msg)
    # Asking again is answered with the same job.
    again = await client.delete(f"/datasets/{dataset_id}")
    assert again.status_code == 202
    assert again.json()["job_id"] == job_id
    assert again.json()["status"] == "completed"


async def test_a_dataset_being_erased_answers_409_and_its_erasure_cannot_be_cancelled(
    client: httpx.AsyncClient,
    run_worker: WorkerRunner,
    wait_job: WaitJob,
) -> None:
    worker = run_worker.start(queues=(QueueName.generation,))
    dataset_id = await generate(client, wait_job)
    await worker.stop()
    job_id = await erase(client, dataset_id)
    assert (await client.delete(f"/datasets/{dataset_id}")).json()["job_id"] == job_id

    for response in (
        await client.get(f"/datasets/{dataset_id}"),
        await client.get(f"/datasets/{dataset_id}", params={"sample": 5}),
        await client.get(f"/datasets/{dataset_id}/profile"),
        await client.post("/export", json={"format": "csv", "dataset_id": dataset_id}),
        await client.post(
            "/generate",
            json={
                "record_type": "order",
                "count": 5,
                "fields": [
                    {
                        "name": "user",
                        "type": "reference",
                        "dataset_id": dataset_id,
                        "field": "email",
                    }
                ],
            },
        ),
        await client.post(f"/jobs/{job_id}/cancel"),
    ):
        assert response.status_code == 409, response.text
        assert response.headers["content-type"] == "application/problem+json"
    listed = (await client.get("/datasets")).json()["items"]
    assert [(d["id"], d["state"]) for d in listed] == [(dataset_id, "erasing")]

    run_worker.start(queues=(QueueName.erasure,))
    await wait_job(job_id)
    assert (await client.get(f"/datasets/{dataset_id}")).status_code == 404
    response = await client.post("/export", json={"format": "csv", "dataset_id": dataset_id})
    assert response.status_code == 422, response.text
    assert (await client.delete(f"/datasets/{uuid.uuid4()}")).status_code == 404
    assert (await client.delete("/datasets/nope")).status_code == 404


async def test_a_dataset_still_being_made_cannot_be_erased(
    client: httpx.AsyncClient,
    run_worker: WorkerRunner,
    wait_job: WaitJob,
    db: asyncpg.Connection,
) -> None:
    run_worker.start(queues=(QueueName.generation,))
    dataset_id = await generate(client, wait_job)
    made_by = await db.fetchval("SELECT job_id FROM datasets WHERE id = $1", uuid.UUID(dataset_id))
    await db.execute("UPDATE jobs SET status = 'in_progress' WHERE id = $1", made_by)
    response = await client.delete(f"/datasets/{dataset_id}")
    assert response.status_code == 409, response.text
    assert str(made_by) in response.json()["detail"]
    state = await db.fetchval("SELECT state FROM datasets WHERE id = $1", uuid.UUID(dataset_id))
    assert state == "active"


async def test_an_upload_erased_while_an_export_reads_it_loses_that_export_file_too(
    client: httpx.AsyncClient,
    run_worker: WorkerRunner,
    wait_job: WaitJob,
    settings: Settings,
    db: asyncpg.Connection,
) -> None:
    run_worker.start(queues=(QueueName.ingest, QueueName.erasure))
    lines = [b'{"name": "Ada", "age": 36}', b"not json", b'{"name": "Alan", "age": 41}']
    accepted = await client.post(
        "/upload", files={"file": ("people.ndjson", b"\n".join(lines) + b"\n", "text/plain")}
    )
    ingest = await wait_job(accepted.json()["job_id"])
    dataset_id = ingest["result"]["dataset_id"]
    rejects_url = ingest["result"]["rejects_url"]
    assert (await client.get(rejects_url)).status_code == 200
    assert len(stored(settings)) == 2  # the original and its rejects

    # The export gets in first: it locks the dataset's partition, then waits (on a row the
    # test is writing) to record that it reads the dataset, before it copies the rows.
    export = await client.post("/export", json={"format": "csv", "dataset_id": dataset_id})
    export_id = export.json()["job_id"]
    hold = db.transaction()
    await hold.start()
    await db.execute(
        "INSERT INTO export_datasets (dataset_id, export_job_id) VALUES ($1, $2)",
        uuid.UUID(dataset_id),
        uuid.UUID(export_id),
    )
    run_worker.start(queues=(QueueName.export,))
    partition = partition_name(uuid.UUID(dataset_id))
    await held(db, partition, "AccessShareLock")
    # The erasure waits for that read to end ...
    job_id = await erase(client, dataset_id)
    await waiting_on(db, partition, "AccessExclusiveLock")
    await hold.rollback()
    # ... the export finishes with the rows, and then its file is erased with the rest.
    written = await wait_job(export_id)
    assert written["result"]["rows"] == 2
    result = (await wait_job(job_id))["result"]
    assert result["rows"] == 2
    assert result["exports"] == [export_id]
    assert result["files"] == 3
    assert stored(settings) == []
    assert (await client.get(rejects_url)).status_code == 404
    assert await db.fetchval("SELECT count(*) FROM uploads") == 0
    scrubbed = await status(client, str(ingest["id"]))
    assert scrubbed["result"]["rejected_sample"] == []
    assert scrubbed["result"]["rejects_url"] is None
    link = (await status(client, export_id))["result"]["download_url"]
    assert (await client.get(link)).status_code == 410


async def test_an_export_that_chose_a_dataset_before_its_erasure_reads_none_of_it(
    client: httpx.AsyncClient,
    run_worker: WorkerRunner,
    wait_job: WaitJob,
    db: asyncpg.Connection,
) -> None:
    run_worker.start(queues=(QueueName.generation,))
    erased = await generate(client, wait_job, count=100)
    kept = await generate(client, wait_job, count=10)
    partition = partition_name(uuid.UUID(erased))
    # The export has chosen both datasets and waits to read the first, which is locked ...
    hold = db.transaction()
    await hold.start()
    await db.execute(f'LOCK TABLE "{partition}" IN ACCESS EXCLUSIVE MODE')
    export = await client.post("/export", json={"format": "ndjson", "record_type": "user"})
    run_worker.start(queues=(QueueName.export,))
    await waiting_on(db, partition, "AccessShareLock")
    # ... when the dataset is marked for erasure.
    job_id = await erase(client, erased)
    await hold.rollback()
    written = await wait_job(export.json()["job_id"])
    result = written["result"]
    assert result["rows"] == 10
    assert result["skipped_erased"] == [erased]
    assert [d["dataset_id"] for d in result["datasets"]] == [kept]
    run_worker.start(queues=(QueueName.erasure,))
    assert (await wait_job(job_id))["result"]["exports"] == []
    # Its file holds none of the erased rows, so it stays.
    link = (await status(client, export.json()["job_id"]))["result"]["download_url"]
    download = await client.get(link)
    assert download.status_code == 200
    assert len(download.content.splitlines()) == 10
