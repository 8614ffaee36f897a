"""What a task handler gets: configuration and the worker's connections, nothing global."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import asyncpg

from datatasks.core.config import Settings
from datatasks.core.db import SessionMaker
from datatasks.storage import Storage


@dataclass(frozen=True, slots=True)
class TaskContext:
    settings: Settings
    sessionmaker: SessionMaker
    # asyncpg connections for COPY; SQLAlchemy is for the small typed updates.
    pool: asyncpg.Pool
    # CPU work (making rows) runs here so it overlaps with the COPY on the event loop.
    cpu: ThreadPoolExecutor
    storage: Storage


# A handler takes the job row's id and returns the job's result. It must be idempotent:
# re-running it after a crash or a re-delivery leaves the same effect as one run.
Handler = Callable[[TaskContext, uuid.UUID], Coroutine[Any, Any, dict[str, Any]]]
