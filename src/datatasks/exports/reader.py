"""An export's reading of its datasets, one after another, each safe against erasure."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator

from datatasks.datasets import partitions
from datatasks.exports.query import Snapshot
from datatasks.jobs.execution import RunningJob
from datatasks.models import DatasetState


class DatasetReader:
    """Reads the snapshot's datasets one after another, each in a transaction of its own that
    first locks the dataset's partition and records that this export holds its rows (see
    datasets/partitions.py): so an erasure either waits for the read and then finds this
    export's file, or comes first and the dataset is not read at all."""

    def __init__(self, job: RunningJob, taken: Snapshot) -> None:
        self.job = job
        self._taken = taken
        self.read: dict[uuid.UUID, int | None] = {}
        self.erased: list[uuid.UUID] = []
        self.rows = 0

    async def each(self) -> AsyncGenerator[uuid.UUID]:
        """Yield each dataset to read, inside its transaction; the caller reads it then."""
        conn = self.job.conn
        for dataset_id, rows in self._taken.rows.items():
            async with conn.transaction(isolation="repeatable_read"):
                if await partitions.lock_for_reading(conn, dataset_id) is not DatasetState.active:
                    self.erased.append(dataset_id)
                    continue
                await conn.execute(
                    "INSERT INTO export_datasets (dataset_id, export_job_id) VALUES ($1, $2) "
                    "ON CONFLICT DO NOTHING",
                    dataset_id,
                    self.job.id,
                )
                before = self.rows
                yield dataset_id
                # The rows of an incomplete dataset are those it had when read.
                self.read[dataset_id] = rows if rows is None else self.rows - before

    async def progress(self, rows: int) -> None:
        """`rows` more were read."""
        self.rows += rows
        await self.job.report(self.rows)
