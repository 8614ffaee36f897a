"""Which handler runs the jobs of which queue."""

from __future__ import annotations

from datatasks.core.config import QueueName
from datatasks.exports.task import run_export
from datatasks.generation.task import run_generation
from datatasks.uploads.task import run_ingest
from datatasks.worker.context import Handler

HANDLERS: dict[QueueName, Handler] = {
    QueueName.generation: run_generation,
    QueueName.ingest: run_ingest,
    QueueName.export: run_export,
}
