"""Typed ingest: column types inferred from every value, null tokens, the schema in the file's
order, and exports that write each column as its type."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
import pyarrow.parquet as pq
from sqlalchemy import text

from datatasks.core.config import QueueName
from datatasks.core.db import SessionMaker
from datatasks.uploads.types import Inference
from tests.conftest import WaitJob, WorkerRunner
from tests.exports.test_export import export, fetch
from tests.uploads.test_upload import upload


def test_each_type_is_the_narrowest_every_value_fits() -> None:
    inference = Inference(10)
    columns = [
        ("1", "-20", "NA"),
        ("1.5", "2", "-3e4"),
        ("true", "False", ""),
        ("2024-01-31", "1999-12-01", None),
        ("2024-01-01T10:00:00Z", "2024-01-01 10:00:00+02:00", "NULL"),
        ("2024-02-30", "2024-01-01", "2024-01-02"),  # no 30 February: text
        ("007", "12", "13"),  # a leading zero: a code, not a number
        ("", "NA", None),
        ("2024-01-01T10:00", "2024-01-01 10:00:00.5", ""),  # no zone
        ("2024-01-01T10:00:00.123456Z", "2024-01-01T10:00+0100", "2024-01-01T10:00:00Z"),
    ]
    inference.observe(list(zip(*columns, strict=True)))
    assert inference.types() == [
        "integer", "float", "boolean", "date", "datetime", "string", "string", "null",
        "naive_datetime", "datetime",
    ]  # fmt: skip
    inference.observe([("x", "2", "true", "2024-01-01", "N/A", "a", "1", "", "x", "2024-13-01")])
    assert inference.types() == [
        "string", "float", "boolean", "date", "datetime", "string", "string", "null", "string",
        "string",
    ]  # fmt: skip


def test_a_declared_type_is_kept_and_values_that_do_not_fit_are_found() -> None:
    inference = Inference(3, declared={0: "integer", 2: "string"})
    rows = [("1", "2024-01-01", "1"), ("x", "2024-01-02", "2"), ("NA", "", "3"), ("1.5", "", "")]
    assert inference.misfits(rows) == {1: (0, "x"), 3: (0, "1.5")}
    inference.observe(rows)
    assert inference.types() == ["integer", "date", "string"]
    dates = Inference(1, declared={0: "date"})
    assert dates.misfits([("2024-02-29",), ("2023-02-29",), ("2024-1-1",)]) == {
        1: (0, "2023-02-29"),
        2: (0, "2024-1-1"),
    }


CSV = (
    b"zeta,count,score,ok,day,at,code,note\n"
    b"a,1,1.5,true,2024-01-31,2024-01-01T10:00:00Z,007,\n"
    b"b,-2,NA,False,2024-02-01,2024-01-01T12:00:00+02:00,008,NA\n"
    b"c,NA,3,,,,009,text\n"
)


async def test_an_upload_keeps_its_types_and_order_in_every_export(
    client: httpx.AsyncClient,
    run_worker: WorkerRunner,
    wait_job: WaitJob,
    sessionmaker: SessionMaker,
) -> None:
    run_worker.start(queues=(QueueName.ingest, QueueName.export))
    response = await upload(client, CSV, record_type="typed")
    job = await wait_job(response.json()["job_id"])
    dataset_id = job["result"]["dataset_id"]
    async with sessionmaker() as session:
        schema = (
            await session.execute(
                text("SELECT schema FROM datasets WHERE id = :d"), {"d": dataset_id}
            )
        ).scalar_one()
    assert schema == [
        {"name": "zeta", "type": "string"},
        {"name": "count", "type": "integer"},
        {"name": "score", "type": "float"},
        {"name": "ok", "type": "boolean"},
        {"name": "day", "type": "date"},
        {"name": "at", "type": "datetime"},
        {"name": "code", "type": "string"},
        {"name": "note", "type": "string"},
    ]

    async def body(fmt: str) -> bytes:
        return await exported(client, wait_job, dataset_id, fmt)

    table = pq.read_table(io.BytesIO(await body("parquet")))
    assert [str(t) for t in table.schema.types] == [
        "string", "int64", "double", "bool", "date32[day]", "timestamp[us, tz=UTC]", "string",
        "string",
    ]  # fmt: skip
    assert table.column("count").to_pylist() == [1, -2, None]
    moments = table.column("at").to_pylist()
    assert moments[0] == moments[1], "12:00 at +02:00 is 10:00 UTC"

    rows: list[dict[str, Any]] = [json.loads(line) for line in (await body("ndjson")).splitlines()]
    assert list(rows[0]) == ["zeta", "count", "score", "ok", "day", "at", "code", "note"]
    assert rows[0] == {
        "zeta": "a", "count": 1, "score": 1.5, "ok": True, "day": "2024-01-31",
        "at": "2024-01-01T10:00:00Z", "code": "007", "note": None,
    }  # fmt: skip
    assert rows[2]["count"] is None
    assert json.loads(await body("json"))[1]["ok"] is False

    csv_text = (await body("csv")).decode()
    assert csv_text.splitlines()[3] == "c,,3,,,,009,text"


async def exported(
    client: httpx.AsyncClient, wait_job: WaitJob, dataset_id: str, fmt: str
) -> bytes:
    """The dataset exported in `fmt`, downloaded."""
    status = await export(client, wait_job, format=fmt, dataset_id=dataset_id)
    return (await fetch(client, status["result"]["download_url"])).content


async def dataset_schema(sessionmaker: SessionMaker, dataset_id: str) -> Any:
    async with sessionmaker() as session:
        return (
            await session.execute(
                text("SELECT schema FROM datasets WHERE id = :d"), {"d": dataset_id}
            )
        ).scalar_one()


async def test_a_declared_schema_types_its_columns_and_rejects_values_that_do_not_fit(
    client: httpx.AsyncClient,
    run_worker: WorkerRunner,
    wait_job: WaitJob,
    sessionmaker: SessionMaker,
) -> None:
    run_worker.start(queues=(QueueName.ingest, QueueName.export))
    content = b"id,code,day,at\n1,007,2024-01-31,2024-01-01 10:00\nfoo,008,2024-02-01,\n3,009,,\n"
    schema = {"id": "integer", "code": "string", "at": "naive_datetime"}
    response = await upload(client, content, record_type="declared", schema=json.dumps(schema))
    job = await wait_job(response.json()["job_id"])
    result = job["result"]
    assert (result["rows"], result["rejected"]) == (2, 1)
    (rejected,) = result["rejected_sample"]
    assert rejected["line"] == 3
    assert rejected["reason"] == "column 'id': 'foo' is not an integer"
    assert await dataset_schema(sessionmaker, result["dataset_id"]) == [
        {"name": "id", "type": "integer"},
        {"name": "code", "type": "string"},
        {"name": "day", "type": "date"},  # inferred
        {"name": "at", "type": "naive_datetime"},
    ]
    status = await export(client, wait_job, format="parquet", dataset_id=result["dataset_id"])
    table = pq.read_table(
        io.BytesIO((await fetch(client, status["result"]["download_url"])).content)
    )
    assert [str(t) for t in table.schema.types] == [
        "int64", "string", "date32[day]", "timestamp[us]",
    ]  # fmt: skip
    assert table.column("code").to_pylist() == ["007", "009"]


async def test_a_json_upload_keeps_its_key_order_and_value_types(
    client: httpx.AsyncClient,
    run_worker: WorkerRunner,
    wait_job: WaitJob,
    sessionmaker: SessionMaker,
) -> None:
    run_worker.start(queues=(QueueName.ingest, QueueName.export))
    content = (
        b'{"zeta": 1, "alpha": "x", "ok": true, "score": 1.5, "none": null}\n'
        b'{"zeta": 2, "alpha": "y", "ok": false, "score": 2, "extra": {"k": [1]}}\n'
    )
    job = await wait_job((await upload(client, content, record_type="ordered")).json()["job_id"])
    dataset_id = job["result"]["dataset_id"]
    assert await dataset_schema(sessionmaker, dataset_id) == [
        {"name": "zeta", "type": "integer"},
        {"name": "alpha", "type": "string"},
        {"name": "ok", "type": "boolean"},
        {"name": "score", "type": "float"},
        {"name": "none", "type": "null"},
        {"name": "extra", "type": "json"},
    ]

    async def body(fmt: str) -> bytes:
        return await exported(client, wait_job, dataset_id, fmt)

    rows = [json.loads(line) for line in (await body("ndjson")).splitlines()]
    assert [list(row) for row in rows] == [["zeta", "alpha", "ok", "score", "none", "extra"]] * 2
    assert rows[1] == {
        "zeta": 2, "alpha": "y", "ok": False, "score": 2, "none": None, "extra": {"k": [1]},
    }  # fmt: skip
    table = pq.read_table(io.BytesIO(await body("parquet")))
    assert [str(t) for t in table.schema.types] == [
        "int64", "string", "bool", "double", "string", "string",
    ]  # fmt: skip
    assert table.column("score").to_pylist() == [1.5, 2.0]
    header = (await body("csv")).decode().splitlines()[0]
    assert header == '"zeta","alpha","ok","score","none","extra"'
