"""The ingest job against what one file can hold: a line far past INGEST_MAX_RECORD_BYTES, more
columns than an export can select, records far larger than their rows (the real worker loop,
Postgres, storage)."""

from __future__ import annotations

import tracemalloc
import uuid
from collections.abc import Callable
from itertools import accumulate, pairwise
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import text

from datatasks.core.config import Settings
from datatasks.core.db import SessionMaker
from datatasks.uploads.task import run_ingest
from tests.conftest import WaitJob, WorkerRunner
from tests.helpers import api_client, interrupted, task_context
from tests.uploads.test_upload import INGEST, dataset_rows, upload

MiB = 1024 * 1024
# 20 KB of column names, which each record repeats, over rows of a few bytes.
LONG_NAMES = [f"{i:02d}" + "n" * 998 for i in range(20)]


def long_names_csv(count: int) -> tuple[bytes, list[dict[str, str | None]]]:
    """The file, and the records it holds (its empty cells null)."""
    lines = [",".join(LONG_NAMES), *(f"{i}" + "," * 19 for i in range(count)), ""]
    rows: list[dict[str, str | None]] = [
        dict.fromkeys(LONG_NAMES, None) | {LONG_NAMES[0]: str(i)} for i in range(count)
    ]
    return "\n".join(lines).encode(), rows


async def copy_batches(sessionmaker: SessionMaker, dataset_id: str) -> list[int]:
    """How many records each COPY transaction wrote (told apart by xmin), in order."""
    async with sessionmaker() as session:
        counts = await session.execute(
            text(
                "SELECT count(*) FROM records WHERE dataset_id = :d"
                " GROUP BY xmin::text ORDER BY min(id)"
            ),
            {"d": dataset_id},
        )
        return [c[0] for c in counts]


def assert_written_as_they_reached(limit: int, batches: list[int], records: list[str]) -> None:
    """Each batch was written once its JSON reached `limit` characters, with the record that
    reached it: not before (the last batch aside), and not after."""
    ends = [0, *accumulate(batches)]
    assert ends[-1] == len(records)
    for n, (start, end) in enumerate(pairwise(ends)):
        sizes = [len(r) for r in records[start:end]]
        assert sum(sizes[:-1]) < limit, f"batch {n} went on past the limit"
        if end < len(records):
            assert sum(sizes) >= limit, f"batch {n} was written before the limit"


async def test_a_line_past_the_limit_is_a_rejected_row_and_the_others_load(
    settings: Settings, run_worker: WorkerRunner, wait_job: WaitJob, sessionmaker: SessionMaker
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
    settings: Settings, run_worker: WorkerRunner, wait_job: WaitJob, content: bytes
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
    settings: Settings, run_worker: WorkerRunner, wait_job: WaitJob, sessionmaker: SessionMaker
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
    settings: Settings, run_worker: WorkerRunner, wait_job: WaitJob, sessionmaker: SessionMaker
) -> None:
    settings = settings.model_copy(update={"ingest_max_columns": 50})
    # Each record is narrow; together they have 60 keys.
    content = b"".join(orjson.dumps({f"k{i}": i, "common": 1}) + b"\n" for i in range(59))
    job = await failed_ingest(settings, run_worker, wait_job, content)
    assert "the records have more than 50 distinct keys" in job["error"]["message"]
    assert job["attempts"] == 1
    await assert_no_dataset(sessionmaker)


def large_ndjson(count: int) -> tuple[bytes, list[dict[str, str]]]:
    """NDJSON of 30 KB records: storage reads of 1 MiB bring a batch's worth at a time."""
    rows = [{"i": str(i), "pad": "p" * 30_000} for i in range(count)]
    return b"".join(orjson.dumps(row) + b"\n" for row in rows), rows


@pytest.mark.parametrize(
    ("make", "count", "expected_batches"),
    [
        # 26 KB of file, 12 MB of records: 53 records (1 MiB) a batch, not 600 in one. The
        # parser makes them only as far as the batch has room.
        (long_names_csv, 600, 12),
        # 12 MB of file and of records: a read brings the next batch's first records too.
        (large_ndjson, 400, 12),
    ],
)
async def test_records_are_copied_in_batches_bounded_in_bytes(
    settings: Settings,
    run_worker: WorkerRunner,
    wait_job: WaitJob,
    sessionmaker: SessionMaker,
    make: Callable[[int], tuple[bytes, list[dict[str, str]]]],
    count: int,
    expected_batches: int,
) -> None:
    settings = settings.model_copy(update={"ingest_chunk_bytes": MiB})
    run_worker.start(queues=INGEST, settings=settings)
    content, rows = make(count)
    async with api_client(settings) as client:
        accepted = (await upload(client, content)).json()
    result = (await wait_job(accepted["job_id"]))["result"]
    assert (result["rows"], result["rejected"]) == (count, 0)
    assert await dataset_rows(sessionmaker, result["dataset_id"]) == rows
    batches = await copy_batches(sessionmaker, result["dataset_id"])
    assert len(batches) == expected_batches, batches
    records = [orjson.dumps(row).decode() for row in rows]  # as the parser makes them
    assert_written_as_they_reached(MiB, batches, records)


async def test_an_ingest_interrupted_between_batches_bounded_in_bytes_resumes_exactly(
    settings: Settings, client: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    settings = settings.model_copy(update={"ingest_chunk_bytes": MiB})
    content, rows = long_names_csv(2000)  # one storage read, 40 MB of records
    job_id = uuid.UUID((await upload(client, content)).json()["job_id"])
    async with task_context(settings, sessionmaker) as ctx:
        done = await interrupted(ctx, run_ingest, job_id)
        assert 0 < done < 2000
        result = await run_ingest(ctx, job_id)
    assert result["rows"] == 2000
    assert await dataset_rows(sessionmaker, result["dataset_id"]) == rows, "each record once"
    batches = await copy_batches(sessionmaker, result["dataset_id"])
    records = [orjson.dumps(row).decode() for row in rows]
    # The first delivery's batches end at its checkpoint; the second's start there, cut alike.
    assert done in accumulate(batches)
    assert_written_as_they_reached(MiB, batches, records)


async def test_an_ingest_holds_about_two_batches_of_records(
    settings: Settings, client: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    settings = settings.model_copy(update={"ingest_chunk_bytes": MiB})
    content, _ = long_names_csv(2000)  # one storage read, 40 MB of records
    job_id = uuid.UUID((await upload(client, content)).json()["job_id"])
    async with task_context(settings, sessionmaker, connections=2) as ctx:
        tracemalloc.start()
        try:
            result = await run_ingest(ctx, job_id)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert result["rows"] == 2000
    # A batch being copied and one being filled (1 MiB each), the read and its rows' cells:
    # about 4 MiB, where making all of a read's records at once takes 40.
    assert peak < 6 * MiB
