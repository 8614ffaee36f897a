"""Start-up checks: before a process serves or works, Postgres and Redis answer and the
database schema is at the migrations' head. When not, one line says what is wrong and what
fixes it, instead of a traceback (or silence) minutes later."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import redis.asyncio as aioredis
import structlog

from datatasks.core.config import Settings

if TYPE_CHECKING:
    from alembic.script import ScriptDirectory

log = structlog.stdlib.get_logger("datatasks.preflight")

MIGRATE = "run `datatasks migrate`"
NEWER = "a newer version migrated it"


class Refused(Exception):
    """Why a process will not start: one line for the operator, fix included."""


def redacted(url: str) -> str:
    """The URL without its password, fit for a log line."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + netloc))


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@functools.cache
def _scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    from datatasks.migrations.runner import MIGRATIONS_DIR

    return ScriptDirectory(str(MIGRATIONS_DIR))


def head_revision() -> str:
    """The revision the code expects the schema at (the migrations' single head)."""
    head = _scripts().get_current_head()
    if head is None:  # pragma: no cover - the package ships its migrations
        raise RuntimeError("no migrations found")
    return head


async def schema_problem(conn: asyncpg.Connection, schema: str) -> str | None:
    """What keeps the schema from serving this code (with the fix), or None when at head."""
    from alembic.util import CommandError

    table = f'"{schema}".alembic_version'
    try:
        current = await conn.fetchval(f"SELECT version_num FROM {table}")  # noqa: S608
    except (asyncpg.UndefinedTableError, asyncpg.InvalidSchemaNameError):
        current = None
    if current is None:
        return f'the database schema "{schema}" has no tables yet: {MIGRATE}'
    if current == head_revision():
        return None
    try:
        _scripts().get_revision(current)
    except CommandError:
        return (
            f'the database schema "{schema}" is at revision {current}, which this version of '
            f"datatasks does not know ({NEWER}): run that version"
        )
    return (
        f'the database schema "{schema}" is at revision {current}, behind this version\'s '
        f"{head_revision()}: {MIGRATE}"
    )


async def check_postgres(settings: Settings, *, schema: bool = True) -> None:
    """Postgres answers (and, with `schema`, the schema is at head), or Refused."""
    url = redacted(settings.asyncpg_dsn)
    try:
        conn = await asyncpg.connect(settings.asyncpg_dsn, timeout=settings.dependency_timeout_s)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        log.debug("preflight.postgres_failed", exc_info=True)
        raise Refused(
            f"Postgres at {url} is unreachable ({_reason(exc)}): start it, or set DATABASE_URL"
        ) from exc
    try:
        if schema and (problem := await schema_problem(conn, settings.database_schema)):
            raise Refused(f"{problem} (Postgres at {url})")
    except asyncpg.PostgresError as exc:
        raise Refused(f"Postgres at {url} refused the schema check ({_reason(exc)})") from exc
    finally:
        await conn.close()


async def check_redis(settings: Settings) -> None:
    """Redis answers a PING, or Refused."""
    url = redacted(str(settings.redis_url))
    client = aioredis.from_url(
        str(settings.redis_url),
        socket_connect_timeout=settings.dependency_timeout_s,
        socket_timeout=settings.dependency_timeout_s,
    )
    try:
        await client.ping()
    except (OSError, aioredis.RedisError) as exc:
        log.debug("preflight.redis_failed", exc_info=True)
        raise Refused(
            f"Redis at {url} is unreachable ({_reason(exc)}): start it, or set REDIS_URL"
        ) from exc
    finally:
        await client.aclose()
