"""`datatasks`: migrate, serve the API, run a worker, or run everything for local use."""

from __future__ import annotations

import argparse
import asyncio
import atexit
import gc
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import structlog

from datatasks.core.config import QueueName, Settings, load_settings
from datatasks.core.errors import ConfigError
from datatasks.core.logging import configure_logging
from datatasks.core.metrics import MULTIPROCESS_DIR
from datatasks.core.preflight import Refused, check_postgres, check_redis
from datatasks.embedded import EmbeddedError, Missing, embedded_servers

if TYPE_CHECKING:
    from fastapi import FastAPI

log = structlog.stdlib.get_logger("datatasks.cli")


def _queues(value: str) -> list[QueueName]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    try:
        queues = [QueueName(n) for n in names]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc}; queues are {', '.join(QueueName)}") from None
    return queues


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="datatasks", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply database migrations (safe to run twice)")
    api = sub.add_parser("api", help="serve the HTTP API")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8000)
    api.add_argument(
        "--workers", type=int, default=1, help="API processes sharing the port (default 1)"
    )
    worker = sub.add_parser("worker", help="run a worker process")
    worker.add_argument(
        "--queues",
        type=_queues,
        default=list(QueueName),
        help=f"comma-separated (default: {','.join(QueueName)})",
    )
    worker.add_argument("--concurrency", type=int, default=None, help="jobs at once, per queue")
    worker.add_argument(
        "--metrics-port", type=int, default=None, help="serve Prometheus metrics on this port"
    )
    worker.add_argument("--metrics-host", default="127.0.0.1", help="and this address")
    run = sub.add_parser("run", help="migrate, then run the API and one worker together")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"datatasks: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, json=settings.log_json)
    try:
        return _command(args, settings)
    except (Refused, EmbeddedError) as exc:
        print(f"datatasks: {exc}", file=sys.stderr)
        return 2


def _command(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "migrate":
        return _migrate(settings)
    if args.command == "api":
        asyncio.run(_api_preflight(settings))
        return _api(settings, args.host, args.port, args.workers)
    if args.command == "worker":
        from datatasks.worker.main import run_worker

        asyncio.run(_worker_preflight(settings))
        if args.metrics_port is not None:
            from prometheus_client import start_http_server

            try:
                start_http_server(args.metrics_port, addr=args.metrics_host)
            except OSError as exc:
                where = f"{args.metrics_host}:{args.metrics_port}"
                raise Refused(f"cannot serve metrics on {where} ({exc})") from exc
            log.info("worker.metrics", url=f"http://{args.metrics_host}:{args.metrics_port}/")
        if QueueName.generation in args.queues:
            from datatasks.generation import locales

            locales.preload(locales.DEFAULT_LOCALE)
        # What the process holds now (modules, data tables) lives as long as it: the garbage
        # collector need not walk it again and again while jobs run.
        gc.freeze()
        return asyncio.run(run_worker(settings, args.queues, args.concurrency))
    return _run_all(settings, args.host, args.port)


async def _api_preflight(settings: Settings) -> None:
    await check_postgres(settings)
    try:
        await check_redis(settings)
    except Refused as exc:
        # The API accepts jobs without Redis (they wait in the outbox): say so, and serve.
        log.warning("api.redis_unreachable", problem=str(exc), status="degraded")


async def _worker_preflight(settings: Settings) -> None:
    await check_postgres(settings)
    await check_redis(settings)


def _migrate(settings: Settings) -> int:
    from datatasks.migrations.runner import upgrade

    asyncio.run(check_postgres(settings, schema=False))
    upgrade(settings)
    log.info("migrate.done", schema=settings.database_schema)
    return 0


def _api(settings: Settings, host: str, port: int, workers: int = 1) -> int:
    import uvicorn

    from datatasks.app import create_app

    # Each of several processes builds its own app (reading the same environment) from the
    # factory; one process is given the app already built.
    if workers > 1 and not os.environ.get(MULTIPROCESS_DIR):
        # Their metrics go to files /metrics adds up (see core/metrics.py); a directory of
        # this run's own, as prometheus-client asks, removed when the server stops.
        directory = tempfile.mkdtemp(prefix="datatasks-metrics-")
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        os.environ[MULTIPROCESS_DIR] = directory
    app = (
        "datatasks.cli:_process_app"
        if workers > 1
        else _collector_tuned_for_serving(create_app(settings))
    )
    uvicorn.run(
        app,
        factory=workers > 1,
        workers=workers,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )
    return 0


def _process_app() -> FastAPI:
    """The app of one of `api --workers N`'s processes: set up as `main` sets up this one."""
    from datatasks.app import create_app

    settings = load_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    return _collector_tuned_for_serving(create_app(settings))


def _collector_tuned_for_serving(app: FastAPI) -> FastAPI:
    """Tune the collector for serving. Under load, the objects of requests in flight outlive
    a young generation of 700 objects, so collections ran several times per request and full
    ones every few seconds, each walking the whole heap (modules, the app) and pausing every
    request for 40-160 ms: the p99. Now the start-up heap is frozen out of full passes, and the
    young generation is large enough that a request's objects are mostly freed (by reference
    counting) before a pass would look at them. Measured at 50 clients: p99 45 -> 38 ms,
    throughput +15%; a young pass takes ~7 ms, a few times a minute under load."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000)
    return app


def _run_all(settings: Settings, host: str, port: int) -> int:
    """On a machine without Postgres or Redis (none configured, nothing on the default port),
    start embedded ones first, and stop them last."""
    missing = Missing.on_this_machine(settings)
    if not (missing.postgres or missing.redis):
        return _supervise(settings, host, port)
    with embedded_servers(settings.embedded_dir, missing) as urls:
        log.info(
            "run.embedded_servers",
            **{name.lower(): url for name, url in urls.items()},
            data=str(settings.embedded_dir.resolve()),
        )
        # The children read their settings from the environment.
        os.environ.update(urls)
        return _supervise(load_settings(), host, port)


def _supervise(settings: Settings, host: str, port: int) -> int:
    """Migrate, then supervise one API and one worker process. Ctrl-C (or SIGTERM) stops both;
    if either exits, the other is stopped too."""
    if (code := _migrate(settings)) != 0:
        return code
    asyncio.run(check_redis(settings))
    exe = [sys.executable, "-m", "datatasks"]
    children = [
        subprocess.Popen([*exe, "api", "--host", host, "--port", str(port)]),
        subprocess.Popen([*exe, "worker"]),
    ]
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    log.info("run.started", api=f"http://{host}:{port}", docs=f"http://{host}:{port}/docs")
    while all(child.poll() is None for child in children):
        time.sleep(0.2)
    if not stopping:
        log.error("run.child_exited", codes=[c.returncode for c in children])
        stop(signal.SIGTERM, None)
    for child in children:
        child.wait()
    log.info("run.stopped", codes=[c.returncode for c in children])
    return 0 if stopping else 1
