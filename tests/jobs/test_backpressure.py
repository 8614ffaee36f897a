from __future__ import annotations

import asyncio

from datatasks.core.config import QueueName, QueueSettings, Settings
from tests.helpers import api_client

GENERATE = {"record_type": "t", "count": 1, "fields": [{"name": "n", "type": "sequence"}]}


async def test_a_full_queue_refuses_new_jobs_with_retry_after(settings: Settings) -> None:
    small = {**settings.queues, QueueName.generation: QueueSettings(max_backlog=3)}
    async with api_client(settings.model_copy(update={"queues": small})) as client:
        for _ in range(3):  # no worker runs: they wait
            assert (await client.post("/generate", json=GENERATE)).status_code == 202
        await asyncio.sleep(1.1)  # the backlog is read at most once a second
        refused = await client.post("/generate", json=GENERATE)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "30"
        assert "queue is full" in refused.json()["detail"]
        # Other queues are not affected.
        assert (await client.post("/export", json={"format": "csv"})).status_code == 202
        jobs = (await client.get("/jobs", params={"type": "generate"})).json()["items"]
        assert len(jobs) == 3, "a refused request writes no job"


async def test_a_full_queue_still_answers_a_repeat_with_its_original_job(
    settings: Settings,
) -> None:
    small = {**settings.queues, QueueName.generation: QueueSettings(max_backlog=1)}
    async with api_client(settings.model_copy(update={"queues": small})) as client:
        key = {"Idempotency-Key": "order-7"}
        first = await client.post("/generate", json=GENERATE, headers=key)
        assert first.status_code == 202
        await asyncio.sleep(1.1)  # the backlog reading now sees the queue full
        assert (await client.post("/generate", json=GENERATE)).status_code == 503
        # A client retrying what it was already told is accepted is told so again...
        again = await client.post("/generate", json=GENERATE, headers=key)
        assert again.status_code == 202
        assert again.json()["job_id"] == first.json()["job_id"]
        # ...while a key reused for something else is still that mistake, and a new key waits.
        other = await client.post("/generate", json={**GENERATE, "count": 2}, headers=key)
        assert other.status_code == 422
        fresh = await client.post("/generate", json=GENERATE, headers={"Idempotency-Key": "new"})
        assert fresh.status_code == 503
        jobs = (await client.get("/jobs", params={"type": "generate"})).json()["items"]
        assert len(jobs) == 1
