"""Migrations are tested by running them, and the models must match what they build."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text

from datatasks.core.config import Settings
from datatasks.core.db import create_engine
from datatasks.migrations.runner import alembic_config, upgrade
from datatasks.models import Base


@pytest.fixture
def fresh_schema(base_settings: Settings) -> Iterator[Settings]:
    settings = base_settings.model_copy(update={"database_schema": f"mig_{uuid.uuid4().hex[:8]}"})
    yield settings
    asyncio.run(_drop(settings))


async def _drop(settings: Settings) -> None:
    engine = create_engine(settings)
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{settings.database_schema}" CASCADE'))
    await engine.dispose()


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def _schema_state(settings: Settings) -> tuple[str, list[object]]:
    engine = create_engine(settings)
    try:
        async with engine.connect() as conn:
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
            diff = await conn.run_sync(_diff)
    finally:
        await engine.dispose()
    return str(version), diff


def test_upgrade_twice_downgrade_and_again_matches_the_models(fresh_schema: Settings) -> None:
    upgrade(fresh_schema)
    upgrade(fresh_schema)  # `datatasks migrate` is safe to run twice
    command.downgrade(alembic_config(fresh_schema), "base")
    upgrade(fresh_schema)
    version, diff = asyncio.run(_schema_state(fresh_schema))
    assert version == "0005"
    assert diff == [], f"models and migrations disagree: {diff}"
