"""Uploads end to end: streamed to storage, sniffed, ingested by the real worker loop."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from collections.abc import AsyncIterator, MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from datatasks.app import create_app
from datatasks.core.config import QueueName, Settings
from datatasks.core.db import SessionMaker
from datatasks.storage import create_storage
from tests.conftest import WaitJob, WorkerRunner
from tests.helpers import api_client, interrupted, task_context

INGEST = (QueueName.ingest,)
ROWS = [
    {"id": str(i), "name": f"name {i}", "note": 'has "quotes", commas\nand a newline é'}
    for i in range(1, 1201)
]


def as_csv(rows: list[dict[str, Any]], delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), delimiter=delimiter)
    writer.writeheader()
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode()  # with a BOM, as Excel writes it


def as_json(rows: list[dict[str, Any]]) -> bytes:
    return json.dumps(rows, indent=1).encode()


def as_ndjson(rows: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in rows)


async def upload(
    client: httpx.AsyncClient, content: bytes, filename: str = "data.bin", **form: str
) -> httpx.Response:
    return await client.post(
        "/upload", files={"file": (filename, content, "application/octet-stream")}, data=form
    )


async def dataset_rows(sessionmaker: SessionMaker, dataset_id: str) -> list[dict[str, Any]]:
    async with sessionmaker() as session:
        rows = await session.execute(
            text("SELECT data FROM records WHERE dataset_id = :d ORDER BY id"), {"d": dataset_id}
        )
        return [r[0] for r in rows]


def stored_files(settings: Settings) -> list[Path]:
    root = settings.storage_dir
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture(params=["local", "s3"])
async def backend(
    request: pytest.FixtureRequest, settings: Settings, s3_settings_overrides: dict[str, Any]
) -> AsyncIterator[tuple[Settings, httpx.AsyncClient]]:
    if request.param == "s3":
        settings = settings.model_copy(update=s3_settings_overrides)
    async with api_client(settings) as c:
        yield settings, c


@pytest.mark.parametrize(
    ("fmt", "content"),
    [
        ("csv", as_csv(ROWS)),
        ("csv", as_csv(ROWS, delimiter=";")),
        ("json", as_json(ROWS)),
        ("ndjson", as_ndjson(ROWS)),
    ],
)
async def test_each_format_round_trips_on_each_backend(
    backend: tuple[Settings, httpx.AsyncClient],
    run_worker: WorkerRunner,
    wait_job: WaitJob,
    sessionmaker: SessionMaker,
    fmt: str,
    content: bytes,
) -> None:
    settings, client = backend
    run_worker.start(queues=INGEST, settings=settings)
    response = await upload(
        client,
        content,
        filename="../../etc/passwd.txt",
        record_type="person",
        dataset_name="people",
    )
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert response.headers["location"] == accepted["status_url"]
    assert accepted["content_type"] == fmt
    assert accepted["size"] == len(content)
    import hashlib

    assert accepted["sha256"] == hashlib.sha256(content).hexdigest()

    job = await wait_job(accepted["job_id"], timeout=30)
    result = job["result"]
    assert result["rows"] == len(ROWS)
    assert result["rejected"] == 0
    assert result["bytes"] == len(content)
    assert await dataset_rows(sessionmaker, result["dataset_id"]) == ROWS

    async with sessionmaker() as session:
        upload_row = (
            await session.execute(
                text(
                    "SELECT original_filename, size, sha256, storage_key FROM uploads WHERE id = :u"
                ),
                {"u": accepted["upload_id"]},
            )
        ).one()
        dataset = (
            await session.execute(
                text("SELECT name, record_type, source, row_count FROM datasets WHERE id = :d"),
                {"d": result["dataset_id"]},
            )
        ).one()
    assert upload_row.original_filename == "passwd.txt", "only the sanitized base name is kept"
    assert upload_row.size == len(content)
    assert "passwd" not in upload_row.storage_key
    assert tuple(dataset) == ("people", "person", "uploaded", len(ROWS))
    storage = create_storage(settings)
    try:
        assert await storage.stat(upload_row.storage_key) is not None
    finally:
        await storage.close()


async def test_json_values_keep_their_types(
    client: httpx.AsyncClient,
    run_worker: WorkerRunner,
    wait_job: WaitJob,
    sessionmaker: SessionMaker,
) -> None:
    run_worker.start(queues=INGEST)
    rows = [{"n": 1, "f": 1.5, "b": True, "z": None, "nested": {"a": [1, "x"]}}]
    accepted = (await upload(client, as_ndjson(rows))).json()
    job = await wait_job(accepted["job_id"])
    assert await dataset_rows(sessionmaker, job["result"]["dataset_id"]) == rows


async def test_bad_rows_are_counted_sampled_and_written_to_a_rejects_file(
    client: httpx.AsyncClient,
    run_worker: WorkerRunner,
    wait_job: WaitJob,
    sessionmaker: SessionMaker,
) -> None:
    run_worker.start(queues=INGEST)
    lines = [b'{"a": 1}', b"not json", b"[1, 2]", b'{"a": 2}', b'{"a": "\\u0000"}', b'{"a": 3}']
    accepted = (await upload(client, b"\n".join(lines) + b"\n")).json()
    job = await wait_job(accepted["job_id"])
    result = job["result"]
    assert result["rows"] == 3
    assert result["rejected"] == 3
    assert [r["line"] for r in result["rejected_sample"]] == [2, 3, 5]
    assert all(r["reason"] for r in result["rejected_sample"])
    rejects = await client.get(result["rejects_url"])
    assert rejects.status_code == 200
    assert [json.loads(line)["line"] for line in rejects.content.splitlines()] == [2, 3, 5]
    assert await dataset_rows(sessionmaker, result["dataset_id"]) == [{"a": 1}, {"a": 2}, {"a": 3}]

    csv_rows = b"a,b\n1,2\n3\n4,5,6\n7,8\n"
    job = await wait_job((await upload(client, csv_rows)).json()["job_id"])
    assert job["result"]["rows"] == 2
    assert [r["line"] for r in job["result"]["rejected_sample"]] == [3, 4]


async def test_too_many_bad_rows_fail_the_job_and_leave_no_dataset(
    client: httpx.AsyncClient,
    run_worker: WorkerRunner,
    wait_job: WaitJob,
    sessionmaker: SessionMaker,
) -> None:
    run_worker.start(queues=INGEST)
    content = b'{"a": 1}\n' + b"oops\n" * 3
    job = await wait_job((await upload(client, content)).json()["job_id"], statuses=("failed",))
    assert "3 of 4 rows were rejected" in job["error"]["message"]
    assert job["attempts"] == 1, "not worth retrying"
    async with sessionmaker() as session:
        assert (await session.execute(text("SELECT count(*) FROM datasets"))).scalar() == 0
        assert (await session.execute(text("SELECT count(*) FROM records"))).scalar() == 0


async def assert_nothing_left(settings: Settings, sessionmaker: SessionMaker) -> None:
    assert stored_files(settings) == []
    async with sessionmaker() as session:
        for table in ("uploads", "jobs", "datasets"):
            count = (await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar()
            assert count == 0, table


async def test_past_the_cap_is_413_and_leaves_nothing(
    settings: Settings, sessionmaker: SessionMaker
) -> None:
    settings = settings.model_copy(update={"upload_max_bytes": 64 * 1024})
    async with api_client(settings) as client:
        response = await upload(client, b"a,b\n" + b"1,2\n" * 40_000)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    await assert_nothing_left(settings, sessionmaker)


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 10, 415),
        (b"\x1f\x8b\x08\x00" + bytes(200), 415),
        (b"[1, 2, 3]", 415),
        (b'{\n  "not": "an array"\n}', 415),
        (b"", 422),
        (b"  \n\n ", 422),
    ],
)
async def test_content_that_is_not_csv_or_json_is_refused(
    client: httpx.AsyncClient,
    settings: Settings,
    sessionmaker: SessionMaker,
    content: bytes,
    status: int,
) -> None:
    response = await upload(client, content, filename="looks-fine.csv")
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    if status == 415:
        assert "expected" in response.json()["detail"]
    await assert_nothing_left(settings, sessionmaker)


async def test_requests_that_are_not_a_file_upload(
    client: httpx.AsyncClient, settings: Settings, sessionmaker: SessionMaker
) -> None:
    json_body = await client.post("/upload", json={"file": "a,b"})
    assert json_body.status_code == 415
    no_file = await client.post("/upload", files={"other": ("x", b"a,b\n1,2\n")})
    assert no_file.status_code == 422
    assert no_file.json()["errors"][0]["field"] == "body.other", "parts are not ignored"
    only_fields = await client.post(
        "/upload", data={"record_type": "x"}, files={"file": ("a", b"")}
    )
    assert only_fields.status_code == 422
    two_files = await client.post(
        "/upload", files=[("file", ("a", b"a\n1\n")), ("file", ("b", b"a\n2\n"))]
    )
    assert two_files.status_code == 422
    bad_type = await upload(client, b"a,b\n1,2\n", record_type="Not Valid")
    assert bad_type.status_code == 422
    assert bad_type.json()["errors"][0]["field"] == "body.record_type"
    for name, message in (("a\0b", "must not contain NUL characters"), ("n" * 256, "at most 255")):
        bad_name = await upload(client, b"a,b\n1,2\n", dataset_name=name)
        assert bad_name.status_code == 422
        assert bad_name.json()["errors"][0]["field"] == "body.dataset_name"
        assert bad_name.json()["errors"][0]["msg"].startswith(message)
    await assert_nothing_left(settings, sessionmaker)


async def test_a_client_that_disconnects_mid_upload_leaves_nothing(
    settings: Settings, sessionmaker: SessionMaker
) -> None:
    app = create_app(settings)
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.csv"'
        "\r\nContent-Type: text/csv\r\n\r\na,b\r\n"
    ).encode()
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": head, "more_body": True},
        *({"type": "http.request", "body": b"1,2\n" * 20_000, "more_body": True} for _ in range(3)),
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(0)
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/upload",
        "raw_path": b"/upload",
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 1),
        "server": ("test", 80),
        "headers": [
            (b"content-type", f"multipart/form-data; boundary={boundary}".encode()),
            (b"host", b"test"),
        ],
    }
    async with app.router.lifespan_context(app):
        await app(scope, receive, send)
    await assert_nothing_left(settings, sessionmaker)


async def test_an_interrupted_ingest_resumes_without_duplicates(
    settings: Settings,
    client: httpx.AsyncClient,
    sessionmaker: SessionMaker,
    run_worker: WorkerRunner,
    wait_job: WaitJob,
) -> None:
    from datatasks.uploads.task import run_ingest

    settings = settings.model_copy(update={"ingest_chunk_size": 1_000})
    rows = [{"i": str(i)} for i in range(100_000)]
    accepted = (await upload(client, as_csv(rows))).json()
    job_id = uuid.UUID(accepted["job_id"])
    async with task_context(settings, sessionmaker) as ctx:
        done = await interrupted(ctx, run_ingest, job_id)
        assert 0 < done < 100_000
        result = await run_ingest(ctx, job_id)
    assert result["rows"] == 100_000
    assert await dataset_rows(sessionmaker, result["dataset_id"]) == rows


async def raw_multipart(client: httpx.AsyncClient, body: bytes) -> httpx.Response:
    return await client.post(
        "/upload", content=body, headers={"content-type": "multipart/form-data; boundary=BND"}
    )


async def test_malformed_multipart_bodies_are_400_or_422_and_leave_nothing(
    client: httpx.AsyncClient, settings: Settings, sessionmaker: SessionMaker
) -> None:
    part = b'--BND\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
    truncated = await raw_multipart(client, part + b"a,b\r\n1,2\r\n")
    assert truncated.status_code == 400
    assert "closing boundary" in truncated.json()["detail"]
    bad_header = part.replace(b"a.csv", b"bad\xff\xfe.csv") + b"a,b\r\n1,2\r\n--BND--\r\n"
    assert (await raw_multipart(client, bad_header)).status_code == 400
    field = b'--BND\r\nContent-Disposition: form-data; name="record_type"\r\n\r\n'
    repeated = part + b"a,b\r\n1,2\r\n" + b"\r\n" + field + b"ab\r\n" + field + b"cd\r\n--BND--\r\n"
    response = await raw_multipart(client, repeated)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.record_type"
    await assert_nothing_left(settings, sessionmaker)
    root = settings.storage_dir
    leftovers = [p for p in root.rglob("*") if p != root / "uploads"] if root.exists() else []
    assert leftovers == [], "not even an upload's empty directory"


async def test_two_deliveries_of_one_ingest_write_each_record_once(
    settings: Settings, client: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from datatasks.core.db import create_copy_pool
    from datatasks.jobs.execution import TaskContext
    from datatasks.uploads.task import run_ingest

    settings = settings.model_copy(update={"ingest_chunk_size": 1_000})
    rows = [{"i": str(i)} for i in range(30_000)]
    job_id = uuid.UUID((await upload(client, as_csv(rows))).json()["job_id"])
    pool = await create_copy_pool(settings, size=4)
    storage = create_storage(settings)
    cpu = ThreadPoolExecutor(2)
    try:
        ctx = TaskContext(settings, sessionmaker, pool, cpu, storage)
        results = await asyncio.gather(run_ingest(ctx, job_id), run_ingest(ctx, job_id))
    finally:
        cpu.shutdown()
        await storage.close()
        await pool.close()
    assert results[0]["rows"] == results[1]["rows"] == 30_000
    assert await dataset_rows(sessionmaker, results[0]["dataset_id"]) == rows
