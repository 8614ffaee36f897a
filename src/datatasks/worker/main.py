"""The worker process: boots connections, consumes queues, stops cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import bullmq
import structlog

from datatasks.core.config import QueueName, Settings
from datatasks.core.db import create_copy_pool, create_engine, create_sessionmaker
from datatasks.core.queue import Queues, connection_options
from datatasks.worker.context import Handler, TaskContext
from datatasks.worker.handlers import HANDLERS
from datatasks.worker.processor import Processor
from datatasks.worker.reconciler import run_reconciler

log = structlog.stdlib.get_logger("datatasks.worker")


def worker_options(settings: Settings, queue: QueueName, concurrency: int | None) -> dict[str, Any]:
    q = settings.queue(queue)
    return {
        **connection_options(settings),
        "name": f"{socket.gethostname()}:{os.getpid()}",
        "autorun": False,
        "concurrency": concurrency or q.concurrency,
        "lockDuration": q.lock_duration_ms,
        "stalledInterval": q.stalled_interval_ms,
        "maxStalledCount": q.max_stalled_count,
    }


async def run_worker(
    settings: Settings,
    queues: list[QueueName],
    concurrency: int | None = None,
    stop: asyncio.Event | None = None,
    handlers: Mapping[QueueName, Handler] = HANDLERS,
) -> None:
    """Consume `queues` until `stop` is set (or SIGTERM/SIGINT arrives), then shut down:
    take no new jobs, give running ones the grace period, release what is left, close."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    slots = sum(concurrency or settings.queue(q).concurrency for q in queues)
    engine = create_engine(settings)
    pool = await create_copy_pool(settings, size=slots + 1)
    cpu = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="datatasks-cpu")
    ctx = TaskContext(settings, create_sessionmaker(engine), pool, cpu)
    # The reconciler re-enqueues through the same producer the API uses.
    producer = Queues(settings)

    processors: list[Processor] = []
    workers: list[bullmq.Worker] = []
    for queue in queues:
        processor = Processor(ctx, queue, handlers[queue])
        processors.append(processor)
        worker = bullmq.Worker(queue.value, processor, worker_options(settings, queue, concurrency))
        worker.on("active", processor.on_active)
        workers.append(worker)
    runs = [asyncio.create_task(w.run(), name=f"worker:{w.name}") for w in workers]
    reconciler = asyncio.create_task(
        run_reconciler(
            ctx.sessionmaker,
            producer,
            interval_s=settings.reconcile_interval_s,
            quiet_for_s=settings.reconcile_quiet_s,
        )
    )
    log.info("worker.started", queues=[q.value for q in queues], slots=slots)
    try:
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({stopped, *runs}, return_when=asyncio.FIRST_COMPLETED)
        for run in runs:
            if run.done() and run.exception():
                log.error("worker.crashed", exc_info=run.exception())
        reconciler.cancel()
        await _shutdown(settings, workers, processors, producer)
        await asyncio.gather(reconciler, *runs, return_exceptions=True)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        cpu.shutdown(wait=False, cancel_futures=True)
        await producer.close()
        await pool.close()
        await engine.dispose()
        log.info("worker.stopped")


async def _shutdown(
    settings: Settings, workers: list[bullmq.Worker], processors: list[Processor], producer: Queues
) -> None:
    inflight = sum(p.inflight for p in processors)
    log.info("worker.stopping", inflight=inflight, grace_s=settings.shutdown_grace_s)
    # close() stops fetching and waits for running jobs, with no time limit of its own.
    closing = [asyncio.create_task(w.close()) for w in workers]
    _, pending = await asyncio.wait(closing, timeout=settings.shutdown_grace_s)
    if pending:
        log.warning("worker.releasing", inflight=sum(p.inflight for p in processors))
        for processor in processors:
            processor.release_all()
        _, pending = await asyncio.wait(closing, timeout=10)
    if pending:
        # Releasing failed (Redis gone?): drop the jobs; their locks expire and the stalled-job
        # check of a live worker re-queues them.
        log.error("worker.force_closing", pending=len(pending))
        await asyncio.gather(*(w.close(force=True) for w in workers), return_exceptions=True)
    for processor in processors:
        await processor.release_unstarted(producer.get(processor.queue))
