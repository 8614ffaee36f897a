"""Upload throughput against writing the same bytes to the same disk, the API's memory during
a 100 MB upload, and ingest rate against a raw binary COPY of the same records."""

from __future__ import annotations

import asyncio
import csv
import os
import random
import statistics
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson

from bench.service import Service, free_port

COLUMNS = [
    "id",
    "first_name",
    "last_name",
    "email",
    "city",
    "age",
    "score",
    "active",
    "signed_up",
    "note",
]


def make_csv(path: Path, size: int) -> int:
    """A CSV of about `size` bytes with 10 text columns; returns its row count."""
    rng = random.Random(7)
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    rows = 0
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        while f.tell() < size:
            for _ in range(1000):
                rows += 1
                writer.writerow(
                    [
                        rows,
                        rng.choice(words),
                        rng.choice(words),
                        f"{rng.choice(words)}@example.com",
                        rng.choice(words),
                        rng.randint(18, 90),
                        round(rng.random() * 100, 2),
                        rng.random() < 0.5,
                        "2026-01-01T00:00:00Z",
                        " ".join(rng.choices(words, k=6)),
                    ]
                )
    return rows


def raw_disk_rate(source: Path, directory: Path) -> float:
    """MiB/s of copying the bytes to a new file in `directory` and fsyncing it."""
    target = directory / f"raw-{uuid.uuid4().hex}"
    started = time.perf_counter()
    with source.open("rb") as src, target.open("wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    elapsed = time.perf_counter() - started
    target.unlink()
    return source.stat().st_size / (1 << 20) / elapsed


def _seconds(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp).timestamp()


def _rss_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    raise RuntimeError(field)


async def raw_http_rate(source: Path, directory: Path) -> float:
    """MiB/s of `curl --data-binary` into bench/raw_upload.py: the HTTP path's ceiling."""
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.raw_upload", str(port), str(directory)
    )
    try:
        for _ in range(100):
            probe = await asyncio.create_subprocess_exec(
                "curl", "-s", "-o", "/dev/null", "-X", "POST", f"http://127.0.0.1:{port}/"
            )
            if await probe.wait() == 0:
                break
            await asyncio.sleep(0.1)
        started = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(
            "curl",
            "-sS",
            "-o",
            "/dev/null",
            "--data-binary",
            f"@{source}",
            "-H",
            "content-type: application/octet-stream",
            f"http://127.0.0.1:{port}/",
        )
        await proc.wait()
        return source.stat().st_size / (1 << 20) / (time.perf_counter() - started)
    finally:
        server.terminate()
        await server.wait()


async def upload_rate(service: Service, source: Path, api_pid: int) -> dict[str, Any]:
    """MiB/s of `curl -F file=@...` to the real API, and the API's RSS growth meanwhile."""
    before = _rss_mb(api_pid, "VmRSS:")
    # Reset the high-water mark so it measures this upload only.
    Path(f"/proc/{api_pid}/clear_refs").write_text("5")
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        "curl",
        "-sS",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-F",
        f"file=@{source}",
        f"{service.url}/upload",
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    elapsed = time.perf_counter() - started
    if out.decode() != "202":
        raise RuntimeError(f"upload answered {out.decode()}")
    peak = _rss_mb(api_pid, "VmHWM:")
    return {
        "mib_per_s": source.stat().st_size / (1 << 20) / elapsed,
        "rss_growth_mb": peak - before,
    }


async def _latest_ingest(service: Service) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
        while True:
            jobs = (await client.get("/jobs", params={"type": "ingest", "limit": 1})).json()
            job: dict[str, Any] = jobs["items"][0]
            if job["status"] == "completed":
                return job
            if job["status"] in ("failed", "cancelled"):
                raise RuntimeError(f"ingest ended {job['status']}: {job['error']}")
            await asyncio.sleep(0.2)


async def raw_copy_rate(service: Service, source: Path) -> float:
    """Rows/s of one binary COPY of the file's records, parsed beforehand."""
    with source.open(newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        dataset_id = uuid.uuid4()
        records = [
            (dataset_id, "bench", orjson.dumps(dict(zip(header, row, strict=True))).decode())
            for row in reader
        ]
    conn = await asyncpg.connect(service.settings.asyncpg_dsn)
    try:
        started = time.perf_counter()
        await conn.copy_records_to_table(
            "records",
            records=records,
            columns=("dataset_id", "record_type", "data"),
            schema_name=service.settings.database_schema,
        )
        elapsed = time.perf_counter() - started
        await conn.execute(
            f'DELETE FROM "{service.settings.database_schema}".records WHERE dataset_id = $1',
            dataset_id,
        )
    finally:
        await conn.close()
    return len(records) / elapsed


async def run(service: Service, size_mb: int, repeat: int, workdir: Path) -> dict[str, Any]:
    source = workdir / "upload.csv"
    rows = make_csv(source, size_mb * 1_000_000)
    api = next(p for p in service.procs if "api" in list(p.args))  # type: ignore[arg-type]
    disk: list[float] = []
    raw_http: list[float] = []
    uploads: list[dict[str, Any]] = []
    raw: list[float] = []
    ingest: list[float] = []
    for _ in range(repeat):
        disk.append(raw_disk_rate(source, service.storage_dir))
        raw_http.append(await raw_http_rate(source, service.storage_dir))
        uploads.append(await upload_rate(service, source, api.pid))
        job = await _latest_ingest(service)
        seconds = _seconds(job["finished_at"]) - _seconds(job["started_at"])
        ingest.append(job["result"]["rows"] / seconds)
        raw.append(await raw_copy_rate(service, source))
    disk_rate = statistics.median(disk)
    upload = statistics.median(u["mib_per_s"] for u in uploads)
    return {
        "file_mb": size_mb,
        "rows": rows,
        "disk_write_mib_per_s": round(disk_rate, 1),
        "upload_mib_per_s": round(upload, 1),
        "upload_ratio": round(upload / disk_rate, 3),
        "raw_http_mib_per_s": round(statistics.median(raw_http), 1),
        "upload_ratio_to_raw_http": round(upload / statistics.median(raw_http), 3),
        "api_rss_growth_mb": round(max(u["rss_growth_mb"] for u in uploads), 1),
        "raw_copy_rows_per_min": round(statistics.median(raw) * 60),
        "ingest_rows_per_min": round(statistics.median(ingest) * 60),
        "ingest_ratio": round(statistics.median(ingest) / statistics.median(raw), 3),
        "targets": {"upload_ratio": 0.6, "api_rss_growth_mb": 30, "ingest_ratio": 0.5},
    }
