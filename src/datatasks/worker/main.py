"""The worker process: boots connections, consumes queues, stops cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import bullmq
import structlog

from datatasks.core.config import QueueName, Settings
from datatasks.core.db import create_copy_pool, create_engine, create_sessionmaker
from datatasks.core.preflight import redacted
from datatasks.core.queue import Queues, connection_options
from datatasks.generation import locales
from datatasks.jobs.execution import Handler, TaskContext
from datatasks.storage import create_storage
from datatasks.webhooks.delivery import Sender
from datatasks.worker.deliveries import DeliveryProcessor
from datatasks.worker.dispatcher import Dispatcher
from datatasks.worker.handlers import HANDLERS
from datatasks.worker.processor import Processor, QueueProcessor
from datatasks.worker.reconciler import run_reconciler
from datatasks.worker.redis_watch import watch_redis

log = structlog.stdlib.get_logger("datatasks.worker")

# How long closing the queue connections may take once jobs are done or released.
CLOSE_TIMEOUT_S = 10.0


# A worker's blocking wait for its next job lasts up to 10 s (bullmq's cap), longer still
# until a delayed job (a retry's backoff) is due; redis-py 8 gives up reading a socket after
# 5 s by default. The wait then fails, bullmq's client retries it (for minutes, with backoff),
# and a retry due meanwhile waits for some other job to wake the worker. Past the cap, a
# read that takes this long means the connection is gone.
BLOCKING_SOCKET_TIMEOUT_S = 30


def blocking_url(settings: Settings) -> str:
    """REDIS_URL with a socket timeout longer than any blocking wait of bullmq's."""
    url = urlsplit(str(settings.redis_url))
    query = [(k, v) for k, v in parse_qsl(url.query) if k != "socket_timeout"]
    query.append(("socket_timeout", str(BLOCKING_SOCKET_TIMEOUT_S)))
    return urlunsplit(url._replace(query=urlencode(query)))


def worker_options(settings: Settings, queue: QueueName, concurrency: int | None) -> dict[str, Any]:
    q = settings.queue(queue)
    return {
        **connection_options(settings),
        "connection": blocking_url(settings),
        "name": f"{socket.gethostname()}:{os.getpid()}",
        "autorun": False,
        "concurrency": concurrency or q.concurrency,
        "lockDuration": q.lock_duration_ms,
        "stalledInterval": q.stalled_interval_ms,
        "maxStalledCount": q.max_stalled_count,
        # An idle worker's blocking wait for new jobs. addBulk (the dispatcher) wakes one
        # waiting worker per batch; the others notice the rest within this (bullmq: 5 s).
        "drainDelay": 1,
    }


async def run_worker(
    settings: Settings,
    queues: list[QueueName],
    concurrency: int | None = None,
    stop: asyncio.Event | None = None,
    handlers: Mapping[QueueName, Handler] = HANDLERS,
) -> int:
    """Consume `queues` until `stop` is set (or SIGTERM/SIGINT arrives), then shut down: take
    no new jobs, give running ones the grace period, release what is left, close.

    Returns the process exit code: non-zero when a consumer loop died on its own, so a
    supervisor restarts the worker.
    """
    stop = stop or asyncio.Event()
    # Job slots: each holds a connection and a CPU thread while it runs. Webhook attempts
    # wait on the network and touch Postgres only briefly: they share two connections.
    slots = sum(
        concurrency or settings.queue(q).concurrency for q in queues if q is not QueueName.webhooks
    )
    slots = max(slots, 1) + (2 if QueueName.webhooks in queues else 0)
    async with AsyncExitStack() as resources:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
            resources.callback(loop.remove_signal_handler, sig)
        engine = create_engine(settings, pre_ping=True)
        resources.push_async_callback(engine.dispose)
        # A connection per job slot, one for progress reports, one for the dispatcher.
        pool = await create_copy_pool(settings, size=slots + 2)
        resources.push_async_callback(pool.close)
        cpu = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="datatasks-cpu")
        resources.callback(cpu.shutdown, wait=False, cancel_futures=True)
        # The reconciler re-enqueues through the same producer the API uses.
        producer = Queues(settings)
        resources.push_async_callback(producer.close)
        storage = create_storage(settings)
        resources.push_async_callback(storage.close)
        ctx = TaskContext(settings, create_sessionmaker(engine), pool, cpu, storage)
        if QueueName.generation in queues:
            # The default locale's data (half a second to load) is read before the first job,
            # not inside it.
            await loop.run_in_executor(cpu, locales.preload, locales.DEFAULT_LOCALE)
        code = await _consume(settings, ctx, producer, queues, concurrency, stop, handlers)
    return code


