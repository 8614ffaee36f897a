"""A soak: 1,000 mixed jobs from 100 concurrent clients, two workers, one of them killed and
restarted twice. Every job completes, and Postgres holds exactly the rows asked for."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import time
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from tests.e2e.conftest import COUNTS, Service

pytestmark = pytest.mark.e2e

CLIENTS = 100
JOBS_PER_CLIENT = 10
FIELDS = [{"name": "n", "type": "sequence"}, {"name": "name", "type": "full_name"}]


async def post(http: httpx.AsyncClient, url: str, **kwargs: Any) -> httpx.Response:
    """As a careful client does: an Idempotency-Key, and a retry when the connection drops
    (the key makes the retry safe: it returns the job the first try created, if it did)."""
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    for attempt in range(3):
        try:
            return await http.post(url, headers=headers, **kwargs)
        except httpx.TransportError:
            if attempt == 2:
                raise
            await asyncio.sleep(0.2)
    raise AssertionError("unreachable")


async def client_session(
    http: httpx.AsyncClient, url: str, rng: random.Random, jobs: list[dict[str, Any]]
) -> None:
    for _ in range(JOBS_PER_CLIENT):
        kind = rng.choices(["generate", "upload", "export"], weights=[7, 2, 1])[0]
        if kind == "generate":
            count = rng.randint(50, 2_000)
            body = {"record_type": "soak", "count": count, "fields": FIELDS}
            response = await post(http, f"{url}/generate", json=body)
        elif kind == "upload":
            count = rng.randint(10, 500)
            content = "n,name\n" + "".join(f"{i},x{i}\n" for i in range(1, count + 1))
            response = await post(
                http,
                f"{url}/upload",
                files={"file": ("s.csv", content.encode())},
                data={"record_type": "soak_upload"},
            )
        else:
            count = -1
            response = await post(
                http, f"{url}/export", json={"format": "ndjson", "record_type": "none_here"}
            )
        assert response.status_code == 202, response.text
        jobs.append({"kind": kind, "count": count, "id": response.json()["job_id"]})


async def test_soak(service: Service, pg: asyncpg.Connection) -> None:
    service.env["QUEUES__GENERATION__CONCURRENCY"] = "4"
    service.env["QUEUES__INGEST__CONCURRENCY"] = "2"
    service.api()
    victim = service.start("worker")
    service.start("worker")
    rng = random.Random(2026)
    jobs: list[dict[str, Any]] = []
    started = time.monotonic()
    limits = httpx.Limits(max_connections=CLIENTS)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        await service.ready(http)
        submitting = asyncio.gather(
            *(
                client_session(http, service.url, random.Random(rng.random()), jobs)
                for _ in range(CLIENTS)
            )
        )
        kills = 0
        for _ in range(2):
            await asyncio.sleep(1.5)
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            kills += 1
            victim = service.start("worker")
        await submitting
        assert len(jobs) == CLIENTS * JOBS_PER_CLIENT

        ids = [uuid.UUID(j["id"]) for j in jobs]
        async with asyncio.timeout(240):
            while True:
                states = dict(
                    await pg.fetch(
                        "SELECT status, count(*) FROM jobs WHERE id = ANY($1) GROUP BY status", ids
                    )
                )
                if states.get("completed", 0) == len(ids):
                    break
                assert not states.get("failed"), states
                assert not states.get("cancelled"), states
                await asyncio.sleep(0.5)
    elapsed = time.monotonic() - started

    rows = {
        r["id"]: r
        for r in await pg.fetch(
            COUNTS + "SELECT j.id, j.result, d.row_count, c.records, c.ns FROM jobs j "
            "LEFT JOIN datasets d ON d.job_id = j.id LEFT JOIN counts c ON c.dataset_id = d.id "
            "WHERE j.id = ANY($1)",
            ids,
        )
    }
    total = 0
    for job in jobs:
        row = rows[uuid.UUID(job["id"])]
        if job["kind"] == "export":
            assert json.loads(row["result"])["rows"] == 0
            continue
        assert row["row_count"] == row["records"] == row["ns"] == job["count"], job
        total += job["count"]
    print(f"\nsoak: {len(jobs)} jobs, {total} rows, {kills} kills, {elapsed:.1f} s")
