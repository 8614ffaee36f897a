"""Clients told rather than made to poll, with the real processes: a webhook signed and sent
by `datatasks worker`, live progress streamed by `datatasks api` (in two API processes, fed by
NOTIFY whichever made the change), and a preview that is the job's first records."""

from __future__ import annotations

import asyncio

import httpx
import orjson
import pytest
from httpx_sse import aconnect_sse
from standardwebhooks.webhooks import Webhook

from tests.e2e.conftest import FIELDS, Service, poll
from tests.fixtures.webhooks import SECRET, Receiver

pytestmark = pytest.mark.e2e


async def test_a_job_is_followed_live_and_announced_when_it_ends(
    service: Service, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    service.env.update(WEBHOOK_SECRET=SECRET, WEBHOOK_ALLOWED_HOSTS="127.0.0.1")
    service.start("api", "--port", str(service.port), "--workers", "2")
    service.start("worker", "--queues", "generation,webhooks")
    await service.ready(http)

    body = {"record_type": "user", "count": 100_000, "seed": 3, "fields": FIELDS}
    preview = await http.post(f"{service.url}/generate/preview", json={**body, "count": 20})
    assert preview.status_code == 200, preview.text
    response = await http.post(
        f"{service.url}/generate", json={**body, "callback_url": receiver.url("/ok")}
    )
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]

    async def watch() -> list[tuple[str, dict[str, object]]]:
        url = f"{service.url}/status/{job_id}/events"
        async with (
            httpx.AsyncClient(timeout=60) as client,
            aconnect_sse(client, "GET", url) as source,
        ):
            return [(e.event, orjson.loads(e.data)) async for e in source.aiter_sse()]

    # Several watchers, spread over both API processes by the kernel.
    streams = await asyncio.gather(*(watch() for _ in range(4)))
    for events in streams:
        assert events[-1][0] == "end"
        assert events[-1][1]["status"] == "completed"
        assert [name for name, _ in events[:-1]] == ["progress"] * (len(events) - 1)

    (request,) = await receiver.wait_for(1)
    message = Webhook(SECRET).verify(request.body, request.headers)
    assert message["type"] == "job.completed"
    assert message["data"]["id"] == job_id
    deliveries = (await http.get(f"{service.url}/jobs/{job_id}/deliveries")).json()["items"]
    async with asyncio.timeout(10):
        while deliveries[0]["status"] != "delivered":
            await asyncio.sleep(0.1)
            deliveries = (await http.get(f"{service.url}/jobs/{job_id}/deliveries")).json()["items"]

    status = await poll(http, f"{service.url}/status/{job_id}")
    dataset = (
        await http.get(
            f"{service.url}/datasets/{status['result']['dataset_id']}", params={"sample": 20}
        )
    ).json()
    assert dataset["sample"] == preview.json()["records"]
