"""FastAPI dependencies, as `Annotated` aliases routes declare by type."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from datatasks.core.config import Settings
from datatasks.core.db import SessionMaker
from datatasks.core.queue import Queues


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _queues(request: Request) -> Queues:
    queues: Queues = request.app.state.queues
    return queues


def _sessionmaker(request: Request) -> SessionMaker:
    sessionmaker: SessionMaker = request.app.state.sessionmaker
    return sessionmaker


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session per request. Routes that create jobs commit through `jobs.submit`; anything
    left uncommitted is rolled back here."""
    async with _sessionmaker(request)() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(_settings)]
QueuesDep = Annotated[Queues, Depends(_queues)]
SessionDep = Annotated[AsyncSession, Depends(_session)]
