"""Exports end to end: API, the real worker loop, Postgres, storage, download links."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from datatasks.core.config import QueueName, Settings
from datatasks.core.db import SessionMaker
from datatasks.models import Job
from tests.conftest import WaitJob, WorkerRunner
from tests.helpers import api_client, partition_sql

QUEUES = (QueueName.generation, QueueName.export)
TRICKY = 'line one\nline "two", é ✓'
FIELDS: list[dict[str, Any]] = [
    {"name": "n", "type": "sequence"},
    {"name": "id", "type": "uuid"},
    {"name": "score", "type": "float", "min": -5, "max": 5, "decimals": 1},
    {"name": "neg", "type": "integer", "min": -9, "max": -1},
    {"name": "active", "type": "boolean"},
    {"name": "born", "type": "date"},
    {"name": "seen", "type": "datetime"},
    {"name": "formula", "type": "constant", "value": '=HYPERLINK("x")'},
    {"name": "minus", "type": "constant", "value": "-text"},
    {"name": "tricky", "type": "constant", "value": TRICKY},
    {"name": "nested", "type": "constant", "value": {"a": [1, None]}},
    {"name": "maybe", "type": "first_name", "null_rate": 0.5},
]


async def generate(client: httpx.AsyncClient, wait_job: WaitJob, count: int = 2_500) -> str:
    accepted = await client.post(
        "/generate", json={"record_type": "thing", "count": count, "seed": 3, "fields": FIELDS}
    )
    job = await wait_job(accepted.json()["job_id"])
    dataset_id: str = job["result"]["dataset_id"]
    return dataset_id


async def export(client: httpx.AsyncClient, wait_job: WaitJob, **body: Any) -> dict[str, Any]:
    response = await client.post("/export", json=body)
    assert response.status_code == 202, response.text
    assert response.headers["location"] == response.json()["status_url"]
    await wait_job(response.json()["job_id"], timeout=30)
    status: dict[str, Any] = (await client.get(response.json()["status_url"])).json()
    return status


async def fetch(client: httpx.AsyncClient, url: str, **kwargs: Any) -> httpx.Response:
    if url.startswith("/"):
        return await client.get(url, **kwargs)
    async with httpx.AsyncClient() as direct:  # a presigned S3 URL
        return await direct.get(url, **kwargs)


async def records(sessionmaker: SessionMaker, dataset_id: str) -> list[dict[str, Any]]:
    from sqlalchemy import text

    async with sessionmaker() as session:
        rows = await session.execute(
            text("SELECT data FROM records WHERE dataset_id = :d ORDER BY id"), {"d": dataset_id}
        )
        return [r[0] for r in rows]


def parse(fmt: str, body: bytes) -> list[dict[str, Any]]:
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(body.decode())))
    if fmt == "json":
        parsed: list[dict[str, Any]] = json.loads(body)
        return parsed
    if fmt == "ndjson":
        return [json.loads(line) for line in body.decode().splitlines()]
    return pq.read_table(io.BytesIO(body)).to_pylist()  # type: ignore[no-any-return]


def as_csv_cell(value: Any, *, escape: bool = True) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(", ", ": "))
    if isinstance(value, str) and escape and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return str(value)


@pytest.mark.parametrize("fmt", ["csv", "json", "ndjson", "parquet"])
@pytest.mark.parametrize("compression", ["none", "gzip"])
async def test_every_format_round_trips_the_rows_in_postgres(
    client: httpx.AsyncClient,
    run_worker: WorkerRunner,
    wait_job: WaitJob,
    sessionmaker: SessionMaker,
    fmt: str,
    compression: str,
) -> None:
    run_worker.start(queues=QUEUES)
    dataset_id = await generate(client, wait_job)
    status = await export(
        client, wait_job, format=fmt, dataset_id=dataset_id, compression=compression
    )
    assert status["status"] == "completed", status["error"]
    result = status["result"]
    assert result["rows"] == 2_500
    assert result["format"] == fmt
    assert result["compression"] == compression
    assert result["fields"] == [f["name"] for f in FIELDS]
    assert status["progress"]["done"] == status["progress"]["total"] == 2_500

    response = await fetch(client, result["download_url"])
    assert response.status_code == 200
    body = response.content
    assert len(body) == result["bytes"]
    assert hashlib.sha256(body).hexdigest() == result["sha256"]
    if compression == "gzip" and fmt != "parquet":
        assert result["filename"].endswith(f".{fmt}.gz")
        body = gzip.decompress(body)
    exported = parse(fmt, body)
    expected = await records(sessionmaker, dataset_id)
    assert len(exported) == len(expected) == 2_500
    for got, want in zip(exported, expected, strict=True):
        if fmt == "csv":
            assert got == {k: as_csv_cell(want.get(k)) for k in got}
        elif fmt == "parquet":
            assert got["n"] == want["n"]
            assert got["neg"] == want["neg"]
            assert got["score"] == want["score"]
            assert got["active"] == want["active"]
            assert got["born"].isoformat() == want["born"]
            assert got["seen"].strftime("%Y-%m-%dT%H:%M:%SZ") == want["seen"]
            assert got["tricky"] == TRICKY
            assert got["maybe"] == want.get("maybe")
        else:
            # Without a projection, records are exported as stored (jsonb's key order).
            assert got == want


async def test_projection_order_formula_escape_off_and_unicode(
    client: httpx.AsyncClient,
    run_worker: WorkerRunner,
    wait_job: WaitJob,
    sessionmaker: SessionMaker,
) -> None:
    run_worker.start(queues=QUEUES)
    dataset_id = await generate(client, wait_job, count=10)
    status = await export(
        client,
        wait_job,
        format="csv",
        dataset_id=dataset_id,
        fields=["tricky", "formula", "neg", "absent"],
        csv_formula_escape=False,
    )
    body = (await fetch(client, status["result"]["download_url"])).content.decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["tricky", "formula", "neg", "absent"]
    projected = await export(
        client, wait_job, format="ndjson", dataset_id=dataset_id, fields=["tricky", "neg", "absent"]
    )
    lines = (await fetch(client, projected["result"]["download_url"])).content.splitlines()
    first = json.loads(lines[0])
    assert list(first) == ["tricky", "neg", "absent"], "a projection keeps the asked order"
    assert first["absent"] is None
    expected = await records(sessionmaker, dataset_id)
    assert rows[1:] == [[TRICKY, '=HYPERLINK("x")', str(r["neg"]), ""] for r in expected]

    escaped = await export(
        client, wait_job, format="csv", dataset_id=dataset_id, fields=["formula", "minus", "neg"]
    )
    body = (await fetch(client, escaped["result"]["download_url"])).content.decode()
    first = list(csv.reader(io.StringIO(body)))[1]
    assert first[:2] == ['\'=HYPERLINK("x")', "'-text"]
    assert first[2].startswith("-"), "numbers stay numbers"


async def test_every_formula_prefix_is_neutralised_and_numbers_are_not(
    client: httpx.AsyncClient, run_worker: WorkerRunner, wait_job: WaitJob
) -> None:
    run_worker.start(queues=QUEUES)
    cells = {
        "eq": "=1+1",
        "plus": "+SUM(A1)",
        "minus": "-2+cmd",
        "at": "@SUM(A1)",
        "tab": "\tx",
        "cr": "\rx",
        "plain": "hello",
        "text_num": "-5",
        "text_plus_num": "+1.5e3",
    }
    fields: list[dict[str, Any]] = [
        {"name": k, "type": "constant", "value": v} for k, v in cells.items()
    ]
    fields.append({"name": "number", "type": "integer", "min": -9, "max": -1})
    accepted = await client.post(
        "/generate", json={"record_type": "f", "count": 3, "fields": fields}
    )
    dataset_id = (await wait_job(accepted.json()["job_id"]))["result"]["dataset_id"]
    status = await export(client, wait_job, format="csv", dataset_id=dataset_id)
    body = (await fetch(client, status["result"]["download_url"])).content.decode()
    header, first, *_ = list(csv.reader(io.StringIO(body, newline="")))
    row = dict(zip(header, first, strict=True))
    for name in ("eq", "plus", "minus", "at", "tab", "cr"):
        assert row[name] == "'" + cells[name], name
    assert row["plain"] == "hello"
    assert row["text_num"] == "-5", "text that is just a number is left alone"
    assert row["text_plus_num"] == "+1.5e3"
    assert row["number"].startswith("-")


async def test_created_range_is_inclusive_exclusive_and_record_type_filters(
    client: httpx.AsyncClient,
    run_worker: WorkerRunner,
    wait_job: WaitJob,
    sessionmaker: SessionMaker,
) -> None:
    from sqlalchemy import text

    run_worker.start(queues=QUEUES)
    first = await generate(client, wait_job, count=5)
    second = await generate(client, wait_job, count=7)
    async with sessionmaker() as session:
        stamps = {
            str(d): t
            for d, t in await session.execute(
                text("SELECT dataset_id, min(created_at) FROM records GROUP BY dataset_id")
            )
        }
    start = stamps[second].isoformat()
    only_second = await export(client, wait_job, format="ndjson", created_from=start)
    assert only_second["result"]["rows"] == 7
    only_first = await export(
        client, wait_job, format="ndjson", created_to=start, record_type="thing"
    )
    assert only_first["result"]["rows"] == 5
    other_type = await export(client, wait_job, format="json", record_type="nothing_here")
    assert other_type["result"]["rows"] == 0
    body = (await fetch(client, other_type["result"]["download_url"])).content
    assert json.loads(body) == []
    assert first != second


@pytest.mark.parametrize("fmt", ["csv", "json", "ndjson", "parquet"])
async def test_an_export_matching_nothing_is_a_valid_empty_file(
    client: httpx.AsyncClient, run_worker: WorkerRunner, wait_job: WaitJob, fmt: str
) -> None:
    run_worker.start(queues=QUEUES)
    status = await export(client, wait_job, format=fmt, record_type="none", fields=["a", "b"])
    assert status["result"]["rows"] == 0
    body = (await fetch(client, status["result"]["download_url"])).content
    assert parse(fmt, body) == []


async def test_signed_links_and_range_requests(
    client: httpx.AsyncClient, run_worker: WorkerRunner, wait_job: WaitJob, settings: Settings
) -> None:
    from datatasks.storage.links import _signature

    secret = settings.secret_key.get_secret_value()
    run_worker.start(queues=QUEUES)
    dataset_id = await generate(client, wait_job, count=50)
    status = await export(
        client, wait_job, format="ndjson", dataset_id=dataset_id, filename="my report"
    )
    url = status["result"]["download_url"]
    whole = await client.get(url)
    assert whole.status_code == 200
    assert whole.headers["content-type"] == "application/x-ndjson"
    assert whole.headers["content-length"] == str(len(whole.content))
    assert 'filename="my_report.ndjson"' in whole.headers["content-disposition"]

    part = await client.get(url, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206
    assert part.content == whole.content[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(whole.content)}"

    path, _, query = url.partition("?")
    params = dict(p.split("=") for p in query.split("&"))
    tampered = await client.get(path, params={**params, "signature": "0" * 64})
    assert tampered.status_code == 403
    other_job = await client.get(f"/exports/{uuid.uuid4()}/download", params=params)
    assert other_job.status_code == 403
    # A link we signed ourselves, but for a moment that has passed.
    past = int(time.time()) - 1
    expired = {"expires": str(past), "signature": _signature(secret, path, past)}
    assert (await client.get(path, params=expired)).status_code == 403
    assert (await client.get(path, params={**params, "signature": "é"})).status_code == 422

    fresh = await client.post(f"/exports/{status['id']}/link")
    assert fresh.status_code == 200
    assert (await client.get(fresh.json()["download_url"])).content == whole.content


async def test_links_for_jobs_that_are_not_finished_exports(
    client: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    pending = (await client.post("/export", json={"format": "csv"})).json()["job_id"]
    assert (await client.post(f"/exports/{pending}/link")).status_code == 409
    assert (await client.post(f"/exports/{uuid.uuid4()}/link")).status_code == 404
    assert (await client.post("/exports/nope/link")).status_code == 404
    async with sessionmaker() as session:
        assert await session.get(Job, uuid.UUID(pending)) is not None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"format": "xml"}, "body.format"),
        ({}, "body.format"),
        (
            {
                "format": "csv",
                "created_from": "2026-01-02T00:00:00Z",
                "created_to": "2026-01-01T00:00:00Z",
            },
            "body.created_to",
        ),
        ({"format": "csv", "created_to": "9999-12-31T23:00:00-05:00"}, "body.created_to"),
        ({"format": "csv", "created_from": "2026-01-02T00:00:00"}, "body.created_from"),
        ({"format": "csv", "fields": ["a", "a"]}, "body.fields"),
        ({"format": "csv", "fields": []}, "body.fields"),
        ({"format": "csv", "compression": "zip"}, "body.compression"),
        ({"format": "csv", "dataset_id": str(uuid.uuid4())}, "body.dataset_id"),
        ({"format": "csv", "record_type": "Bad Type"}, "body.record_type"),
    ],
)
async def test_invalid_export_requests_are_422(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/export", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == field


@pytest.fixture
async def s3_client(
    settings: Settings, s3_settings_overrides: dict[str, Any]
) -> AsyncIterator[tuple[Settings, httpx.AsyncClient]]:

    s3_settings = settings.model_copy(update=s3_settings_overrides)
    async with api_client(s3_settings) as c:
        yield s3_settings, c


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
async def test_exports_to_s3_download_through_presigned_urls(
    s3_client: tuple[Settings, httpx.AsyncClient],
    run_worker: WorkerRunner,
    wait_job: WaitJob,
    sessionmaker: SessionMaker,
    fmt: str,
) -> None:
    s3_settings, client = s3_client
    run_worker.start(queues=QUEUES, settings=s3_settings)
    dataset_id = await generate(client, wait_job, count=300)
    status = await export(client, wait_job, format=fmt, dataset_id=dataset_id, compression="gzip")
    result = status["result"]
    assert result["download_url"].startswith(str(s3_settings.s3_endpoint_url))
    response = await fetch(client, result["download_url"])
    assert response.status_code == 200
    assert len(response.content) == result["bytes"]
    assert hashlib.sha256(response.content).hexdigest() == result["sha256"]
    assert result["filename"] in response.headers["content-disposition"]
    body = response.content if fmt == "parquet" else gzip.decompress(response.content)
    assert len(parse(fmt, body)) == 300

    # A fresh link is presigned too.
    fresh = (await client.post(f"/exports/{status['id']}/link")).json()
    assert fresh["download_url"].startswith(str(s3_settings.s3_endpoint_url))


async def test_unusable_ranges_get_the_whole_file_and_head_works(
    client: httpx.AsyncClient, run_worker: WorkerRunner, wait_job: WaitJob
) -> None:
    run_worker.start(queues=QUEUES)
    dataset_id = await generate(client, wait_job, count=20)
    url = (await export(client, wait_job, format="csv", dataset_id=dataset_id))["result"][
        "download_url"
    ]
    whole = (await client.get(url)).content
    for bad in ("bytes=abc", "bytes=10-5", "lines=1-2", "bytes=-"):
        response = await client.get(url, headers={"Range": bad})
        assert response.status_code == 200, bad
        assert response.content == whole
    two = await client.get(url, headers={"Range": "bytes=0-1, 5-6"})
    assert two.status_code == 206
    head = await client.head(url)
    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(whole))


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
async def test_an_export_wider_than_postgres_can_select_fails_at_once(
    client: httpx.AsyncClient,
    run_worker: WorkerRunner,
    wait_job: WaitJob,
    sessionmaker: SessionMaker,
    fmt: str,
) -> None:
    # A dataset with more fields than one SELECT can list (uploads refuse such files now;
    # older datasets may hold them) must not break exports forever, nor be retried.
    from sqlalchemy import text

    names = [f"c{i}" for i in range(2_000)]
    async with sessionmaker() as session:
        dataset_id = await session.scalar(
            text(
                "INSERT INTO datasets (id, name, record_type, source, schema) VALUES "
                "(gen_random_uuid(), 'wide', 'wide', 'uploaded', CAST(:schema AS jsonb)) "
                "RETURNING id"
            ),
            {"schema": json.dumps([{"name": n, "type": "string"} for n in names])},
        )
        await session.execute(text(partition_sql(dataset_id)))
        await session.execute(
            text(
                "INSERT INTO records (dataset_id, record_type, data) "
                "VALUES (:d, 'wide', CAST(:data AS jsonb))"
            ),
            {"d": dataset_id, "data": json.dumps(dict.fromkeys(names, "v"))},
        )
        await session.commit()
    run_worker.start(queues=QUEUES)
    response = await client.post("/export", json={"format": fmt, "record_type": "wide"})
    job = await wait_job(response.json()["job_id"], statuses=("failed",))
    assert job["attempts"] == 1
    assert "2000 fields" in job["error"]["message"]
    assert "`fields`" in job["error"]["message"]
    # Naming the fields, or asking for NDJSON, works.
    status = await export(client, wait_job, format=fmt, record_type="wide", fields=names[:3])
    assert status["result"]["rows"] == 1
    status = await export(client, wait_job, format="ndjson", record_type="wide")
    assert status["result"]["rows"] == 1
