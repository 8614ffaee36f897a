"""Database engines: SQLAlchemy for the small typed parts, an asyncpg pool for COPY."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from datatasks.core.config import Settings

SessionMaker = async_sessionmaker[AsyncSession]

# What "Postgres is unreachable" looks like, through SQLAlchemy or asyncpg directly. Not
# every OSError: a missing file is a bug, not an outage.
DB_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    PoolTimeout,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    ConnectionError,
    TimeoutError,
    socket.gaierror,
)


def _server_settings(settings: Settings) -> dict[str, str]:
    return {"search_path": settings.database_schema, "application_name": "datatasks"}


def create_engine(settings: Settings, *, pre_ping: bool = False) -> AsyncEngine:
    """`pre_ping` replaces a connection Postgres dropped (restart, pg_terminate_backend) before
    use, for a round trip per checkout: workers want it (a job should not fail for it); the API
    does without on its hot path - a dropped connection costs one request a 503, after which
    SQLAlchemy discards the whole pool."""
    return create_async_engine(
        settings.sqlalchemy_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_pool_size,
        pool_pre_ping=pre_ping,
        pool_timeout=settings.dependency_timeout_s,
        connect_args={
            "server_settings": _server_settings(settings),
            "timeout": settings.dependency_timeout_s,
        },
    )


def create_sessionmaker(engine: AsyncEngine) -> SessionMaker:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def session_scope(sessionmaker: SessionMaker) -> AsyncIterator[AsyncSession]:
    """One unit of work: committed if the block succeeds, rolled back if it raises."""
    async with sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


async def create_copy_pool(settings: Settings, *, size: int) -> asyncpg.Pool:
    """Raw asyncpg connections for the bulk paths (binary COPY)."""
    pool: asyncpg.Pool = await asyncpg.create_pool(
        settings.asyncpg_dsn,
        min_size=1,
        max_size=size,
        server_settings=_server_settings(settings),
    )
    return pool
