"""The enqueue path against the PRD's own stack, and how long a committed job waits for Redis.

Three servers run at once against the same Postgres and Redis, each with a schema of its own
(same migrations, so the same `jobs` columns and indexes):

- `datatasks api` (one process) and `datatasks api --workers 2`, with one `datatasks worker`
  that consumes nothing the benchmark sends (ingest only): it is there for its dispatcher,
  which moves each committed job from the outbox to its queue;
- the Node peer in bench/peer (Fastify + node-postgres + BullMQ), installed with `npm ci` into
  a temporary folder: validate, INSERT + COMMIT, `queue.add`, 202 on the request path.

Each round measures every server in turn with the same load generator and body: autocannon at
50 connections (it is the faster client, so the peer is not held back by it), and
bench/load.py at 1 client (its latencies have microsecond resolution; autocannon's are whole
milliseconds). Ratios are taken within a round, then the median over the rounds.

Dispatch delay is read from the data afterwards: for every job the service accepted in a
50-connection round, the moment BullMQ stamped it in its queue (`timestamp` in the job's hash)
minus the moment its row was written (`created_at`, before the commit, so the figure errs high).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import redis.asyncio as aioredis

from bench.generation import FIELDS
from bench.service import Service, bench_settings, drop, free_port
from datatasks.core.config import Settings
from datatasks.migrations.runner import upgrade

PEER_DIR = Path(__file__).parent / "peer"

GENERATE_BODY = orjson.dumps({"record_type": "bench", "count": 1000, "fields": FIELDS}).decode()
EXPORT_BODY = orjson.dumps({"format": "csv", "record_type": "bench"}).decode()
ENDPOINTS: dict[str, tuple[str, str | None]] = {
    "POST /generate": ("/generate", GENERATE_BODY),
    "POST /export": ("/export", EXPORT_BODY),
    # The framework alone: what a server does for a request that does nothing.
    "GET /health/live": ("/health/live", None),
}

PEER = "node peer (Fastify)"
ONE = "datatasks api"
TWO = "datatasks api --workers 2"

# Nothing consumes the benchmark's queues, so they only grow: keep backpressure out of the way.
_NO_BACKPRESSURE = {f"QUEUES__{q}__MAX_BACKLOG": "100000000" for q in ("GENERATION", "EXPORT")}


async def _install_peer(into: Path) -> Path:
    for name in ("package.json", "package-lock.json", "server.js"):
        shutil.copy(PEER_DIR / name, into / name)
    proc = await asyncio.create_subprocess_exec(
        "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error", cwd=into
    )
    if await proc.wait() != 0:
        raise RuntimeError("npm ci of bench/peer failed")
    return into


async def _wait_live(url: str) -> None:
    async with asyncio.timeout(30):
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", int(url.rsplit(":", 1)[1]))
                writer.close()
                return
            except OSError:
                await asyncio.sleep(0.1)


@asynccontextmanager
async def _migrated(settings: Settings) -> AsyncIterator[Settings]:
    await asyncio.to_thread(upgrade, settings)
    try:
        yield settings
    finally:
        await drop(settings)


class _Servers:
    """The three servers, their URLs and the settings of the service's own schema."""

    def __init__(self, service: Settings, peer: Settings, peer_dir: Path, storage: Path) -> None:
        self.service = service
        self.peer_settings = peer
        self.peer_dir = peer_dir
        self.storage = storage
        self.urls: dict[str, str] = {}
        self._procs: list[subprocess.Popen[bytes]] = []

    async def start(self) -> None:
        svc = Service(self.service, self.storage)
        svc.env.update(_NO_BACKPRESSURE)
        ports = {ONE: svc.port, TWO: free_port(), PEER: free_port()}
        self._procs.append(svc.start("api", "--port", str(ports[ONE])))
        self._procs.append(svc.start("api", "--port", str(ports[TWO]), "--workers", "2"))
        self._procs.append(svc.start("worker", "--queues", "ingest"))
        peer_env = {
            **os.environ,
            "PORT": str(ports[PEER]),
            "DATABASE_URL": self.peer_settings.asyncpg_dsn,
            "DATABASE_SCHEMA": self.peer_settings.database_schema,
            "REDIS_URL": str(self.peer_settings.redis_url),
            "QUEUE_PREFIX": self.peer_settings.queue_prefix,
        }
        self._procs.append(subprocess.Popen(["node", "server.js"], cwd=self.peer_dir, env=peer_env))
        self.urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        await asyncio.gather(*(_wait_live(url) for url in self.urls.values()))

    def stop(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self._procs:
            proc.wait(timeout=60)


async def _autocannon(peer_dir: Path, url: str, body: str | None, seconds: float) -> dict[str, Any]:
    args = ["--json", "--connections", "50", "--duration", str(round(seconds))]
    if body is not None:
        args += ["--method", "POST", "--headers", "content-type=application/json", "--body", body]
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(peer_dir / "node_modules" / "autocannon" / "autocannon.js"),
        *args,
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"autocannon failed ({proc.returncode})")
    r = orjson.loads(out)
    return {
        "window": (_instant(r["start"]), _instant(r["finish"])),
        "rps": round(r["requests"]["total"] / r["duration"], 1),
        "p50_ms": r["latency"]["p50"],
        "p99_ms": r["latency"]["p99"],
        "statuses": {k: v["count"] for k, v in sorted(r["statusCodeStats"].items())},
    }


