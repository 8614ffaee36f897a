"""Datasets: an export across many datasets against one raw COPY of the same rows, a masked
CSV export against raw COPY, and the erasure of a large dataset (time, space given back)."""

from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.exports import NAMES, _job, _seconds
from bench.generation import FIELDS, SEED
from bench.service import Service

DATASETS = 100
# One of each kind of rule on the typical schema's text fields.
MASK = {"email": "hash", "last_name": "fake", "signed_up": {"rule": "truncate", "to": "month"}}


async def _connect(service: Service) -> asyncpg.Connection:
    return await asyncpg.connect(
        service.settings.asyncpg_dsn,
        server_settings={"search_path": service.settings.database_schema},
    )


async def _datasets(service: Service, record_type: str, count: int, rows: int) -> list[str]:
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
        made = []
        for _ in range(count):
            body = {"record_type": record_type, "count": rows, "seed": SEED, "fields": FIELDS}
            made.append((await _job(client, "/generate", body))["result"]["dataset_id"])
    return made


async def _raw(service: Service, dataset_ids: list[str], rows: int) -> float:
    """Rows/s of one COPY of the rows as CSV through the parent table: the floor."""
    conn = await _connect(service)
    columns = ", ".join(f"data->>'{name}'" for name in NAMES)
    query = f"SELECT {columns} FROM records WHERE dataset_id = ANY($1::uuid[])"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            await conn.copy_from_query(
                query,
                [uuid.UUID(d) for d in dataset_ids],
                output=str(Path(tmp) / "raw.csv"),
                format="csv",
            )
            return rows / (time.perf_counter() - started)
    finally:
        await conn.close()


async def _export(service: Service, body: dict[str, Any]) -> float:
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
        status = await _job(client, "/export", body)
    return float(status["result"]["rows"]) / (
        _seconds(status["finished_at"]) - _seconds(status["started_at"])
    )


async def _erase(service: Service, dataset_id: str) -> dict[str, Any]:
    conn = await _connect(service)
    try:
        table = "records_" + uuid.UUID(dataset_id).hex
        size = await conn.fetchval("SELECT pg_total_relation_size($1::regclass)", table)
        database_before = await conn.fetchval("SELECT pg_database_size(current_database())")
        async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
            response = await client.delete(f"/datasets/{dataset_id}")
            response.raise_for_status()
            status = await _job_done(client, response.headers["location"])
        database_after = await conn.fetchval("SELECT pg_database_size(current_database())")
    finally:
        await conn.close()
    return {
        "rows": status["result"]["rows"],
        "job_seconds": round(_seconds(status["finished_at"]) - _seconds(status["started_at"]), 3),
        "table_mb": round(size / 2**20, 1),
        "database_mb_given_back": round((database_before - database_after) / 2**20, 1),
    }


async def _job_done(client: httpx.AsyncClient, location: str) -> dict[str, Any]:
    import asyncio

    while True:
        status: dict[str, Any] = (await client.get(location)).json()
        if status["status"] in ("completed", "failed"):
            if status["status"] == "failed":
                raise RuntimeError(status["error"])
            return status
        await asyncio.sleep(0.05)


async def run(service: Service, rows: int, repeat: int) -> dict[str, Any]:
    service.start("worker", "--queues", "generation")
    many = await _datasets(service, "many", DATASETS, rows // DATASETS)
    (large,) = await _datasets(service, "large", 1, rows)
    service.start("worker", "--queues", "export,erasure")
    raw_many: list[float] = []
    many_rates: list[float] = []
    raw_large: list[float] = []
    masked_rates: list[float] = []
    for _ in range(repeat):
        raw_many.append(await _raw(service, many, rows // DATASETS * DATASETS))
        many_rates.append(await _export(service, {"format": "csv", "record_type": "many"}))
        raw_large.append(await _raw(service, [large], rows))
        masked_rates.append(
            await _export(service, {"format": "csv", "dataset_id": large, "mask": MASK})
        )
    many_ratio = statistics.median(many_rates) / statistics.median(raw_many)
    masked_ratio = statistics.median(masked_rates) / statistics.median(raw_large)
    return {
        "rows": rows,
        "datasets": DATASETS,
        "raw_copy_many_rows_per_min": round(statistics.median(raw_many) * 60),
        "export_many_rows_per_min": round(statistics.median(many_rates) * 60),
        "many_ratio": round(many_ratio, 3),
        "raw_copy_rows_per_min": round(statistics.median(raw_large) * 60),
        "masked_csv_rows_per_min": round(statistics.median(masked_rates) * 60),
        "masked_ratio": round(masked_ratio, 3),
        "erase": await _erase(service, large),
        "targets": {"many_ratio": 0.85, "masked_ratio": 0.7},
    }
