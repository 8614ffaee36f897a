"""FastAPI dependencies, as `Annotated` aliases routes declare by type.

All are `async def`: FastAPI runs a plain `def` dependency in a thread pool, a costly hop on
every request for what is an attribute lookup.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import asyncpg
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from datatasks.core.config import Settings
from datatasks.core.db import SessionMaker
from datatasks.core.queue import Queues
from datatasks.jobs.backlog import Backlog
from datatasks.jobs.writer import JobWriter
from datatasks.storage import Storage


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _queues(request: Request) -> Queues:
    queues: Queues = request.app.state.queues
    return queues


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session per request, for the routes that read jobs or change one (cancel, retry); anything
    left uncommitted is rolled back here."""
    sessionmaker: SessionMaker = request.app.state.sessionmaker
    async with sessionmaker() as session:
        yield session


async def _pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


async def _writer(request: Request) -> JobWriter:
    writer: JobWriter = request.app.state.writer
    return writer


async def _backlog(request: Request) -> Backlog:
    backlog: Backlog = request.app.state.backlog
    return backlog


async def _storage(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


SettingsDep = Annotated[Settings, Depends(_settings)]
StorageDep = Annotated[Storage, Depends(_storage)]
QueuesDep = Annotated[Queues, Depends(_queues)]
SessionDep = Annotated[AsyncSession, Depends(_session)]
WriterDep = Annotated[JobWriter, Depends(_writer)]
# The API's asyncpg pool, for the few routes that write more than a job row (uploads).
PoolDep = Annotated[asyncpg.Pool, Depends(_pool)]
BacklogDep = Annotated[Backlog, Depends(_backlog)]
