"""What a task handler gets: configuration and the worker's connections, nothing global."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg

from datatasks.core.config import Settings
from datatasks.core.db import PostgresUnavailable, SessionMaker, guarded, postgres_only
from datatasks.storage import Storage


@dataclass(frozen=True, slots=True)
class TaskContext:
    settings: Settings
    sessionmaker: SessionMaker
    # asyncpg connections for COPY; SQLAlchemy is for the small typed updates.
    pool: asyncpg.Pool
    # CPU work (making rows) runs here so it overlaps with the COPY on the event loop.
    cpu: ThreadPoolExecutor
    storage: Storage

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[asyncpg.Connection]:
        """A COPY connection for a job's work, which ends with PostgresUnavailable as soon as
        Postgres drops it (see `guarded`), and is had within `worker_db_timeout_s`."""
        async with postgres_only("cannot connect to Postgres"):
            conn: asyncpg.Connection = await self.pool.acquire(
                timeout=self.settings.worker_db_timeout_s
            )
        try:
            async with guarded(conn, None):
                yield conn
        finally:
            try:
                await self.pool.release(conn, timeout=self.settings.worker_db_timeout_s)
            except Exception as exc:
                # The pool has dropped the connection; only an outage makes a reset fail.
                raise PostgresUnavailable(f"cannot reset the connection: {exc!r}") from exc

    @asynccontextmanager
    async def step(self, conn: asyncpg.Connection) -> AsyncIterator[None]:
        """One bounded step of work on `conn` (a chunk's COPY and checkpoint)."""
        async with guarded(conn, self.settings.worker_db_timeout_s):
            yield


# A handler takes the job row's id and returns the job's result. It must be idempotent:
# re-running it after a crash or a re-delivery leaves the same effect as one run.
Handler = Callable[[TaskContext, uuid.UUID], Coroutine[Any, Any, dict[str, Any]]]
