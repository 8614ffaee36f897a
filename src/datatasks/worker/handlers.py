"""Which handler runs the jobs of which queue."""

from __future__ import annotations

from datatasks.core.config import QueueName
from datatasks.datasets.erasure import run_erase
from datatasks.exports.task import run_export
from datatasks.generation.task import run_generation
from datatasks.jobs.execution import Handler
from datatasks.uploads.task import run_ingest

HANDLERS: dict[QueueName, Handler] = {
    QueueName.generation: run_generation,
    QueueName.ingest: run_ingest,
    QueueName.export: run_export,
    QueueName.erasure: run_erase,
}
