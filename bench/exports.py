"""Export rate against a raw `COPY (SELECT ...) TO` file of the same rows, and the export
worker's peak memory at two sizes."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.generation import FIELDS, SEED
from bench.service import Service

NAMES = [f["name"] for f in FIELDS]


async def _job(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body)
    response.raise_for_status()
    while True:
        status: dict[str, Any] = (await client.get(response.headers["location"])).json()
        if status["status"] == "completed":
            return status
        if status["status"] in ("failed", "cancelled"):
            raise RuntimeError(f"benchmark job ended {status['status']}: {status['error']}")
        await asyncio.sleep(0.1)


async def make_dataset(service: Service, rows: int) -> str:
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
        body = {"record_type": "bench", "count": rows, "seed": SEED, "fields": FIELDS}
        status = await _job(client, "/generate", body)
    dataset_id: str = status["result"]["dataset_id"]
    return dataset_id


async def raw_copy_rate(service: Service, dataset_id: str, rows: int) -> float:
    """Rows/s of Postgres formatting the same rows as CSV into a local file: the floor."""
    conn = await asyncpg.connect(
        service.settings.asyncpg_dsn,
        server_settings={"search_path": service.settings.database_schema},
    )
    columns = ", ".join(f"data->>'{name}'" for name in NAMES)
    query = f"SELECT {columns} FROM records WHERE dataset_id = $1 ORDER BY id"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            await conn.copy_from_query(
                query, uuid.UUID(dataset_id), output=str(Path(tmp) / "raw.csv"), format="csv"
            )
            return rows / (time.perf_counter() - started)
    finally:
        await conn.close()


async def export_rate(service: Service, dataset_id: str, fmt: str) -> tuple[float, int]:
    """Rows/s of a real export job (from its start to its completion), and its rows."""
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
        status = await _job(client, "/export", {"format": fmt, "dataset_id": dataset_id})
    elapsed = _seconds(status["finished_at"]) - _seconds(status["started_at"])
    rows: int = status["result"]["rows"]
    return rows / elapsed, rows


def _seconds(timestamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(timestamp).timestamp()


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


async def peak_rss(service: Service, dataset_id: str, fmt: str) -> float:
    """Peak RSS (MiB) of a fresh export-only worker that runs one export (the only export
    worker running)."""
    proc = service.start("worker", "--queues", "export")
    try:
        await export_rate(service, dataset_id, fmt)
        return _peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=60)


async def run(service: Service, rows: int, repeat: int) -> dict[str, Any]:
    """Expects a service with no worker running: it starts its own, one queue each, so the
    export worker measured is the one that runs the export."""
    service.start("worker", "--queues", "generation")
    small = await make_dataset(service, rows // 10)
    large = await make_dataset(service, rows)
    raw: list[float] = []
    rates: dict[str, list[float]] = {"csv": [], "ndjson": []}
    exporter = service.start("worker", "--queues", "export")
    for _ in range(repeat):
        raw.append(await raw_copy_rate(service, large, rows))
        for fmt in rates:
            rate, exported = await export_rate(service, large, fmt)
            assert exported == rows
            rates[fmt].append(rate)
    exporter.terminate()
    exporter.wait(timeout=60)
    raw_rate = statistics.median(raw)
    result: dict[str, Any] = {
        "rows": rows,
        "raw_copy_csv_rows_per_min": round(raw_rate * 60),
    }
    for fmt, values in rates.items():
        result[f"{fmt}_rows_per_min"] = round(statistics.median(values) * 60)
        result[f"{fmt}_ratio"] = round(statistics.median(values) / raw_rate, 3)
    result["targets"] = {"csv_ratio": 0.7, "ndjson_ratio": 0.5, "rss_growth_mb": 30}
    for fmt in ("csv", "ndjson"):
        result[f"{fmt}_peak_rss_mb"] = {
            f"{rows // 10}": round(await peak_rss(service, small, fmt), 1),
            f"{rows}": round(await peak_rss(service, large, fmt), 1),
        }
    return result
