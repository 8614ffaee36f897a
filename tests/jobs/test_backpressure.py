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