def _instant(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


async def _one_client(url: str, body: str | None, seconds: float) -> dict[str, Any]:
    args = [sys.executable, "-m", "bench.load", url, "--seconds", str(seconds)]
    if body is not None:
        args += ["--json", body]
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"load generator failed ({proc.returncode})")
    result: dict[str, Any] = orjson.loads(out)
    return result


async def _dispatch_delays(
    settings: Settings, windows: list[tuple[datetime, datetime]]
) -> list[float]:
    """Milliseconds from each job's row to its queue, for the jobs made in the given windows."""
    conn = await asyncpg.connect(settings.asyncpg_dsn)
    try:
        rows = []
        for started, finished in windows:
            rows += await conn.fetch(
                "SELECT id, type, extract(epoch FROM created_at) * 1000 AS ms "
                f'FROM "{settings.database_schema}".jobs WHERE created_at BETWEEN $1 AND $2',
                started,
                finished,
            )
    finally:
        await conn.close()
    queue_of = {"generate": "generation", "export": "export"}
    client = aioredis.from_url(str(settings.redis_url))
    try:
        async with client.pipeline(transaction=False) as pipe:
            for row in rows:
                key = f"{settings.queue_prefix}:{queue_of[row['type']]}:{row['id']}"
                pipe.hget(key, "timestamp")
            stamps = await pipe.execute()
    finally:
        await client.aclose()
    missing = sum(stamp is None for stamp in stamps)
    if missing:
        raise RuntimeError(f"{missing} of {len(rows)} accepted jobs never reached their queue")
    return [float(stamp) - float(row["ms"]) for row, stamp in zip(rows, stamps, strict=True)]


def _quantiles(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=100)
    return {"jobs": len(values), "p50_ms": round(cuts[49], 1), "p99_ms": round(cuts[98], 1)}


async def run(seconds: float, rounds: int) -> dict[str, Any]:
    base = bench_settings()
    peer = base.model_copy(
        update={
            "database_schema": f"{base.database_schema}_peer",
            "queue_prefix": f"{base.queue_prefix}-peer",
        }
    )
    samples: dict[tuple[str, str, int], list[dict[str, Any]]] = defaultdict(list)
    windows: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(_migrated(base))
        await stack.enter_async_context(_migrated(peer))
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="datatasks-peer-")))
        storage = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="datatasks-bench-")))
        peer_dir = await _install_peer(tmp)
        servers = _Servers(base, peer, peer_dir, storage)
        stack.callback(servers.stop)
        await servers.start()
        for path, body in ENDPOINTS.values():
            for url in servers.urls.values():  # warm-up, not counted
                await _autocannon(peer_dir, url + path, body, 1)
        for _ in range(rounds):
            for endpoint, (path, body) in ENDPOINTS.items():
                for name, url in servers.urls.items():
                    r = await _autocannon(peer_dir, url + path, body, seconds)
                    samples[(endpoint, name, 50)].append(r)
                    if name != PEER and body is not None:
                        windows[name].append(r.pop("window"))
                    r.pop("window", None)
                for name in (PEER, ONE):
                    r = await _one_client(servers.urls[name] + path, body, seconds)
                    samples[(endpoint, name, 1)].append(r)
        # All accepted jobs are in their queues by now (the dispatcher had the whole run).
        delays = {name: _quantiles(await _dispatch_delays(base, w)) for name, w in windows.items()}
    return {"rows": _summarise(samples), "dispatch_delay": delays, "rounds": rounds}


def _summarise(samples: dict[tuple[str, str, int], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    rows = []
    for (endpoint, name, clients), runs in samples.items():
        row: dict[str, Any] = {
            "endpoint": endpoint,
            "server": name,
            "clients": clients,
            "rps": round(statistics.median(r["rps"] for r in runs)),
            "p50_ms": round(statistics.median(r["p50_ms"] for r in runs), 2),
            "p99_ms": round(statistics.median(r["p99_ms"] for r in runs), 2),
            "statuses": _total_statuses(runs),
        }
        peer_runs = samples.get((endpoint, PEER, clients))
        if name != PEER and peer_runs:
            row["ratio_to_peer"] = round(
                statistics.median(
                    r["rps"] / p["rps"] for r, p in zip(runs, peer_runs, strict=True)
                ),
                2,
            )
        rows.append(row)
    return rows


def _total_statuses(runs: list[dict[str, Any]]) -> dict[str, int]:
    total: dict[str, int] = defaultdict(int)
    for r in runs:
        for status, count in r["statuses"].items():
            total[status] += count
    return dict(sorted(total.items()))
