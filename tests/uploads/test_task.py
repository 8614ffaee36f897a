"""The ingest job against what one file can hold: a line far past INGEST_MAX_RECORD_BYTES, and
more columns than an export can select (the real worker loop, Postgres, storage)."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import text

from datatasks.core.config import Settings
from datatasks.core.db import SessionMaker
from tests.helpers import api_client
from tests.uploads.test_upload import INGEST, dataset_rows, upload


async def test_a_line_past_the_limit_is_a_rejected_row_and_the_others_load(
    settings: Settings, run_worker: Any, wait_job: Any, sessionmaker: SessionMaker
) -> None:
    limit = 4096
    settings = settings.model_copy(update={"ingest_max_record_bytes": limit})
    run_worker.start(queues=INGEST, settings=settings)
    before = [f"{i},name {i}" for i in range(3000)]  # the sniffed head is all good rows
    after = [f"{i},name {i}" for i in range(3000, 3010)]
    # 20 MB without a newline, as the trial's 100 MB line: rejected, not read.
    long = "9," + "x" * (20 * 1024 * 1024)
    content = "\n".join(["id,name", *before, long, *after, ""]).encode()
    async with api_client(settings) as client:
        accepted = (await upload(client, content)).json()
    job = await wait_job(accepted["job_id"])
    result = job["result"]
    assert (result["rows"], result["rejected"]) == (3010, 1)
    assert result["rejected_sample"] == [
        {"line": 3002, "reason": f"line longer than {limit} bytes", "raw": long[:200]}
    ]
    rows = await dataset_rows(sessionmaker, result["dataset_id"])
    assert [r["id"] for r in rows] == [str(i) for i in range(3010)]


async def failed_ingest(
    settings: Settings, run_worker: Any, wait_job: Any, content: bytes
) -> dict[str, Any]:
    run_worker.start(queues=INGEST, settings=settings)
    async with api_client(settings) as client:
        accepted = (await upload(client, content)).json()
    job: dict[str, Any] = await wait_job(accepted["job_id"], statuses=("failed",))
    return job


async def assert_no_dataset(sessionmaker: SessionMaker) -> None:
    async with sessionmaker() as session:
        assert (await session.execute(text("SELECT count(*) FROM datasets"))).scalar() == 0
        assert (await session.execute(text("SELECT count(*) FROM records"))).scalar() == 0


async def test_more_csv_columns_than_an_export_can_select_fail_the_job_at_once(
    settings: Settings, run_worker: Any, wait_job: Any, sessionmaker: SessionMaker
) -> None:
    assert settings.ingest_max_columns == 1600  # the default
    header = ",".join(f"c{i}" for i in range(1601))
    content = f"{header}\n{',' * 1600}\n".encode()
    job = await failed_ingest(settings, run_worker, wait_job, content)
    message = job["error"]["message"]
    assert "the CSV header has 1601 columns" in message
    assert "the limit is 1600 (INGEST_MAX_COLUMNS)" in message
    assert job["attempts"] == 1, "not retried"
    await assert_no_dataset(sessionmaker)


async def test_more_distinct_json_keys_than_allowed_fail_the_job(
    settings: Settings, run_worker: Any, wait_job: Any, sessionmaker: SessionMaker
) -> None:
    settings = settings.model_copy(update={"ingest_max_columns": 50})
    # Each record is narrow; together they have 60 keys.
    content = b"".join(orjson.dumps({f"k{i}": i, "common": 1}) + b"\n" for i in range(59))
    job = await failed_ingest(settings, run_worker, wait_job, content)
    assert "the records have more than 50 distinct keys" in job["error"]["message"]
    assert job["attempts"] == 1
    await assert_no_dataset(sessionmaker)
