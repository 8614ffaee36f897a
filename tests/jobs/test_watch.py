"""`GET /status/{id}/events` on a real server: live progress as Server-Sent Events, fed by
NOTIFY, one LISTEN per API process however many watch, resumable with Last-Event-ID."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx
import orjson
from httpx_sse import ServerSentEvent, aconnect_sse

from datatasks.core.config import QueueName, Settings
from tests.conftest import WorkerRunner
from tests.helpers import served

BODY = {
    "record_type": "user",
    "count": 200_000,
    "fields": [{"name": "id", "type": "uuid"}, {"name": "email", "type": "email"}],
}


async def _events(http: httpx.AsyncClient, job_id: str, **headers: str) -> list[ServerSentEvent]:
    async with aconnect_sse(http, "GET", f"/status/{job_id}/events", headers=headers) as source:
        assert source.response.status_code == 200
        assert source.response.headers["content-type"].startswith("text/event-stream")
        return [event async for event in source.aiter_sse()]


async def test_a_watcher_sees_progress_then_the_end(
    settings: Settings, run_worker: WorkerRunner
) -> None:
    small = settings.model_copy(update={"generate_chunk_size": 10_000})
    async with (
        served(small) as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http,
    ):
        job_id = (await http.post("/generate", json=BODY)).json()["job_id"]
        watching = asyncio.create_task(_events(http, job_id))
        await asyncio.sleep(0.3)
        run_worker.start([QueueName.generation], settings=small)
        events = await watching

    progress = [orjson.loads(e.data) for e in events if e.event == "progress"]
    assert progress[0]["status"] == "pending"
    done = [p["progress"]["done"] for p in progress if p["status"] == "in_progress"]
    assert len(done) >= 3, progress
    assert done == sorted(done)
    assert all(p["id"] == job_id and p["type"] == "generate" for p in progress)
    end = events[-1]
    assert end.event == "end"
    document = orjson.loads(end.data)
    assert document["status"] == "completed"
    assert document["result"]["rows"] == 200_000
    assert end.id == "completed.1.200000.200000"
    assert len({e.id for e in events}) == len(events)
    assert all(e.retry == 2_000 for e in events)


async def test_last_event_id_resumes_and_a_seen_end_is_a_204(
    settings: Settings, run_worker: WorkerRunner
) -> None:
    run_worker.start([QueueName.generation])
    async with (
        served(settings) as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http,
    ):
        body = {**BODY, "count": 100}
        job_id = (await http.post("/generate", json=body)).json()["job_id"]
        first = await _events(http, job_id)
        end = first[-1]
        assert end.event == "end"
        # A client that lost the stream before the end is sent the end at once.
        again = await _events(http, job_id, **{"Last-Event-ID": "in_progress.1.0.100"})
        assert [e.event for e in again] == ["end"]
        # One that saw it is told there is nothing more (EventSource stops reconnecting).
        seen = await http.get(f"/status/{job_id}/events", headers={"Last-Event-ID": end.id})
        assert seen.status_code == 204
        missing = await http.get("/status/5a3f7c2e-0000-4000-8000-000000000000/events")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"


async def test_a_cancel_ends_every_watchers_stream_on_one_listen(settings: Settings) -> None:
    async with (
        served(settings) as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http,
    ):
        job_id = (await http.post("/generate", json=BODY)).json()["job_id"]
        watchers = [asyncio.create_task(_events(http, job_id)) for _ in range(20)]
        await asyncio.sleep(0.5)
        pg = await asyncpg.connect(settings.asyncpg_dsn)
        try:
            listening = await pg.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1"
                " AND query LIKE 'LISTEN%'",
                settings.application_name,
            )
        finally:
            await pg.close()
        assert listening == 1
        assert (await http.post(f"/jobs/{job_id}/cancel")).status_code == 200
        streams = await asyncio.gather(*watchers)

    for events in streams:
        assert [e.event for e in events] == ["progress", "end"]
        document: dict[str, Any] = orjson.loads(events[-1].data)
        assert document["status"] == "cancelled"
