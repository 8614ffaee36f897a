"""Exports are snapshots: only complete datasets are read unless asked otherwise, and the
result says which datasets, with how many rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text

from datatasks.core.config import QueueName
from datatasks.core.db import SessionMaker
from tests.conftest import WaitJob, WorkerRunner
from tests.exports.test_export import export
from tests.helpers import generate

FIELDS: list[dict[str, Any]] = [{"name": "n", "type": "sequence"}]


async def made(client: httpx.AsyncClient, wait_job: WaitJob, count: int) -> tuple[str, str]:
    job_id = await generate(client, {"record_type": "snap", "count": count, "fields": FIELDS})
    return job_id, (await wait_job(job_id))["result"]["dataset_id"]


async def test_a_dataset_still_being_made_is_left_out_unless_asked_for(
    client: httpx.AsyncClient,
    run_worker: WorkerRunner,
    wait_job: WaitJob,
    sessionmaker: SessionMaker,
) -> None:
    run_worker.start(queues=(QueueName.generation, QueueName.export))
    _, complete = await made(client, wait_job, 30)
    running_job, running = await made(client, wait_job, 20)
    async with sessionmaker() as session:
        # As if its generation were still running: its rows so far are committed.
        await session.execute(
            text("UPDATE jobs SET status = 'in_progress' WHERE id = :id"), {"id": running_job}
        )
        await session.commit()

    status = await export(client, wait_job, format="ndjson", record_type="snap")
    result = status["result"]
    assert result["rows"] == 30
    assert result["datasets"] == [{"dataset_id": complete, "rows": 30}]
    assert result["skipped_incomplete"] == [running]
    assert (result["datasets_read"], result["skipped_count"]) == (1, 1)

    everything = await export(
        client, wait_job, format="csv", record_type="snap", include_incomplete=True
    )
    assert everything["result"]["rows"] == 50
    assert everything["result"]["datasets"] == [
        {"dataset_id": complete, "rows": 30},
        {"dataset_id": running, "rows": 20},
    ]

    response = await client.post("/export", json={"format": "csv", "dataset_id": running})
    named = await wait_job(response.json()["job_id"], statuses=("failed",))
    assert "is not complete" in named["error"]["message"]
    assert "include_incomplete" in named["error"]["message"]


async def test_a_time_filter_names_the_datasets_without_a_second_pass_to_count_them(
    client: httpx.AsyncClient, run_worker: WorkerRunner, wait_job: WaitJob
) -> None:
    run_worker.start(queues=(QueueName.generation, QueueName.export))
    _, first = await made(client, wait_job, 10)
    _, second = await made(client, wait_job, 15)
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    status = await export(client, wait_job, format="csv", record_type="snap", created_from=since)
    assert status["result"]["rows"] == 25
    assert status["result"]["datasets"] == [
        {"dataset_id": first, "rows": None},
        {"dataset_id": second, "rows": None},
    ]
    assert status["result"]["datasets_read"] == 2
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    none = await export(client, wait_job, format="csv", record_type="snap", created_from=later)
    assert none["result"]["rows"] == 0
    assert none["result"]["datasets_read"] == 2
