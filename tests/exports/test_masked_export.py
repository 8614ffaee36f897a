"""POST /export with `mask`: the rules on every format, end to end through the export job."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from datatasks.core.config import QueueName, Settings
from tests.conftest import WaitJob, WorkerRunner

FIELDS: list[dict[str, Any]] = [
    {"name": "n", "type": "sequence"},
    {"name": "email", "type": "email"},
    {"name": "first_name", "type": "first_name"},
    {"name": "signed_up", "type": "datetime"},
    {"name": "ip", "type": "ip_address"},
    {"name": "age", "type": "integer", "min": 18, "max": 90},
    {"name": "note", "type": "sentence", "null_rate": 0.2},
]
MASK = {
    "email": "hash",
    "first_name": "fake",
    "signed_up": {"rule": "truncate", "to": "month"},
    "ip": "truncate",
    "note": "redact",
}
COUNT = 300


async def originals(client: httpx.AsyncClient, wait_job: WaitJob) -> tuple[str, list[Any]]:
    body = {"record_type": "user", "count": COUNT, "seed": 9, "fields": FIELDS}
    job = await wait_job((await client.post("/generate", json=body)).json()["job_id"])
    dataset_id = job["result"]["dataset_id"]
    export = await client.post("/export", json={"format": "ndjson", "dataset_id": dataset_id})
    status = await exported(client, wait_job, export)
    download = await client.get(status["result"]["download_url"])
    return dataset_id, [json.loads(line) for line in download.content.splitlines()]


async def exported(
    client: httpx.AsyncClient, wait_job: WaitJob, response: httpx.Response
) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    await wait_job(response.json()["job_id"])
    status: dict[str, Any] = (await client.get(response.json()["status_url"])).json()
    return status


def parse(fmt: str, content: bytes) -> list[dict[str, Any]]:
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(content.decode())))
    if fmt == "json":
        rows: list[dict[str, Any]] = json.loads(content)
        return rows
    if fmt == "ndjson":
        return [json.loads(line) for line in content.splitlines()]
    return pq.read_table(io.BytesIO(content)).to_pylist()  # type: ignore[no-any-return]


@pytest.mark.parametrize("fmt", ["csv", "json", "ndjson", "parquet"])
async def test_every_rule_on_every_format(
    client: httpx.AsyncClient,
    run_worker: WorkerRunner,
    wait_job: WaitJob,
    settings: Settings,
    fmt: str,
) -> None:
    run_worker.start(queues=(QueueName.generation, QueueName.export))
    dataset_id, rows = await originals(client, wait_job)
    body = {"format": fmt, "dataset_id": dataset_id, "mask": MASK}
    status = await exported(client, wait_job, await client.post("/export", json=body))
    applied = {m["field"]: m for m in status["result"]["masked"]}
    assert set(applied) == set(MASK)
    assert applied["email"]["algorithm"] == "hmac-sha256"
    assert applied["ip"] == {
        "field": "ip",
        "rule": "truncate",
        "prefix": 24,
        "prefix6": 48,
    }
    content = (await client.get(status["result"]["download_url"])).content
    masked = parse(fmt, content)
    assert len(masked) == COUNT
    key = settings.masking_key
    assert key not in content
    fakes: dict[str, str] = {}
    for original, row in zip(rows, masked, strict=True):
        assert int(row["n"]) == original["n"]
        assert int(row["age"]) == original["age"]
        # hash: the keyed HMAC-SHA256 of the value's text.
        expected = hmac.new(key, original["email"].encode(), hashlib.sha256).hexdigest()
        assert row["email"] == expected
        # fake: a name, the same for the same original.
        fake = row["first_name"]
        assert isinstance(fake, str)
        assert fake[:1].isupper()
        assert fakes.setdefault(original["first_name"], fake) == fake
        # truncate: the month, and the /24 network.
        signed_up = row["signed_up"]
        text = signed_up if isinstance(signed_up, str) else signed_up.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert text == original["signed_up"][:7] + "-01T00:00:00Z"
        assert row["ip"] == original["ip"].rsplit(".", 1)[0] + ".0"
        # redact: null (an empty cell in CSV).
        assert row["note"] in (None, "")
    # The fakes are not the originals (a few may coincide: the same name list).
    same = sum(o["first_name"] == m["first_name"] for o, m in zip(rows, masked, strict=True))
    assert same < COUNT // 10


async def test_a_rule_that_does_not_fit_its_field_fails_the_export(
    client: httpx.AsyncClient, run_worker: WorkerRunner, wait_job: WaitJob
) -> None:
    run_worker.start(queues=(QueueName.generation, QueueName.export))
    dataset_id, _ = await originals(client, wait_job)
    body = {
        "format": "csv",
        "dataset_id": dataset_id,
        "mask": {"age": {"rule": "truncate", "to": "year"}},
    }
    response = await client.post("/export", json=body)
    job = await wait_job(response.json()["job_id"], statuses=("failed",))
    assert job["attempts"] == 1
    assert "truncate to applies to dates" in job["error"]["message"]


@pytest.mark.parametrize(
    "mask",
    [
        {"email": "scramble"},
        {"email": {"rule": "truncate", "to": "month", "keep": 3}},
        {"email": {"rule": "hash", "salt": "x"}},
        {"": "hash"},
    ],
)
async def test_bad_masks_are_422(client: httpx.AsyncClient, mask: dict[str, Any]) -> None:
    response = await client.post("/export", json={"format": "csv", "mask": mask})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_mask_on_a_field_left_out_is_422(client: httpx.AsyncClient) -> None:
    body = {"format": "csv", "fields": ["n"], "mask": {"email": "hash"}}
    response = await client.post("/export", json=body)
    assert response.status_code == 422, response.text
    assert "email" in response.text
