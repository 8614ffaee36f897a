"""A dataset's records table: a partition of `records` of its own.

The rules that keep erasure both instant and safe:

- Everything that reads or writes a dataset's records names its partition, never the parent
  table. So no long-running COPY ever holds a lock on `records` itself, and creating or
  dropping a partition never waits for one.
- A partition is created standalone and then attached: `CREATE TABLE ... PARTITION OF` would
  take an ACCESS EXCLUSIVE lock on `records`, ATTACH takes one that readers do not conflict
  with.
- A reader of a dataset first locks its partition (ACCESS SHARE), then - in the same
  transaction, after the lock - checks that the dataset is still active. An erasure marks the
  dataset `erasing` first, then empties the partition under ACCESS EXCLUSIVE, which waits for
  every reader that got in before the mark. So a reader either finishes before the erasure
  empties the table (and the erasure then sees what it read, e.g. the export's file), or
  sees the mark and reads nothing.
"""

from __future__ import annotations

import uuid

import asyncpg
import structlog

from datatasks.models import DatasetState, partition_name

log = structlog.stdlib.get_logger("datatasks.datasets")

# Dropping a partition takes an ACCESS EXCLUSIVE lock on `records` (briefly): never wait long
# for it behind somebody's ad hoc query on the parent; an emptied partition can wait.
DROP_LOCK_TIMEOUT = "500ms"


def table(dataset_id: uuid.UUID) -> str:
    """The partition's name as SQL (a fixed alphabet: hex digits)."""
    return f'"{partition_name(dataset_id)}"'


async def create(conn: asyncpg.Connection, dataset_id: uuid.UUID) -> None:
    """The dataset's partition, attached to `records`; nothing if it already is (a job's
    second delivery). Two deliveries at once take turns on the dataset's row."""
    name = table(dataset_id)
    async with conn.transaction():
        await conn.execute("SELECT 1 FROM datasets WHERE id = $1 FOR UPDATE", dataset_id)
        if await _attached(conn, dataset_id):
            return
        await conn.execute(f"CREATE TABLE IF NOT EXISTS {name} (LIKE records INCLUDING DEFAULTS)")
        await conn.execute(
            f"ALTER TABLE records ATTACH PARTITION {name} FOR VALUES IN ('{dataset_id}')"
        )


async def lock_for_reading(conn: asyncpg.Connection, dataset_id: uuid.UUID) -> DatasetState | None:
    """In a transaction: lock the dataset's partition against erasure, then return the
    dataset's state as of after the lock (None: no such dataset, or no partition any more).
    Read its records only if it is active."""
    try:
        # A savepoint: the caller's transaction goes on if there is no such table.
        async with conn.transaction():
            await conn.execute(f"LOCK TABLE {table(dataset_id)} IN ACCESS SHARE MODE")
    except asyncpg.UndefinedTableError:
        return None
    state: str | None = await conn.fetchval("SELECT state FROM datasets WHERE id = $1", dataset_id)
    return None if state is None else DatasetState(state)


async def empty(conn: asyncpg.Connection, dataset_id: uuid.UUID) -> int:
    """Remove every record of the dataset, returning how many there were: TRUNCATE gives the
    space back at once. Waits for the readers that locked the partition first."""
    name = table(dataset_id)
    async with conn.transaction():
        try:
            await conn.execute(f"LOCK TABLE {name} IN ACCESS EXCLUSIVE MODE")
        except asyncpg.UndefinedTableError:
            return 0
        rows: int = await conn.fetchval(f"SELECT count(*) FROM {name}")  # noqa: S608
        await conn.execute(f"TRUNCATE {name}")
    return rows


async def drop(conn: asyncpg.Connection, dataset_id: uuid.UUID) -> bool:
    """Detach and drop the (emptied) partition, if `records` can be locked at once; False
    when it could not, so the partition is left, empty, for a later `sweep`."""
    name = table(dataset_id)
    try:
        async with conn.transaction():
            await conn.execute(f"SET LOCAL lock_timeout = '{DROP_LOCK_TIMEOUT}'")
            if await _attached(conn, dataset_id):
                await conn.execute(f"ALTER TABLE records DETACH PARTITION {name}")
            await conn.execute(f"DROP TABLE IF EXISTS {name}")
    except asyncpg.LockNotAvailableError:
        log.warning("dataset.partition_kept", dataset_id=str(dataset_id), reason="records busy")
        return False
    return True


async def sweep(conn: asyncpg.Connection) -> int:
    """Drop the partitions of datasets that are erased or gone (left by a `drop` that could
    not lock `records`); returns how many were dropped."""
    rows = await conn.fetch(
        """
        SELECT substr(c.relname, 9) AS hex FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = to_regclass('records')
          AND NOT EXISTS (
              SELECT 1 FROM datasets d
              WHERE replace(d.id::text, '-', '') = substr(c.relname, 9) AND d.state <> 'erased')
        """
    )
    dropped = 0
    for row in rows:
        if await drop(conn, uuid.UUID(hex=row["hex"])):
            dropped += 1
    return dropped


async def _attached(conn: asyncpg.Connection, dataset_id: uuid.UUID) -> bool:
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass($1))",
        partition_name(dataset_id),
    )
    return found
