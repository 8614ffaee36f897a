"""Export dialects end to end: CSV delimiter, line ending, BOM, null string and header;
Parquet codecs and row-group size; big integers in JSON; every misplaced option a 422."""

from __future__ import annotations

import codecs
import csv
import io
import json
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from datatasks.core.config import QueueName
from tests.conftest import WaitJob, WorkerRunner
from tests.exports.test_export import export, fetch
from tests.helpers import generate

QUEUES = (QueueName.generation, QueueName.export)
TRICKY = 'line one\nline "two"; é'
FIELDS: list[dict[str, Any]] = [
    {"name": "n", "type": "sequence"},
    {"name": "tricky", "type": "constant", "value": TRICKY},
    {"name": "empty", "type": "constant", "value": ""},
    {"name": "maybe", "type": "first_name", "null_rate": 0.5},
    {"name": "big", "type": "integer", "min": 2**60, "max": 2**62},
    {"name": "small", "type": "integer", "min": -5, "max": 5},
]


@pytest.fixture
async def dataset(client: httpx.AsyncClient, run_worker: WorkerRunner, wait_job: WaitJob) -> str:
    run_worker.start(queues=QUEUES)
    job_id = await generate(client, {"record_type": "d", "count": 300, "seed": 5, "fields": FIELDS})
    dataset_id: str = (await wait_job(job_id))["result"]["dataset_id"]
    return dataset_id


async def body_of(client: httpx.AsyncClient, wait_job: WaitJob, **request: Any) -> bytes:
    status = await export(client, wait_job, **request)
    assert status["status"] == "completed", status
    return (await fetch(client, status["result"]["download_url"])).content


async def test_a_csv_dialect_for_excel_and_friends(
    client: httpx.AsyncClient, wait_job: WaitJob, dataset: str
) -> None:
    body = await body_of(
        client,
        wait_job,
        format="csv",
        dataset_id=dataset,
        delimiter=";",
        line_ending="crlf",
        bom=True,
        null="NA",
    )
    assert body.startswith(codecs.BOM_UTF8)
    text = body[len(codecs.BOM_UTF8) :].decode()
    assert text.count("\r\n") == 301, "every record ends in CRLF, the header too"
    assert "line one\nline" in text, "a newline inside a value stays as it is"
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert rows[0] == ["n", "tricky", "empty", "maybe", "big", "small"]
    assert {r[1] for r in rows[1:]} == {TRICKY}
    assert {r[2] for r in rows[1:]} == {""}, "an empty text is not the null string"
    assert "NA" in {r[3] for r in rows[1:]}, "nulls are written as asked"

    headless = await body_of(client, wait_job, format="csv", dataset_id=dataset, header=False)
    assert next(csv.reader(io.StringIO(headless.decode(), newline="")))[0] == "1"


@pytest.mark.parametrize("codec", ["snappy", "zstd", "gzip", "none"])
async def test_parquet_codecs_and_row_groups(
    client: httpx.AsyncClient, wait_job: WaitJob, dataset: str, codec: str
) -> None:
    body = await body_of(
        client, wait_job, format="parquet", dataset_id=dataset, compression=codec,
        row_group_size=1000,
    )  # fmt: skip
    parquet = pq.ParquetFile(io.BytesIO(body))
    assert parquet.metadata.num_rows == 300
    expected = "UNCOMPRESSED" if codec == "none" else codec.upper()
    assert parquet.metadata.row_group(0).column(0).compression == expected
    assert parquet.read().column("big").type == "int64"


async def test_parquet_row_group_size(
    client: httpx.AsyncClient, run_worker: WorkerRunner, wait_job: WaitJob
) -> None:
    run_worker.start(queues=QUEUES)
    job_id = await generate(client, {"record_type": "g", "count": 2500, "fields": FIELDS[:1]})
    dataset_id = (await wait_job(job_id))["result"]["dataset_id"]
    body = await body_of(
        client, wait_job, format="parquet", dataset_id=dataset_id, row_group_size=1000
    )
    assert pq.ParquetFile(io.BytesIO(body)).metadata.num_row_groups == 3


@pytest.mark.parametrize("fields", [None, ["big", "small"]])
async def test_big_integers_are_exact_numbers_or_strings_when_asked(
    client: httpx.AsyncClient, wait_job: WaitJob, dataset: str, fields: list[str] | None
) -> None:
    exact = await body_of(client, wait_job, format="ndjson", dataset_id=dataset, fields=fields)
    numbers = [json.loads(line) for line in exact.splitlines()]
    assert all(isinstance(r["big"], int) and r["big"] >= 2**60 for r in numbers)
    strings = await body_of(
        client, wait_job, format="json", dataset_id=dataset, fields=fields, big_int_as_string=True
    )
    converted = json.loads(strings)
    assert [int(r["big"]) for r in converted] == [r["big"] for r in numbers]
    assert all(isinstance(r["big"], str) for r in converted)
    assert all(isinstance(r["small"], int) for r in converted), "safe integers stay numbers"


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"format": "parquet", "delimiter": ";"}, "delimiter applies to CSV"),
        ({"format": "json", "bom": True}, "bom applies to CSV"),
        ({"format": "ndjson", "line_ending": "crlf"}, "line_ending applies to CSV"),
        ({"format": "csv", "compression": "snappy"}, "compression snappy applies to Parquet"),
        ({"format": "csv", "row_group_size": 5000}, "row_group_size applies to Parquet"),
        ({"format": "csv", "big_int_as_string": True}, "big_int_as_string applies to JSON"),
        ({"format": "csv", "null": "a;b", "delimiter": ";"}, "null must not contain"),
        ({"format": "csv", "delimiter": '"'}, "delimiter"),
        ({"format": "csv", "delimiter": "ab"}, "delimiter"),
        ({"format": "csv", "null": "x\ny"}, "null"),
        ({"format": "parquet", "row_group_size": 10}, "row_group_size"),
    ],
)
async def test_every_misplaced_or_bad_option_is_a_422_naming_it(
    client: httpx.AsyncClient, body: dict[str, Any], named: str
) -> None:
    response = await client.post("/export", json={**body, "record_type": "d"})
    assert response.status_code == 422, response.text
    assert named in response.text
