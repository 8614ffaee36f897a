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
    inference = Inference(8)
    columns = [
        ("1", "-20", "NA"),
        ("1.5", "2", "-3e4"),
        ("true", "False", ""),
        ("2024-01-31", "1999-12-01", None),
        ("2024-01-01T10:00:00Z", "2024-01-01 10:00:00+02:00", "NULL"),
        ("2024-02-30", "2024-01-01", "2024-01-02"),  # no 30 February: text
        ("007", "12", "13"),  # a leading zero: a code, not a number
        ("", "NA", None),
    ]
    inference.observe(list(zip(*columns, strict=True)))
    assert inference.types() == [
        "integer", "float", "boolean", "date", "datetime", "string", "string", "null",
    ]  # fmt: skip
    inference.observe([("x", "2", "true", "2024-01-01", "N/A", "a", "1", "")])
    assert inference.types()[:5] == ["string", "float", "boolean", "date", "datetime"]


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
        status = await export(client, wait_job, format=fmt, dataset_id=dataset_id)
        return (await fetch(client, status["result"]["download_url"])).content

    table = pq.read_table(io.BytesIO(await body("parquet")))
    assert [str(t) for t in table.schema.types] == [
        "string", "int64", "double", "bool", "date32[day]", "timestamp[ms, tz=UTC]", "string",
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
