"""Start-up checks against the real Postgres: what each state of the schema is called."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from datatasks.core.config import Settings
from datatasks.core.preflight import head_revision, redacted, schema_problem


def test_redacted_hides_only_the_password() -> None:
    assert redacted("postgresql://app:s3cret@db:5432/x") == "postgresql://app:***@db:5432/x"
    assert redacted("redis://:pw@cache:6379/0") == "redis://:***@cache:6379/0"
    assert redacted("postgresql://postgres@127.0.0.1/p") == "postgresql://postgres@127.0.0.1/p"


@pytest.fixture
async def conn(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(settings.asyncpg_dsn)
    yield conn
    await conn.close()


async def test_each_state_of_the_schema_is_named_with_its_fix(
    conn: asyncpg.Connection, settings: Settings
) -> None:
    assert await schema_problem(conn, settings.database_schema) is None

    missing = f"nothing_{uuid.uuid4().hex[:8]}"
    problem = await schema_problem(conn, missing)
    assert problem == f'the database schema "{missing}" has no tables yet: run `datatasks migrate`'

    scratch = f"scratch_{uuid.uuid4().hex[:8]}"
    await conn.execute(f'CREATE SCHEMA "{scratch}"')
    try:
        await conn.execute(f'CREATE TABLE "{scratch}".alembic_version (version_num text)')
        assert "has no tables yet" in str(await schema_problem(conn, scratch))
        await conn.execute(f"INSERT INTO \"{scratch}\".alembic_version VALUES ('0001')")
        assert await schema_problem(conn, scratch) == (
            f'the database schema "{scratch}" is at revision 0001, behind this version\'s '
            f"{head_revision()}: run `datatasks migrate`"
        )
        await conn.execute(f"UPDATE \"{scratch}\".alembic_version SET version_num = '9999'")
        assert "which this version of datatasks does not know" in str(
            await schema_problem(conn, scratch)
        )
    finally:
        await conn.execute(f'DROP SCHEMA "{scratch}" CASCADE')
