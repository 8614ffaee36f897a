"""BullMQ queues: one per kind of work, each with explicit retry, timeout and retention."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import bullmq
import redis.exceptions
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from datatasks.core.config import QueueName, Settings
from datatasks.core.errors import DependencyUnavailable

# What "Redis is unreachable" looks like: redis-py's errors share no base with OSError.
REDIS_ERRORS = (ConnectionError, TimeoutError, socket.gaierror, redis.exceptions.RedisError)
# A request waits at most the dependency timeout: retry a dropped connection at once, then a
# few times quickly (20, 40, 80 ms).
_PRODUCER_RETRY = Retry(ExponentialBackoff(cap=0.1, base=0.01), 3)


def job_options(settings: Settings, queue: QueueName, job_id: uuid.UUID) -> dict[str, Any]:
    """BullMQ options for one job. The queue job id is the job row's id (so adds are idempotent)."""
    q = settings.queue(queue)
    return {
        "jobId": str(job_id),
        "attempts": q.attempts,
        "backoff": {"type": "exponential", "delay": q.backoff_ms},
        "removeOnComplete": {"age": q.keep_completed_s},
        # Failed jobs are the dead letters: kept, bounded by count.
        "removeOnFail": {"count": q.keep_failed_count},
    }


# What a queue job's data says about its job, beside its id, so a queue dashboard (Bull Board,
# or any BullMQ tool) shows something useful: these params, under these names.
SUMMARY: dict[str, str] = {
    "record_type": "record_type",
    "count": "records",
    "size": "bytes",
    "format": "format",
}


@dataclass(frozen=True, slots=True)
class QueuedJob:
    job_id: uuid.UUID
    job_type: str
    request_id: str | None = None
    # The job's params, or only their SUMMARY keys.
    params: Mapping[str, Any] = field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        """The queue job's data: the row's id, its type and summary, and the request that
        created it, if any, so a worker's log lines lead back to it."""
        data: dict[str, Any] = {"job_id": str(self.job_id), "type": self.job_type}
        for key, name in SUMMARY.items():
            if (value := self.params.get(key)) is not None:
                data[name] = value
        if self.request_id:
            data["request_id"] = self.request_id
        return data


def summary_sql(params: str) -> str:
    """SQL for the SUMMARY keys of a jsonb `params` column, as one JSON object: all a
    dispatcher needs of params that can be large."""
    pairs = ", ".join(f"'{key}', {params}->'{key}'" for key in SUMMARY)
    return f"jsonb_build_object({pairs})::text"


def connection_options(settings: Settings) -> dict[str, Any]:
    # A URL, never a client object: bullmq needs decode_responses=True and builds its own
    # client from a URL (a client without it silently loses job data, bullmq issue #3401).
    return {"connection": str(settings.redis_url), "prefix": settings.queue_prefix}


class Queues:
    """The producer side: owns one bullmq Queue per queue name, created lazily, closed together."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._queues: dict[QueueName, bullmq.Queue] = {}

    def get(self, name: QueueName) -> bullmq.Queue:
        if name not in self._queues:
            queue = bullmq.Queue(name.value, connection_options(self._settings))
            # bullmq's client waits 2 s before it reconnects a dropped connection (and up to
            # 20 s later on), so after a Redis restart every queue's first call outlived the
            # dependency timeout: a 503 per queue and process, minutes later. Reconnect at once.
            queue.client.set_retry(_PRODUCER_RETRY)
            self._queues[name] = queue
        return self._queues[name]

    @asynccontextmanager
    async def _redis(self) -> AsyncIterator[None]:
        """A Redis call answered within the dependency timeout, or DependencyUnavailable: the
        redis client retries a lost connection for a long while, and a client of ours must get
        an answer (503) sooner."""
        try:
            async with asyncio.timeout(self._settings.dependency_timeout_s):
                yield
        except REDIS_ERRORS as exc:
            raise DependencyUnavailable("the job queue is unavailable") from exc

    async def enqueue(self, name: QueueName, job: QueuedJob) -> None:
        """Add a job (a no-op if a job with this id is in the queue already)."""
        async with self._redis():
            await self.get(name).add(
                job.job_type, job.data(), job_options(self._settings, name, job.job_id)
            )

    async def enqueue_many(self, name: QueueName, jobs: list[QueuedJob]) -> None:
        """Add jobs in one round trip (bullmq's addBulk, one MULTI/EXEC); as with `enqueue`,
        a job whose id is in the queue already is left as it is."""
        async with self._redis():
            await self.get(name).addBulk(
                [
                    {
                        "name": job.job_type,
                        "data": job.data(),
                        "opts": job_options(self._settings, name, job.job_id),
                    }
                    for job in jobs
                ]
            )

    async def enqueue_deliveries(self, deliveries: list[tuple[uuid.UUID, uuid.UUID, str]]) -> None:
        """Add webhook deliveries - (delivery id, job id, event) - to the webhooks queue in one
        round trip; the queue job id is the delivery's, so a second add is a no-op."""
        name = QueueName.webhooks
        async with self._redis():
            await self.get(name).addBulk(
                [
                    {
                        "name": "webhook",
                        "data": {
                            "delivery_id": str(delivery_id),
                            "job_id": str(job_id),
                            "event": event,
                        },
                        "opts": job_options(self._settings, name, delivery_id),
                    }
                    for delivery_id, job_id, event in deliveries
                ]
            )

    async def requeue(self, name: QueueName, job: QueuedJob) -> None:
        """Enqueue a job again under the same id: the old queue job (failed, or finished and
        kept) is removed first, since an add with an existing id does nothing."""
        await self.discard(name, job.job_id)
        await self.enqueue(name, job)

    async def discard(self, name: QueueName, job_id: uuid.UUID) -> None:
        """Drop a waiting job from its queue. A job a worker holds stays (it is locked); its
        handler sees the job's row and stops."""
        async with self._redis():
            await self.get(name).remove(str(job_id))

    async def ping(self) -> None:
        queue = self.get(QueueName.generation)
        await queue.client.ping()

    async def close(self) -> None:
        await asyncio.gather(*(q.close() for q in self._queues.values()), return_exceptions=True)
        self._queues.clear()