async def _consume(
    settings: Settings,
    ctx: TaskContext,
    producer: Queues,
    queues: list[QueueName],
    concurrency: int | None,
    stop: asyncio.Event,
    handlers: Mapping[QueueName, Handler],
) -> int:
    processors: list[QueueProcessor] = []
    workers: list[bullmq.Worker] = []
    sender = Sender(settings)
    for queue in queues:
        processor: QueueProcessor
        if queue is QueueName.webhooks:
            processor = DeliveryProcessor(ctx, sender)
        else:
            processor = Processor(ctx, queue, handlers[queue])
        worker = bullmq.Worker(queue.value, processor, worker_options(settings, queue, concurrency))
        _listen(worker, processor)
        processors.append(processor)
        workers.append(worker)
    runs = [asyncio.create_task(w.run(), name=f"bullmq:{w.name}") for w in workers]
    reconciler = asyncio.create_task(
        run_reconciler(
            ctx.sessionmaker,
            producer,
            interval_s=settings.reconcile_interval_s,
            quiet_for_s=settings.reconcile_quiet_s,
        )
    )
    dispatcher = asyncio.create_task(Dispatcher(settings, ctx.pool, producer).run())
    watch = asyncio.create_task(watch_redis(producer.ping, redacted(str(settings.redis_url))))
    log.info("worker.started", queues=[q.value for q in queues], pid=os.getpid())
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({stopped, *runs}, return_when=asyncio.FIRST_COMPLETED)
    crashed = [run for run in runs if run.done()]
    if crashed:
        log.error("worker.loop_died", loops=[r.get_name() for r in crashed])
    stopped.cancel()
    reconciler.cancel()
    dispatcher.cancel()
    watch.cancel()
    await _shutdown(settings, workers, processors, producer)
    for task in (reconciler, dispatcher, *runs):
        task.cancel()
    await asyncio.gather(reconciler, dispatcher, watch, *runs, return_exceptions=True)
    await sender.close()
    log.info("worker.stopped")
    return 1 if crashed else 0


def _listen(worker: bullmq.Worker, processor: QueueProcessor) -> None:
    """bullmq reports trouble only through events; unheard, it is silent."""
    worker.on("active", processor.on_active)
    worker.on("lockRenewalFailed", processor.on_lock_renewal_failed)
    worker.on("stalled", lambda job_id, *_: log.warning("job.stalled", job_id=job_id))
    worker.on(
        "error",
        lambda err, *_: log.error("queue.error", queue=processor.queue.value, error=repr(err)),
    )


async def _shutdown(
    settings: Settings,
    workers: list[bullmq.Worker],
    processors: list[QueueProcessor],
    producer: Queues,
) -> None:
    """Stop fetching, but keep the connections and lock renewal alive while running jobs get
    the grace period; release the rest; only then close. (bullmq's close() stops renewing
    locks at once, so another worker would start a job that is still running here.)"""
    log.info("worker.stopping", inflight=sum(p.inflight for p in processors))
    for processor in processors:
        processor.begin_shutdown()
    await asyncio.gather(*(w.pause(do_not_wait_active=True) for w in workers))
    if not await _drained(processors, settings.shutdown_grace_s):
        log.warning("worker.releasing", inflight=sum(p.inflight for p in processors))
        for processor in processors:
            processor.release_all()
        await _drained(processors, CLOSE_TIMEOUT_S)
    closing = [asyncio.create_task(w.close()) for w in workers]
    _, pending = await asyncio.wait(closing, timeout=CLOSE_TIMEOUT_S)
    if pending:
        # Redis is gone: leave the jobs to expire their locks; the stalled-job check of a live
        # worker re-queues them.
        log.error("worker.force_closing", pending=len(pending))
        await asyncio.wait(
            [asyncio.create_task(w.close(force=True)) for w in workers], timeout=CLOSE_TIMEOUT_S
        )
    for processor in processors:
        await processor.release_unstarted(producer.get(processor.queue))


async def _drained(processors: list[QueueProcessor], timeout_s: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while any(p.inflight for p in processors):
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.05)
    return True
