"""A small keep-alive HTTP/1.1 load generator, run in its own process so it does not share the
server's event loop. Prints one JSON line: requests, req/s, p50/p99 latency and status counts.

    python -m bench.load URL --concurrency 50 --seconds 5 [--json BODY]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections import Counter
from urllib.parse import urlsplit

import orjson
import uvloop


def _request(url: str, body: bytes | None) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    method = "POST" if body is not None else "GET"
    head = f"{method} {parts.path or '/'} HTTP/1.1\r\nHost: {host}:{port}\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return host, port, (head + "\r\n").encode() + (body or b"")


async def _client(
    host: str,
    port: int,
    request: bytes,
    deadline: float,
    latencies: list[float],
    statuses: Counter[int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            statuses[int(head[9:12])] += 1
    finally:
        writer.close()


async def run(url: str, concurrency: int, seconds: float, body: bytes | None) -> dict[str, object]:
    host, port, request = _request(url, body)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    # A short warm-up, not counted.
    await asyncio.gather(
        *(
            _client(host, port, request, time.perf_counter() + 0.5, [], Counter())
            for _ in range(concurrency)
        )
    )
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(_client(host, port, request, deadline, latencies, statuses) for _ in range(concurrency))
    )
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "requests": len(latencies),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(cuts[49] * 1000, 2),
        "p99_ms": round(cuts[98] * 1000, 2),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--json", default=None, help="POST this body instead of a GET")
    args = parser.parse_args()
    body = args.json.encode() if args.json is not None else None
    result = uvloop.run(run(args.url, args.concurrency, args.seconds, body))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")


if __name__ == "__main__":
    main()
