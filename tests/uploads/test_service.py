"""Accepting an upload, with a real Postgres error at each of its steps: a failed request leaves
no row and no file, and a committed upload always keeps its file."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from datatasks.core.config import Settings
from tests.helpers import api_client
from tests.uploads.test_upload import stored_files, upload

CSV = b"id,name\n1,a\n2,b\n"

# Where the error is raised, as a trigger of the test's schema (so the error is Postgres's own).
FAILING = """
CREATE OR REPLACE FUNCTION injected_failure() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_ARGV[0] = 'disconnect' THEN
        PERFORM pg_terminate_backend(pg_backend_pid());
    END IF;
    RAISE EXCEPTION 'injected failure';
END $$;
"""
STEPS = {
    "the upload row": "CREATE TRIGGER injected BEFORE INSERT ON uploads "
    "FOR EACH ROW EXECUTE FUNCTION injected_failure('raise')",
    "the job row": "CREATE TRIGGER injected BEFORE INSERT ON jobs "
    "FOR EACH ROW EXECUTE FUNCTION injected_failure('raise')",
    "the outbox entry": "CREATE TRIGGER injected BEFORE INSERT ON job_outbox "
    "FOR EACH ROW EXECUTE FUNCTION injected_failure('raise')",
    # Deferred: fires inside COMMIT, which then fails.
    "the commit": "CREATE CONSTRAINT TRIGGER injected AFTER INSERT ON uploads "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION injected_failure('raise')",
    # The connection lost during COMMIT: the service must ask whether it happened.
    "the connection, at commit": "CREATE CONSTRAINT TRIGGER injected AFTER INSERT ON uploads "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION injected_failure('disconnect')",
}
TABLES = ("uploads", "jobs", "job_outbox")


@pytest.fixture
async def pg(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(
        settings.asyncpg_dsn, server_settings={"search_path": settings.database_schema}
    )
    await conn.execute(FAILING)
    yield conn
    # The schema outlives the test: leave no trigger in it.
    for table in TABLES:
        await conn.execute(f"DROP TRIGGER IF EXISTS injected ON {table}")
    await conn.execute("DROP FUNCTION injected_failure()")
    await conn.close()


async def counts(pg: asyncpg.Connection) -> dict[str, int]:
    return {t: await pg.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}


@pytest.mark.parametrize("step", list(STEPS))
async def test_a_failure_at_any_step_leaves_no_row_and_no_file(
    client: httpx.AsyncClient, settings: Settings, pg: asyncpg.Connection, step: str
) -> None:
    await pg.execute(STEPS[step])
    failed = await upload(client, CSV, "a.csv")
    assert failed.status_code in (500, 503), failed.text
    assert await counts(pg) == {"uploads": 0, "jobs": 0, "job_outbox": 0}
    assert stored_files(settings) == []

    for table in TABLES:
        await pg.execute(f"DROP TRIGGER IF EXISTS injected ON {table}")
    accepted = await upload(client, CSV, "a.csv")
    assert accepted.status_code == 202, accepted.text
    assert await counts(pg) == {"uploads": 1, "jobs": 1, "job_outbox": 1}
    assert len(stored_files(settings)) == 1


async def test_a_failed_idempotency_lookup_leaves_no_file(
    client: httpx.AsyncClient, settings: Settings, pg: asyncpg.Connection
) -> None:
    # A job holding the key whose parameters name no upload the lookup can read: the lookup
    # itself fails (in Postgres, casting the id).
    await pg.execute(
        "INSERT INTO jobs (id, type, params, progress_total, idempotency_key, "
        "idempotency_fingerprint) VALUES (gen_random_uuid(), 'ingest', "
        """'{"upload_id": "not-a-uuid"}', 0, 'k', 'f')"""
    )
    failed = await client.post(
        "/upload", files={"file": ("a.csv", CSV)}, headers={"Idempotency-Key": "k"}
    )
    assert failed.status_code == 500, failed.text
    assert await pg.fetchval("SELECT count(*) FROM uploads") == 0
    assert stored_files(settings) == []


async def test_a_repeat_gets_the_original_upload_and_its_copy_is_deleted(
    client: httpx.AsyncClient, settings: Settings, pg: asyncpg.Connection
) -> None:
    headers = {"Idempotency-Key": "same"}
    first = await client.post("/upload", files={"file": ("a.csv", CSV)}, headers=headers)
    again = await client.post("/upload", files={"file": ("a.csv", CSV)}, headers=headers)
    other = await client.post("/upload", files={"file": ("b.csv", CSV + b"3,c\n")}, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert other.status_code == 422
    assert await counts(pg) == {"uploads": 1, "jobs": 1, "job_outbox": 1}
    assert len(stored_files(settings)) == 1


async def test_without_postgres_an_upload_is_503_and_its_file_is_gone(settings: Settings) -> None:
    # Nothing listens on port 1: every connection is refused, as when Postgres is down.
    away = settings.model_copy(
        update={"database_url": "postgresql://postgres@127.0.0.1:1/postgres"}
    )
    async with api_client(away) as client:
        response = await upload(client, CSV, "a.csv")
    assert response.status_code == 503, response.text
    assert stored_files(settings) == []
