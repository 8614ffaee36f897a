"""Telling a Postgres outage from a bad statement, and bounding work on a connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from datatasks.core.config import Settings
from datatasks.core.db import (
    PostgresUnavailable,
    SessionMaker,
    guarded,
    is_db_unavailable,
    is_deterministic_db_error,
)


@pytest.fixture
async def conn(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(settings.asyncpg_dsn)
    yield conn
    await conn.close()


def wide_rows(count: int) -> Iterator[tuple[str]]:
    return (("x" * 2_000,) for _ in range(count))


async def test_a_copy_on_a_connection_postgres_drops_ends_at_once(
    conn: asyncpg.Connection, settings: Settings
) -> None:
    # A COPY whose socket buffer is full when the server goes away waits forever in asyncpg
    # (for "writing allowed" again); guarded ends it when the connection is lost.
    await conn.execute("CREATE TEMP TABLE wide (v text)")
    other = await asyncpg.connect(settings.asyncpg_dsn)
    pid = conn.get_server_pid()

    async def drop_it() -> None:
        await asyncio.sleep(0.3)
        await other.execute("SELECT pg_terminate_backend($1)", pid)

    dropper = asyncio.create_task(drop_it())
    try:
        with pytest.raises(PostgresUnavailable):
            async with asyncio.timeout(30), guarded(conn, None):
                await conn.copy_records_to_table("wide", records=wide_rows(10_000_000))
    finally:
        await dropper
        await other.close()
    assert conn.is_closed()


async def test_a_step_that_outlives_its_bound_is_cut_and_its_connection_dropped(
    conn: asyncpg.Connection,
) -> None:
    with pytest.raises(PostgresUnavailable, match=r"did not answer within 0\.2 s"):
        async with guarded(conn, 0.2):
            await conn.execute("SELECT pg_sleep(10)")
    assert conn.is_closed()


async def test_errors_inside_a_guarded_block_pass_through_untouched(
    conn: asyncpg.Connection,
) -> None:
    with pytest.raises(asyncpg.UndefinedTableError):
        async with guarded(conn, 5):
            await conn.execute("SELECT * FROM no_such_table")
    assert not conn.is_closed()
    assert await conn.fetchval("SELECT 1") == 1


def test_a_server_starting_up_or_shutting_down_is_an_outage() -> None:
    starting = asyncpg.exceptions.CannotConnectNowError("the database system is starting up")
    assert is_db_unavailable(starting)
    assert is_db_unavailable(asyncpg.exceptions.AdminShutdownError("terminating connection"))
    # As SQLAlchemy hands it over: a plain DBAPIError wrapping the driver's error.
    wrapped = DBAPIError("SELECT 1", None, starting)
    assert is_db_unavailable(wrapped)
    assert not is_deterministic_db_error(wrapped)


def test_a_closed_connection_is_an_outage_but_a_busy_one_is_a_bug() -> None:
    assert is_db_unavailable(asyncpg.InterfaceError("connection is closed"))
    assert not is_db_unavailable(
        asyncpg.InterfaceError("cannot perform operation: another operation is in progress")
    )
    # A file's OSError is not Postgres being away.
    assert not is_db_unavailable(FileNotFoundError("/nowhere"))


async def test_a_statement_postgres_refuses_is_deterministic(sessionmaker: SessionMaker) -> None:
    columns = ", ".join(f"{i} AS c{i}" for i in range(1_700))
    async with sessionmaker() as session:
        with pytest.raises(DBAPIError) as too_wide:
            await session.execute(text(f"SELECT {columns}"))
        await session.rollback()
        with pytest.raises(DBAPIError) as bad_cast:
            await session.execute(text("SELECT 'x'::int"))
    for error in (too_wide.value, bad_cast.value):
        assert is_deterministic_db_error(error)
        assert not is_db_unavailable(error)


def test_a_driver_whose_protocol_state_broke_is_an_outage() -> None:
    # asyncpg raises this when the server goes away between two statements (a pool resetting
    # the connection during a restart); the connection is unusable, the service is not broken.
    broke = asyncpg.InternalClientError(
        "cannot switch to state 15; another operation is in progress"
    )
    assert is_db_unavailable(broke)
