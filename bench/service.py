"""Run the real service processes against a throwaway schema and queue prefix."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx

from datatasks.core.config import Settings, load_settings
from datatasks.migrations.runner import upgrade

DATATASKS = shutil.which("datatasks", path=str(Path(sys.executable).parent)) or "datatasks"


def bench_settings() -> Settings:
    run = uuid.uuid4().hex[:8]
    return load_settings(database_schema=f"bench_{run}", queue_prefix=f"bench-{run}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Service:
    def __init__(self, settings: Settings, storage_dir: Path) -> None:
        self.settings = settings
        self.storage_dir = storage_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATABASE_SCHEMA": settings.database_schema,
            "QUEUE_PREFIX": settings.queue_prefix,
            "LOG_LEVEL": "WARNING",
            "STORAGE_DIR": str(storage_dir),
        }
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([DATATASKS, *args], env=self.env)
        self.procs.append(proc)
        return proc

    async def wait_ready(self) -> None:
        async with httpx.AsyncClient() as client, asyncio.timeout(30):
            while True:
                try:
                    if (await client.get(f"{self.url}/health/ready")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            proc.wait(timeout=60)


@asynccontextmanager
async def running_service(
    settings: Settings, *, api: bool = True, worker: bool = True
) -> AsyncIterator[Service]:
    """A migrated schema with the API and/or a worker running; all of it removed afterwards."""
    await asyncio.to_thread(upgrade, settings)
    storage = tempfile.TemporaryDirectory(prefix="datatasks-bench-")
    service = Service(settings, Path(storage.name))
    try:
        if api:
            service.start("api", "--port", str(service.port))
        if worker:
            service.start("worker")
        if api:
            await service.wait_ready()
        yield service
    finally:
        service.stop()
        await drop(settings)
        storage.cleanup()


async def drop(settings: Settings) -> None:
    conn = await asyncpg.connect(settings.asyncpg_dsn)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{settings.database_schema}" CASCADE')
    finally:
        await conn.close()
    import redis.asyncio as aioredis

    client = aioredis.from_url(str(settings.redis_url))
    keys = [k async for k in client.scan_iter(match=f"{settings.queue_prefix}:*", count=1000)]
    if keys:
        await client.delete(*keys)
    await client.aclose()
