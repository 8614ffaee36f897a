"""Faults injected into the real processes: killed workers, lost Redis data, dropped
Postgres connections, unreachable dependencies. Nothing is lost, nothing is doubled."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import gzip
import hashlib
import io
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis

from datatasks.core.config import Settings
from tests.e2e.conftest import FIELDS, Service, poll, sequence_numbers

pytestmark = pytest.mark.e2e


async def wait_for_progress(http: httpx.AsyncClient, url: str, at_least: int = 1) -> None:
    async with asyncio.timeout(60):
        while (await http.get(url)).json()["progress"]["done"] < at_least:
            await asyncio.sleep(0.02)


def kill(proc: Any) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()


async def test_a_killed_worker_s_ingest_is_finished_by_another_exactly(
    service: Service, http: httpx.AsyncClient, pg: asyncpg.Connection, tmp_path: Path
) -> None:
    service.api()
    first = service.start("worker", "--queues", "ingest")
    await service.ready(http)
    rows = 300_000
    source = tmp_path / "big.csv"
    source.write_text("n,name\n" + "".join(f"{i},name {i}\n" for i in range(rows)))
    with source.open("rb") as f:
        response = await http.post(f"{service.url}/upload", files={"file": ("big.csv", f)})
    assert response.status_code == 202, response.text
    status_url = service.url + response.headers["location"]
    await wait_for_progress(http, status_url)
    kill(first)
    service.start("worker", "--queues", "ingest")
    status = await poll(http, status_url)
    assert status["result"]["rows"] == rows
    numbers = await pg.fetch(
        "SELECT (data->>'n')::int FROM records WHERE dataset_id = $1 ORDER BY 1",
        uuid.UUID(status["result"]["dataset_id"]),
    )
    assert [r[0] for r in numbers] == list(range(rows))


async def test_a_killed_worker_s_export_is_written_again_and_published_once(
    service: Service, http: httpx.AsyncClient, settings: Settings
) -> None:
    service.api()
    service.start("worker", "--queues", "generation")
    await service.ready(http)
    count = 600_000
    generated = await http.post(
        f"{service.url}/generate",
        json={"record_type": "u", "count": count, "seed": 4, "fields": FIELDS},
    )
    dataset_id = (await poll(http, service.url + generated.headers["location"]))["result"][
        "dataset_id"
    ]
    first = service.start("worker", "--queues", "export")
    exported = await http.post(
        f"{service.url}/export",
        json={"format": "csv", "dataset_id": dataset_id, "compression": "gzip"},
    )
    status_url = service.url + exported.headers["location"]
    await wait_for_progress(http, status_url)
    kill(first)
    service.start("worker", "--queues", "export")
    result = (await poll(http, status_url))["result"]

    download = await http.get(service.url + result["download_url"])
    assert download.status_code == 200
    assert hashlib.sha256(download.content).hexdigest() == result["sha256"]
    body = gzip.decompress(download.content).decode()
    lines = list(csv.reader(io.StringIO(body)))
    assert len(lines) == count + 1
    assert sorted(int(line[0]) for line in lines[1:]) == list(range(1, count + 1))
    published = [p for p in (settings.storage_dir / "exports").rglob("*.gz")]
    assert len(published) == 1


async def test_jobs_survive_redis_losing_every_key(
    service: Service, http: httpx.AsyncClient, pg: asyncpg.Connection, settings: Settings
) -> None:
    service.api()
    await service.ready(http)
    body = {"record_type": "u", "seed": 5, "fields": FIELDS}
    urls = []
    for count in (200_000, 3_000, 3_000, 3_000):
        response = await http.post(f"{service.url}/generate", json={**body, "count": count})
        urls.append(service.url + response.headers["location"])
    worker = service.start("worker", "--queues", "generation", "--concurrency", "1")
    await wait_for_progress(http, urls[0])
    # What a Redis restart without persistence does to this service's queues (FLUSHALL,
    # scoped to this test's keys so other users of this Redis are spared).
    redis = aioredis.from_url(str(settings.redis_url))
    keys = [k async for k in redis.scan_iter(match=f"{settings.queue_prefix}:*")]
    await redis.delete(*keys)
    await redis.aclose()
    started = time.monotonic()
    for url, count in zip(urls, (200_000, 3_000, 3_000, 3_000), strict=True):
        status = await poll(http, url)
        assert await sequence_numbers(pg, status["result"]["dataset_id"]) == list(
            range(1, count + 1)
        )
    assert time.monotonic() - started < 60
    assert worker.poll() is None


async def test_dropped_postgres_connections_are_retried(
    service: Service, http: httpx.AsyncClient, pg: asyncpg.Connection, settings: Settings
) -> None:
    service.api()
    service.start("worker", "--queues", "generation")
    await service.ready(http)
    count = 300_000
    response = await http.post(
        f"{service.url}/generate",
        json={"record_type": "u", "count": count, "seed": 6, "fields": FIELDS},
    )
    status_url = service.url + response.headers["location"]
    await wait_for_progress(http, status_url)
    # Another instance on the same server (its own schema) must not be touched.
    bystander = await asyncpg.connect(
        settings.asyncpg_dsn,
        server_settings={
            "application_name": settings.model_copy(
                update={"database_schema": "someone_else"}
            ).application_name
        },
    )
    terminated = await pg.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE application_name = $1 AND pid <> pg_backend_pid() "
        "AND query NOT ILIKE '%pg_stat_activity%'",
        settings.application_name,
    )
    assert terminated > 0
    try:
        assert await bystander.fetchval("SELECT 1") == 1
    finally:
        await bystander.close()
    status = await poll(http, status_url)
    assert await sequence_numbers(pg, status["result"]["dataset_id"]) == list(range(1, count + 1))
    # The API, whose connections were dropped too, recovers by itself (at most one 503).
    assert (await http.get(status_url)).status_code == 200


class SilencingProxy:
    """A TCP proxy to Postgres that can turn into a Postgres that never answers: it cuts the
    connections it carries and accepts new ones without a word."""

    def __init__(self, upstream_port: int) -> None:
        self._upstream = upstream_port
        self.silent = False
        self._carried: list[asyncio.StreamWriter] = []

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    def silence(self) -> None:
        self.silent = True
        for writer in self._carried:
            writer.transport.abort()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.silent:
            return  # accepted, and never a byte back
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._upstream)
        self._carried += [writer, up_writer]

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))

    def close(self) -> None:
        self._server.close()


async def test_an_api_whose_postgres_stops_answering_answers_503_quickly(
    service: Service, http: httpx.AsyncClient, settings: Settings
) -> None:
    proxy = SilencingProxy(settings.database_url.hosts()[0]["port"] or 5432)
    port = await proxy.start()
    service.env["DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    service.api()
    await service.ready(http)
    proxy.silence()
    ready = await http.get(f"{service.url}/health/ready")
    assert ready.status_code == 503
    started = time.monotonic()
    response = await http.post(
        f"{service.url}/generate", json={"record_type": "u", "count": 1, "fields": FIELDS}
    )
    assert time.monotonic() - started < 3
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    proxy.close()
