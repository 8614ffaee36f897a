"""Start-up as an operator meets it: each thing that keeps a process from working is said in
one line on stderr (what is wrong and what fixes it), exit status 2, within 5 seconds; no
traceback unless LOG_LEVEL=DEBUG. And a worker that loses Redis later says so, and when it is
back."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from typing import IO

import asyncpg
import httpx
import pytest

from datatasks.core.config import Settings
from datatasks.core.preflight import head_revision
from datatasks.embedded import free_port
from tests.e2e.conftest import DATATASKS, Service
from tests.fixtures.servers import OwnRedis

pytestmark = pytest.mark.e2e


def refused(service: Service, *args: str, **env: str) -> str:
    """Run a command that must refuse to start; its one line."""
    done = subprocess.run(
        [DATATASKS, *args],
        env={**service.env, **env},
        capture_output=True,
        text=True,
        timeout=5,
    )
    assert done.returncode == 2, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_an_unmigrated_schema_stops_api_and_worker_with_the_fix(service: Service) -> None:
    empty = f"empty_{uuid.uuid4().hex[:8]}"
    for command in ("api", "worker"):
        line = refused(service, command, DATABASE_SCHEMA=empty)
        assert line == (
            f'datatasks: the database schema "{empty}" has no tables yet: run `datatasks migrate`'
            f" (Postgres at {service.env['DATABASE_URL']})"
        )


def test_unreachable_postgres_is_named_with_its_url_and_no_password(service: Service) -> None:
    url = f"postgresql://app:s3cret@127.0.0.1:{free_port()}/db"
    for command in ("migrate", "api", "worker", "run"):
        line = refused(service, command, DATABASE_URL=url)
        assert line.startswith(
            f"datatasks: Postgres at postgresql://app:***@127.0.0.1:{url.split(':')[3]}"
            " is unreachable (ConnectionRefusedError"
        ), line
        assert line.endswith(": start it, or set DATABASE_URL")
        assert "s3cret" not in line


def test_a_traceback_only_at_debug(service: Service) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/db"
    done = subprocess.run(
        [DATATASKS, "worker"],
        env={**service.env, "DATABASE_URL": url, "LOG_LEVEL": "debug", "LOG_JSON": "false"},
        capture_output=True,
        text=True,
        timeout=5,
    )
    assert done.returncode == 2
    assert "Traceback" in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("datatasks: Postgres at")


def test_unreachable_redis_stops_the_worker_and_run_but_not_the_api(
    service: Service, settings: Settings
) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    for command in ("worker", "run"):
        line = refused(service, command, REDIS_URL=url)
        assert line.startswith(f"datatasks: Redis at {url} is unreachable ("), line
        assert line.endswith(": start it, or set REDIS_URL")

    # The API accepts jobs without Redis (they wait in the outbox): it says so and serves.
    service.env["REDIS_URL"] = url
    api = service.start("api", "--port", str(service.port), stderr=subprocess.PIPE)

    async def degraded() -> dict[str, object]:
        async with httpx.AsyncClient(timeout=10) as http, asyncio.timeout(30):
            while True:
                try:
                    response = await http.get(f"{service.url}/health/ready")
                    body: dict[str, object] = response.json()
                    return body
                except httpx.TransportError:
                    await asyncio.sleep(0.1)

    assert asyncio.run(degraded())["status"] == "degraded"
    api.terminate()
    assert api.stderr is not None
    assert "api.redis_unreachable" in api.stderr.read().decode()


async def test_ready_names_a_schema_that_fell_behind(
    service: Service, http: httpx.AsyncClient, pg: asyncpg.Connection
) -> None:
    service.api()
    await service.ready(http)
    await pg.execute("UPDATE alembic_version SET version_num = '0001'")
    try:
        response = await http.get(f"{service.url}/health/ready")
        assert response.status_code == 503
        problem = response.json()
        assert "behind this version's" in problem["detail"]
        assert "run `datatasks migrate`" in problem["checks"]["schema"]
        assert problem["checks"]["postgres"] == "ok"
        # Migrated by a newer version (a rolling deploy): still serving, degraded.
        await pg.execute("UPDATE alembic_version SET version_num = '9999'")
        newer = await http.get(f"{service.url}/health/ready")
        assert newer.status_code == 200
        assert newer.json()["status"] == "degraded"
        assert "a newer version migrated it" in newer.json()["checks"]["schema"]
    finally:
        await pg.execute("UPDATE alembic_version SET version_num = $1", head_revision())
    assert (await http.get(f"{service.url}/health/ready")).status_code == 200


async def _lines(stream: IO[bytes], wanted: str) -> str:
    """Read the worker's log until a line with `wanted` (the stream is read in a thread)."""
    async with asyncio.timeout(30):
        while True:
            line = (await asyncio.to_thread(stream.readline)).decode()
            assert line, f"the worker stopped before logging {wanted}"
            if wanted in line:
                return line


async def test_a_worker_says_when_redis_is_lost_and_when_it_is_back(
    service: Service, own_redis: OwnRedis
) -> None:
    service.env.update(REDIS_URL=own_redis.url, LOG_LEVEL="info")  # any case
    worker = service.start("worker", stderr=subprocess.PIPE)
    assert worker.stderr is not None
    await _lines(worker.stderr, "worker.started")
    own_redis.kill()
    lost = await _lines(worker.stderr, "redis.lost")
    assert own_redis.url in lost
    own_redis.start()
    await _lines(worker.stderr, "redis.back")
