"""Alembic environment: async engine, the service's schema, one metadata for all models."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection, text

from datatasks.core.config import Settings, load_settings
from datatasks.core.db import create_engine
from datatasks.models import Base

config = context.config
target_metadata = Base.metadata


def _settings() -> Settings:
    settings = config.attributes.get("settings")
    return settings if isinstance(settings, Settings) else load_settings()


def _run(connection: Connection, schema: str) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table_schema=schema,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    settings = _settings()
    schema = settings.database_schema
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            # Two processes migrating at once (`datatasks run` on two machines) take turns.
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(hashtext('datatasks.migrate'))")
            )
            await connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            await connection.run_sync(_run, schema)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `datatasks migrate`")
asyncio.run(_run_online())
