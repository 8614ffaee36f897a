"""The worker's end-to-end generation rate against a raw binary COPY of the same rows."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from typing import Any

import asyncpg
import httpx

from bench.service import Service
from datatasks.generation.fields import FieldSpec, parse_field
from datatasks.generation.generator import generate_json_rows
from datatasks.jobs.execution import COPY_COLUMNS

# A typical 10-field record.
FIELDS: list[dict[str, Any]] = [
    {"name": "id", "type": "uuid"},
    {"name": "n", "type": "sequence"},
    {"name": "first_name", "type": "first_name"},
    {"name": "last_name", "type": "last_name"},
    {"name": "email", "type": "email"},
    {"name": "age", "type": "integer", "min": 18, "max": 90},
    {"name": "score", "type": "float", "min": 0, "max": 100, "decimals": 2},
    {"name": "active", "type": "boolean"},
    {"name": "signed_up", "type": "datetime"},
    {"name": "city", "type": "city"},
]
SEED = 1234


async def raw_copy_rate(service: Service, rows: int) -> float:
    """Rows/s of one binary COPY of pre-made rows: the floor under any generation path."""
    specs: list[FieldSpec] = [parse_field(f) for f in FIELDS]
    dataset_id = uuid.uuid4()
    docs = generate_json_rows(specs, SEED, 0, rows)
    records = [(dataset_id, "bench", doc) for doc in docs]
    conn = await asyncpg.connect(service.settings.asyncpg_dsn)
    try:
        await conn.execute(f'TRUNCATE "{service.settings.database_schema}".records')
        started = time.perf_counter()
        await conn.copy_records_to_table(
            "records",
            records=records,
            columns=COPY_COLUMNS,
            schema_name=service.settings.database_schema,
        )
        elapsed = time.perf_counter() - started
        await conn.execute(f'TRUNCATE "{service.settings.database_schema}".records')
    finally:
        await conn.close()
    return rows / elapsed


async def worker_rate(service: Service, rows: int) -> float:
    """Rows/s of a real worker running a real job, from its start to its completion."""
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
        body = {"record_type": "bench", "count": rows, "seed": SEED, "fields": FIELDS}
        response = await client.post("/generate", json=body)
        response.raise_for_status()
        status_url = response.headers["location"]
        while True:
            status = (await client.get(status_url)).json()
            if status["status"] == "completed":
                break
            if status["status"] in ("failed", "cancelled"):
                raise RuntimeError(f"benchmark job ended {status['status']}: {status['error']}")
            await asyncio.sleep(0.2)
    elapsed = _seconds(status["finished_at"]) - _seconds(status["started_at"])
    conn = await asyncpg.connect(service.settings.asyncpg_dsn)
    try:
        await conn.execute(f'TRUNCATE "{service.settings.database_schema}".records')
    finally:
        await conn.close()
    return rows / elapsed


def _seconds(timestamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(timestamp).timestamp()


async def run(service: Service, rows: int, repeat: int) -> dict[str, Any]:
    """Alternate raw and worker runs so a drift in the machine's speed hits both alike."""
    raw: list[float] = []
    worker: list[float] = []
    for _ in range(repeat):
        raw.append(await raw_copy_rate(service, rows))
        worker.append(await worker_rate(service, rows))
    ratios = [w / r for w, r in zip(worker, raw, strict=True)]
    return {
        "rows": rows,
        "fields": len(FIELDS),
        "raw_copy_rows_per_min": round(statistics.median(raw) * 60),
        "worker_rows_per_min": round(statistics.median(worker) * 60),
        "ratio": round(statistics.median(ratios), 3),
        "ratios": [round(r, 3) for r in ratios],
        "target_ratio": 0.7,
    }
