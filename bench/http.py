"""Enqueue endpoint throughput and latency against a bare endpoint of the same server."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import orjson

from bench.service import Service

ENQUEUE_BODY = orjson.dumps(
    {
        "record_type": "bench",
        "count": 1000,
        "seed": 1,
        "fields": [
            {"name": "id", "type": "uuid"},
            {"name": "email", "type": "email"},
            {"name": "age", "type": "integer", "min": 18, "max": 90},
        ],
    }
).decode()


async def _load(url: str, concurrency: int, seconds: float, body: str | None) -> dict[str, Any]:
    args = [
        sys.executable,
        "-m",
        "bench.load",
        url,
        "--concurrency",
        str(concurrency),
        "--seconds",
        str(seconds),
    ]
    if body is not None:
        args += ["--json", body]
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"load generator failed ({proc.returncode})")
    result: dict[str, Any] = orjson.loads(out)
    return result


async def run(service: Service, seconds: float) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for concurrency in (1, 50):
        bare = await _load(f"{service.url}/health/live", concurrency, seconds, None)
        enqueue = await _load(f"{service.url}/generate", concurrency, seconds, ENQUEUE_BODY)
        rows.append({"endpoint": "GET /health/live (bare)", "concurrency": concurrency, **bare})
        rows.append({"endpoint": "POST /generate", "concurrency": concurrency, **enqueue})
    return rows
