"""Database engines: SQLAlchemy for the small typed parts, an asyncpg pool for COPY."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
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

# SQLSTATEs that mean "Postgres is not there right now", not "this statement is wrong": the
# connection exception class, a server shutting down or starting up (`pg_ctl restart`), and
# no connection slot free.
_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")
# Classes whose errors the same statement meets again on every retry: data exceptions,
# syntax or access rule violations (an undefined column), program limits (a target list
# over 1664 entries).
_DETERMINISTIC_SQLSTATE_CLASSES = ("22", "42", "54")


class PostgresUnavailable(ConnectionError):
    """Postgres did not answer in time or dropped the connection in the middle of work."""


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and what it wraps: SQLAlchemy's `orig`, and the cause/context chain."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo and len(seen) < 16:
        current = todo.pop()
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        orig = getattr(current, "orig", None)
        todo.extend([current.__context__, current.__cause__])
        if isinstance(orig, BaseException):
            todo.append(orig)
    return seen


def _sqlstate(exc: BaseException) -> str | None:
    state = getattr(exc, "sqlstate", None)
    return state if isinstance(state, str) else None


def is_db_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says Postgres is unreachable, restarting or dropped the connection (an
    outage to wait out) rather than that the work itself is wrong. Only what Postgres clients
    raise counts: a plain OSError from a file is not an outage."""
    for cause in _causes(exc):
        if isinstance(cause, PostgresUnavailable | PoolTimeout):
            return True
        if isinstance(cause, asyncpg.PostgresConnectionError):
            return True
        # The driver's protocol state broke as the server went away ("cannot switch to state
        # 15; another operation is in progress", seen while a pool resets a connection during a
        # restart): that connection is gone, and a fresh one is what the work needs.
        if isinstance(cause, asyncpg.InternalClientError):
            return True
        # asyncpg's InterfaceError is also "another operation is in progress" (a bug, which
        # must not be waited out forever); only the closed connection is an outage.
        if isinstance(cause, asyncpg.InterfaceError) and "connection is closed" in str(cause):
            return True
        if isinstance(cause, DBAPIError) and cause.connection_invalidated:
            return True
        if isinstance(cause, OperationalError):
            return True
        state = _sqlstate(cause)
        if state is not None and state.startswith(_UNAVAILABLE_SQLSTATES):
            return True
    return False


def is_postgres_outage(exc: BaseException) -> bool:
    """`is_db_unavailable`, for an error from a call that speaks only to Postgres: there the
    socket's own errors (asyncpg's connect raises them as they are) and a timeout can only
    mean Postgres is away too."""
    return is_db_unavailable(exc) or isinstance(exc, OSError | TimeoutError)


@asynccontextmanager
async def postgres_only(doing: str) -> AsyncIterator[None]:
    """Around a block that speaks only to Postgres: its socket errors and timeouts are raised
    as PostgresUnavailable, saying what was being done."""
    try:
        yield
    except (OSError, TimeoutError) as exc:
        raise PostgresUnavailable(f"{doing}: {exc!r}") from exc


def is_deterministic_db_error(exc: BaseException) -> bool:
    """Whether Postgres refused the statement itself, so a retry would fail the same way."""
    for cause in _causes(exc):
        state = _sqlstate(cause)
        if state is not None and state[:2] in _DETERMINISTIC_SQLSTATE_CLASSES:
            return True
    return False


@asynccontextmanager
async def guarded(conn: asyncpg.Connection, timeout_s: float | None) -> AsyncIterator[None]:
    """Work on `conn` that ends, with PostgresUnavailable, as soon as the connection is lost
    or once `timeout_s` has passed - whichever comes first.

    asyncpg can wait forever on a connection the server dropped: a COPY FROM whose socket
    buffer was full when Postgres restarted waits for "writing allowed" again, and nothing
    ever allows it. The connection's termination listener (called when asyncpg notices the
    loss) interrupts the block; the timeout bounds a server that stops answering without
    closing the socket. Either way the connection is terminated, so its pool replaces it.
    """
    loop = asyncio.get_running_loop()
    lost = False
    inside = True

    try:
        async with asyncio.timeout(timeout_s) as deadline:

            def on_lost(_: object) -> None:
                nonlocal lost
                lost = True
                if inside:  # listeners run soon after the loss, perhaps after the block
                    deadline.reschedule(loop.time())

            try:
                conn.add_termination_listener(on_lost)
            except asyncpg.InterfaceError as exc:
                # A pool's proxy whose connection died is released back to the pool at once.
                raise PostgresUnavailable("Postgres dropped the connection") from exc
            try:
                yield
            finally:
                inside = False
                with contextlib.suppress(asyncpg.InterfaceError):  # released: it died
                    conn.remove_termination_listener(on_lost)
    except TimeoutError as exc:
        with contextlib.suppress(asyncpg.InterfaceError):  # released: it died
            conn.terminate()
        why = "dropped the connection" if lost else f"did not answer within {timeout_s:g} s"
        raise PostgresUnavailable(f"Postgres {why}") from exc
    except PostgresUnavailable:
        raise
    except Exception as exc:
        if lost:
            # Whatever the driver raised on its way out of a lost connection (a reset socket,
            # "the underlying connection is closed", "released back to the pool").
            raise PostgresUnavailable(f"Postgres dropped the connection: {exc!r}") from exc
        if any(isinstance(c, asyncpg.InternalClientError) for c in _causes(exc)):
            # The driver's protocol state broke ("cannot switch to state 21; another operation
            # is in progress", seen when the server shuts down mid-COPY, before the socket
            # closes): the connection is unusable, and a fresh one is what the work needs.
            with contextlib.suppress(asyncpg.InterfaceError):
                conn.terminate()
            raise PostgresUnavailable(f"the Postgres connection broke: {exc!r}") from exc
        raise


def _server_settings(settings: Settings) -> dict[str, str]:
    return {"search_path": settings.database_schema, "application_name": settings.application_name}


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
    """Raw asyncpg connections for the bulk paths (binary COPY). Connecting is bounded like
    every other step a worker takes on Postgres (asyncpg's own default is a minute)."""
    pool: asyncpg.Pool = await asyncpg.create_pool(
        settings.asyncpg_dsn,
        # No idle floor: asyncpg would log a traceback for every failed attempt to keep one
        # during an outage, and a connection is made on demand in a millisecond.
        min_size=0,
        max_size=size,
        timeout=settings.worker_db_timeout_s,
        server_settings=_server_settings(settings),
    )
    return pool


async def create_api_pool(settings: Settings) -> asyncpg.Pool:
    """asyncpg connections for the API's hot path (the group-committed job inserts and the
    backlog reading): a few suffice, since a flush serves every request that waits on it."""
    pool: asyncpg.Pool = await asyncpg.create_pool(
        settings.asyncpg_dsn,
        # Connected on first use: the API starts (and answers 503) while Postgres is away.
        min_size=0,
        max_size=4,
        timeout=settings.dependency_timeout_s,
        command_timeout=settings.dependency_timeout_s,
        server_settings=_server_settings(settings),
        # The pool's statements leave no session state (no SET, LISTEN, advisory lock or
        # cursor), so the default reset on release - a round trip, RESET ALL and friends, on
        # the path of every flush - has nothing to undo. An open transaction is still rolled
        # back by asyncpg itself.
        reset=_nothing_to_reset,
    )
    return pool


async def _nothing_to_reset(conn: asyncpg.Connection) -> None:
    return None
