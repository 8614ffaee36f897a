"""Running the real `datatasks` processes against the test's schema, queues and storage."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import IO, Any

import asyncpg
import httpx
import pytest

from datatasks.core.config import Settings
from datatasks.embedded import free_port

DATATASKS = shutil.which("datatasks", path=str(Path(sys.executable).parent)) or "datatasks"
FIELDS = [
    {"name": "n", "type": "sequence"},
    {"name": "id", "type": "uuid"},
    {"name": "name", "type": "full_name"},
    {"name": "email", "type": "email"},
    {"name": "joined", "type": "datetime"},
]


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
            "INGEST_CHUNK_SIZE": "5000",
            "STORAGE_DIR": str(settings.storage_dir),
            # A killed worker's jobs come back within seconds; a lost one within seconds too.
            **{
                f"QUEUES__{queue}__{name}": value
                for queue in ("GENERATION", "INGEST", "EXPORT")
                for name, value in (
                    ("LOCK_DURATION_MS", "3000"),
                    ("STALLED_INTERVAL_MS", "1000"),
                    ("BACKOFF_MS", "200"),
                )
            },
            "RECONCILE_INTERVAL_S": "1",
            "RECONCILE_QUIET_S": "2",
        }
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str, stderr: IO[bytes] | int | None = None) -> subprocess.Popen[bytes]:
        # A session of its own, so cleanup reaches `datatasks run`'s children too.
        proc = subprocess.Popen(
            [DATATASKS, *args], env=self.env, start_new_session=True, stderr=stderr
        )
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


# What each of a set of jobs wrote: its dataset's records and distinct sequence numbers, in one
# grouped pass (a correlated sub-select per job would plan an Append over every partition).
COUNTS = """
WITH counts AS (
    SELECT r.dataset_id, count(*) AS records, count(DISTINCT r.data->>'n') AS ns
    FROM records r JOIN datasets d ON d.id = r.dataset_id JOIN jobs j ON j.id = d.job_id
    WHERE j.id = ANY($1) GROUP BY r.dataset_id
)
"""


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
            response = await http.get(url)
            if response.status_code == 503:  # a dependency blipped: ask again
                await asyncio.sleep(0.1)
                continue
            status: dict[str, Any] = response.json()
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
