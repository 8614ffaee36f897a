"""Live job status for `GET /status/{id}/events`: one LISTEN per API process, shared by all.

Every change of a job's status or progress is NOTIFYed on `<schema>_jobs` at commit, by the
`job_changed` trigger (migration 0005), whichever process made it. Each API process holds one
connection LISTENing there and hands each notification to the watchers of that job in memory,
so a thousand watchers of a job cost Postgres what one does: nothing per change. A watcher
keeps only the latest state (a slow client skips states, never falls behind), and the full
document of an ended job is read once per process, however many watch it.

If the LISTEN connection is lost, every stream ends; clients reconnect with Last-Event-ID and
are sent the state they missed (an event id names a state, see JobState.event_id).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson
import structlog

from datatasks.core.config import Settings
from datatasks.core.db import SessionMaker
from datatasks.core.errors import DependencyUnavailable
from datatasks.jobs.schemas import JobOut, Progress
from datatasks.models import Job, JobStatus

log = structlog.stdlib.get_logger("datatasks.jobs")

ENDED = frozenset({JobStatus.completed, JobStatus.failed, JobStatus.cancelled})


def jobs_channel(schema: str) -> str:
    """The NOTIFY channel of a schema's job changes (see migration 0005)."""
    return f"{schema}_jobs"


@dataclass(frozen=True, slots=True)
class JobState:
    """What a progress event says of a job."""

    id: uuid.UUID
    type: str
    status: JobStatus
    done: int
    total: int
    attempts: int

    @classmethod
    def of(cls, job: Job) -> JobState:
        return cls(
            job.id,
            job.type,
            JobStatus(job.status),
            job.progress_done,
            job.progress_total,
            job.attempts,
        )

    @classmethod
    def parse(cls, payload: str) -> JobState:
        n = orjson.loads(payload)
        return cls(
            uuid.UUID(n["id"]),
            n["type"],
            JobStatus(n["status"]),
            int(n["done"]),
            int(n["total"]),
            int(n["attempts"]),
        )

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    @property
    def event_id(self) -> str:
        """Names the state, not a position in a log: a client that saw this id has seen all
        there is to see until the state changes."""
        return f"{self.status.value}.{self.attempts}.{self.done}.{self.total}"

    def document(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": self.type,
            "status": self.status.value,
            "progress": Progress.of(self.status, self.done, self.total).model_dump(),
            "attempts": self.attempts,
        }


@dataclass(eq=False)
class Watcher:
    """One stream's view of its job: the latest state notified, and whether the feed was lost.
    `close()` it when the stream ends."""

    job_id: uuid.UUID
    _forget: Callable[[Watcher], None]
    latest: JobState | None = None
    lost: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def tell(self, state: JobState | None) -> None:
        if state is None:
            self.lost = True
        else:
            self.latest = state
        self.changed.set()

    async def next(self) -> JobState | None:
        """The next state (None: the feed is lost and the stream must end)."""
        await self.changed.wait()
        self.changed.clear()
        return None if self.lost else self.latest

    def close(self) -> None:
        self._forget(self)


class JobEvents:
    """The process's LISTEN connection and the watchers of each job."""

    def __init__(self, settings: Settings, sessionmaker: SessionMaker) -> None:
        self._settings = settings
        self._sessionmaker = sessionmaker
        self._channel = jobs_channel(settings.database_schema)
        self._watchers: dict[uuid.UUID, set[Watcher]] = defaultdict(set)
        self._documents: dict[uuid.UUID, asyncio.Task[dict[str, Any]]] = {}
        self._conn: asyncpg.Connection | None = None
        self._connecting = asyncio.Lock()

    async def watch(self, job_id: uuid.UUID) -> Watcher:
        """A watcher of `job_id`, told of every change from now on (listening starts first,
        so a change made while the caller reads the job's row is not missed)."""
        await self._listening()
        watcher = Watcher(job_id, self._forget)
        self._watchers[job_id].add(watcher)
        return watcher

    def _forget(self, watcher: Watcher) -> None:
        watchers = self._watchers.get(watcher.job_id)
        if watchers is not None:
            watchers.discard(watcher)
            if not watchers:
                del self._watchers[watcher.job_id]
                self._documents.pop(watcher.job_id, None)

    async def ended_document(self, job_id: uuid.UUID) -> dict[str, Any]:
        """The ended job's status document, read once for all its watchers in this process."""
        task = self._documents.get(job_id)
        if task is None:
            task = asyncio.create_task(self._read(job_id))
            self._documents[job_id] = task
        try:
            return await asyncio.shield(task)
        except BaseException:
            if task.done():
                self._documents.pop(job_id, None)
            raise

    async def _read(self, job_id: uuid.UUID) -> dict[str, Any]:
        async with self._sessionmaker() as session:
            job = await session.get(Job, job_id)
        if job is None:
            raise LookupError(f"job {job_id} is gone")
        return JobOut.of(job).model_dump(mode="json")

    async def _listening(self) -> None:
        if self._conn is not None and not self._conn.is_closed():
            return
        async with self._connecting:
            if self._conn is not None and not self._conn.is_closed():
                return
            try:
                conn = await asyncpg.connect(
                    self._settings.asyncpg_dsn,
                    timeout=self._settings.dependency_timeout_s,
                    server_settings={"application_name": self._settings.application_name},
                )
                await conn.add_listener(self._channel, self._notified)
            except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
                raise DependencyUnavailable("the database is unavailable") from exc
            conn.add_termination_listener(self._lost)
            self._conn = conn

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            state = JobState.parse(payload)
        except (ValueError, KeyError, TypeError):
            log.exception("job_events.bad_notification", payload=payload[:200])
            return
        for watcher in self._watchers.get(state.id, ()):
            watcher.tell(state)

    def _lost(self, _conn: object) -> None:
        log.warning("job_events.listen_lost", watchers=sum(map(len, self._watchers.values())))
        self._conn = None
        for watchers in self._watchers.values():
            for watcher in watchers:
                watcher.tell(None)

    async def close(self) -> None:
        for task in self._documents.values():
            task.cancel()
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.remove_termination_listener(self._lost)
            for watchers in self._watchers.values():
                for watcher in watchers:
                    watcher.tell(None)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), timeout=2)
