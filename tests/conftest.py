"""Shared fixtures: the real Postgres and Redis on this machine (embedded ones where it has
none), isolated per run and per test.

The session gets its own Postgres schema (created by running the migrations, dropped at the end).
Each test gets its own queue prefix in Redis (its keys deleted afterwards) and empty tables.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from sqlalchemy import text

from datatasks.core.config import Environment, QueueName, QueueSettings, Settings, load_settings
from datatasks.core.db import SessionMaker, create_engine, create_sessionmaker
from datatasks.core.logging import configure_logging
from datatasks.embedded import Missing, embedded_servers
from datatasks.jobs.execution import Handler
from datatasks.migrations.runner import upgrade
from datatasks.models import Job
from datatasks.worker.handlers import HANDLERS
from datatasks.worker.main import run_worker as run_worker_process
from tests.helpers import api_client

# S3-compatible server (moto) and per-test storage fixtures.
pytest_plugins = [
    "tests.fixtures.s3",
    "tests.fixtures.servers",
    "tests.fixtures.queue_tool",
    "tests.fixtures.webhooks",
]

TABLES = (
    "records",
    "export_datasets",
    "datasets",
    "uploads",
    "job_outbox",
    "webhook_deliveries",
    "jobs",
)
# Each dataset's partition goes too: truncating `records` would empty them but keep them.
DROP_PARTITIONS = """
DO $$
DECLARE p regclass;
BEGIN
    FOR p IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'records'::regclass
    LOOP
        EXECUTE format('DROP TABLE %s', p);
    END LOOP;
END $$
"""


class RunningWorker:
    """An in-process worker (the real bullmq consumer loop, run_worker itself)."""

    def __init__(self, task: asyncio.Task[int], stop_event: asyncio.Event) -> None:
        self.task = task
        self.stop_event = stop_event

    async def stop(self) -> int:
        """Stop it as SIGTERM would; returns its exit code."""
        self.stop_event.set()
        return await self.task


class WorkerRunner:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._running: list[RunningWorker] = []

    def start(
        self,
        queues: Sequence[QueueName] = (QueueName.generation,),
        handlers: Mapping[QueueName, Handler] = HANDLERS,
        settings: Settings | None = None,
    ) -> RunningWorker:
        stop = asyncio.Event()
        task = asyncio.create_task(
            run_worker_process(
                settings or self.settings, list(queues), stop=stop, handlers=handlers
            )
        )
        worker = RunningWorker(task, stop)
        self._running.append(worker)
        return worker

    async def stop(self) -> None:
        codes = await asyncio.gather(*(w.stop() for w in self._running))
        self._running.clear()
        assert all(code == 0 for code in codes), f"a worker exited with {codes}"


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The machine's Postgres and Redis (configured, or answering on the default ports), or,
    on a machine with only Python, embedded ones of the session's own on free ports."""
    missing = Missing.on_this_machine(load_settings())
    if not (missing.postgres or missing.redis):
        yield {}
        return
    directory = tmp_path_factory.mktemp("embedded")
    with embedded_servers(directory, missing, default_ports=False) as urls:
        yield {name.lower(): url for name, url in urls.items()}


@pytest.fixture(scope="session")
def base_settings(servers: dict[str, Any]) -> Iterator[Settings]:
    run = uuid.uuid4().hex[:10]
    settings = load_settings(
        **servers,
        app_env=Environment.test,
        database_schema=f"test_{run}",
        queue_prefix=f"test-{run}",
        log_json=False,
        log_level="WARNING",
        shutdown_grace_s=5.0,
        # Quick retries and quick recovery of stalled jobs keep the suite fast.
        queues={
            name: QueueSettings(backoff_ms=50, lock_duration_ms=4_000, stalled_interval_ms=1_000)
            for name in QueueName
        },
    )
    configure_logging(settings.log_level, json=False)
    upgrade(settings)
    yield settings
    asyncio.run(_drop_schema(settings))


async def _drop_schema(settings: Settings) -> None:
    engine = create_engine(settings)
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{settings.database_schema}" CASCADE'))
    await engine.dispose()


@pytest.fixture
async def settings(base_settings: Settings, tmp_path: Path) -> AsyncIterator[Settings]:
    """Settings for one test: its own queue prefix and storage directory; tables emptied and
    keys deleted after it."""
    prefix = f"{base_settings.queue_prefix}-{uuid.uuid4().hex[:8]}"
    settings = base_settings.model_copy(
        update={"queue_prefix": prefix, "storage_dir": tmp_path / "storage"}
    )
    yield settings
    redis = aioredis.from_url(str(settings.redis_url))
    keys = [k async for k in redis.scan_iter(match=f"{prefix}:*", count=1000)]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()
    engine = create_engine(settings)
    async with engine.begin() as conn:
        await conn.execute(text(DROP_PARTITIONS))
        await conn.execute(text(f"TRUNCATE {', '.join(TABLES)}"))
    await engine.dispose()


@pytest.fixture
async def sessionmaker(settings: Settings) -> AsyncIterator[SessionMaker]:
    engine = create_engine(settings)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API through ASGITransport, with its lifespan (connections) running."""
    async with api_client(settings) as c:
        yield c


@pytest.fixture
async def run_worker(settings: Settings) -> AsyncIterator[WorkerRunner]:
    """Start in-process workers (the real bullmq consumer loop) and stop them after the test."""
    runner = WorkerRunner(settings)
    yield runner
    await runner.stop()


WaitJob = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def wait_job(sessionmaker: SessionMaker) -> WaitJob:
    """Poll a job row until it reaches one of `statuses`; returns the row as a dict."""

    async def wait(
        job_id: uuid.UUID | str, statuses: Sequence[str] = ("completed",), timeout: float = 60
    ) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                async with sessionmaker() as session:
                    job = await session.get(Job, uuid.UUID(str(job_id)))
                    if job is not None and job.status in statuses:
                        return {c.name: getattr(job, c.name) for c in Job.__table__.columns}
                await asyncio.sleep(0.05)

    return wait
