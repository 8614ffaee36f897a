"""The real processes: `datatasks api`, `datatasks worker` and `datatasks run`, over HTTP."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import asyncpg
import httpx
import orjson
import pytest

from tests.e2e.conftest import FIELDS, Service, poll, sequence_numbers

pytestmark = pytest.mark.e2e


async def test_generate_over_http_with_real_processes(
    service: Service, http: httpx.AsyncClient, pg: asyncpg.Connection
) -> None:
    service.api()
    service.start("worker", "--queues", "generation", "--concurrency", "2")
    await service.ready(http)

    response = await http.post(
        f"{service.url}/generate",
        json={"record_type": "user", "count": 20_000, "seed": 1, "fields": FIELDS},
    )
    assert response.status_code == 202
    status = await poll(http, service.url + response.headers["location"])
    assert status["result"]["rows"] == 20_000
    assert await sequence_numbers(pg, status["result"]["dataset_id"]) == list(range(1, 20_001))


async def test_a_killed_worker_s_job_is_finished_by_another_with_exact_rows(
    service: Service, http: httpx.AsyncClient, pg: asyncpg.Connection
) -> None:
    service.api()
    first = service.start("worker")
    await service.ready(http)
    count = 400_000
    response = await http.post(
        f"{service.url}/generate",
        json={"record_type": "user", "count": count, "seed": 2, "fields": FIELDS},
    )
    status_url = service.url + response.headers["location"]

    async with asyncio.timeout(60):
        while (await http.get(status_url)).json()["progress"]["done"] < 20_000:
            await asyncio.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
    killed_at = (await http.get(status_url)).json()["progress"]["done"]
    assert killed_at < count, "the job finished before the kill; make it larger"

    service.start("worker")
    status = await poll(http, status_url)
    assert status["result"]["rows"] == count
    assert await sequence_numbers(pg, status["result"]["dataset_id"]) == list(range(1, count + 1))


async def test_run_serves_and_ctrl_c_stops_api_and_worker(
    service: Service, http: httpx.AsyncClient
) -> None:
    run = service.start("run", "--port", str(service.port))
    await service.ready(http)
    response = await http.post(
        f"{service.url}/generate",
        json={"record_type": "user", "count": 100, "fields": FIELDS},
    )
    await poll(http, service.url + response.headers["location"])

    run.send_signal(signal.SIGINT)
    assert run.wait(timeout=30) == 0
    with pytest.raises(httpx.TransportError):
        await http.get(f"{service.url}/health/live")


async def test_api_with_several_processes_serves_and_logs_as_one_does(
    service: Service, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    service.env["LOG_LEVEL"] = "INFO"
    log = tmp_path / "api.log"
    with log.open("wb") as stderr:
        api = service.start("api", "--port", str(service.port), "--workers", "2", stderr=stderr)
        await service.ready(http)
        body = {"record_type": "user", "count": 10, "fields": FIELDS}
        for _ in range(10):
            response = await http.post(f"{service.url}/generate", json=body)
            assert response.status_code == 202
        api.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(api.wait, 30) == 0
    lines = [orjson.loads(line) for line in log.read_bytes().splitlines() if line.strip()]
    # Each process's lines are the service's JSON lines, at the configured level.
    served = [
        line for line in lines if line["event"] == "http.request" and line["method"] == "POST"
    ]
    assert len(served) == 10
    assert all(line["status"] == 202 and line["job_id"] for line in served)
