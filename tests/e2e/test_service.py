"""The real processes: `datatasks api`, `datatasks worker` and `datatasks run`, over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from datatasks.core.config import Settings

pytestmark = pytest.mark.e2e

DATATASKS = shutil.which("datatasks", path=str(Path(sys.executable).parent)) or "datatasks"
FIELDS = [
    {"name": "n", "type": "sequence"},
    {"name": "id", "type": "uuid"},
    {"name": "name", "type": "full_name"},
    {"name": "email", "type": "email"},
    {"name": "joined", "type": "datetime"},
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Service:
    """Starts datatasks commands with the test's schema and queue prefix in their environment."""

    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": str(settings.database_url),
            "DATABASE_SCHEMA": settings.database_schema,
            "REDIS_URL": str(settings.redis_url),
            "QUEUE_PREFIX": settings.queue_prefix,
            "APP_ENV": "test",
            "LOG_LEVEL": "WARNING",
            "GENERATE_CHUNK_SIZE": "5000",
            "QUEUES__GENERATION__LOCK_DURATION_MS": "3000",
            "QUEUES__GENERATION__STALLED_INTERVAL_MS": "1000",
        }
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        # A session of its own, so cleanup reaches `datatasks run`'s children too.
        proc = subprocess.Popen([DATATASKS, *args], env=self.env, start_new_session=True)
        self.procs.append(proc)
        return proc

    def api(self) -> subprocess.Popen[bytes]:
        return self.start("api", "--port", str(self.port))

    async def ready(self, client: httpx.AsyncClient) -> None:
        async with asyncio.timeout(30):
            while True:
                try:
                    if (await client.get(f"{self.url}/health/ready")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)

    def stop_all(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture
def service(settings: Settings) -> Iterator[Service]:
    service = Service(settings)
    yield service
    service.stop_all()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


@pytest.fixture
async def pg(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(
        settings.asyncpg_dsn, server_settings={"search_path": settings.database_schema}
    )
    yield conn
    await conn.close()


async def poll(http: httpx.AsyncClient, url: str, until: str = "completed") -> dict[str, Any]:
    async with asyncio.timeout(90):
        while True:
            status: dict[str, Any] = (await http.get(url)).json()
            if status["status"] == until:
                return status
            assert status["status"] in ("pending", "in_progress"), status
            await asyncio.sleep(0.1)


async def sequence_numbers(pg: asyncpg.Connection, dataset_id: str) -> list[int]:
    rows = await pg.fetch(
        "SELECT (data->>'n')::bigint FROM records WHERE dataset_id = $1 ORDER BY 1",
        uuid.UUID(dataset_id),
    )
    return [r[0] for r in rows]


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
