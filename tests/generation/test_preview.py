"""`POST /generate/preview`: a few records at once, exactly the first ones the job makes."""

from __future__ import annotations

from typing import Any

import httpx

from datatasks.core.config import QueueName
from tests.conftest import WaitJob, WorkerRunner
from tests.helpers import generate

FIELDS: list[dict[str, Any]] = [
    {"name": "id", "type": "uuid"},
    {"name": "name", "type": "full_name"},
    {"name": "email", "type": "email"},
    {"name": "age", "type": "integer", "min": 18, "max": 90},
    {"name": "signed_up", "type": "datetime"},
    {"name": "plan", "type": "enum", "values": ["free", "pro", "team"], "null_rate": 0.2},
]


async def _first_records(client: httpx.AsyncClient, job_id: str, n: int) -> list[Any]:
    dataset_id = (await client.get(f"/status/{job_id}")).json()["result"]["dataset_id"]
    found = (await client.get(f"/datasets/{dataset_id}", params={"sample": n})).json()
    records: list[Any] = found["sample"]
    return records


async def test_a_preview_is_the_jobs_first_records(
    client: httpx.AsyncClient, run_worker: WorkerRunner, wait_job: WaitJob
) -> None:
    run_worker.start([QueueName.generation])
    body = {"record_type": "user", "count": 50, "fields": FIELDS, "locale": "de"}
    preview = await client.post("/generate/preview", json=body)
    assert preview.status_code == 200, preview.text
    shown = preview.json()
    assert shown["count"] == 50
    assert len(shown["records"]) == 50
    # No seed given: the preview says which it used, and the job with it makes the same.
    job_id = await generate(client, {**body, "seed": shown["seed"]})
    await wait_job(job_id)
    assert await _first_records(client, job_id, 50) == shown["records"]
    again = await client.post("/generate/preview", json={**body, "seed": shown["seed"]})
    assert again.json() == shown


async def test_a_preview_draws_references_as_the_job_does(
    client: httpx.AsyncClient, run_worker: WorkerRunner, wait_job: WaitJob
) -> None:
    run_worker.start([QueueName.generation])
    users = await generate(client, {"record_type": "user", "count": 500, "fields": FIELDS})
    await wait_job(users)
    users_id = (await client.get(f"/status/{users}")).json()["result"]["dataset_id"]
    body = {
        "record_type": "order",
        "count": 20,
        "seed": 9,
        "fields": [
            {"name": "order_id", "type": "sequence"},
            {"name": "user_id", "type": "reference", "dataset_id": users_id, "field": "id"},
        ],
    }
    preview = (await client.post("/generate/preview", json=body)).json()
    orders = await generate(client, {**body, "count": 20})
    await wait_job(orders)
    assert await _first_records(client, orders, 20) == preview["records"]


async def test_a_preview_is_small_and_makes_no_job(client: httpx.AsyncClient) -> None:
    body = {"record_type": "user", "count": 101, "fields": FIELDS}
    too_many = await client.post("/generate/preview", json=body)
    assert too_many.status_code == 422
    assert too_many.json()["errors"][0]["loc"] == ["body", "count"]
    hooked = await client.post(
        "/generate/preview",
        json={**body, "count": 5, "callback_url": "https://hooks.example.com/x"},
    )
    assert hooked.status_code == 422
    bad = await client.post(
        "/generate/preview", json={**body, "count": 5, "fields": [{"name": "x", "type": "nope"}]}
    )
    assert bad.status_code == 422
    assert (await client.get("/jobs")).json()["items"] == []
