"""Every ORM model, imported in one place so Alembic sees a single metadata."""

from datatasks.models.base import Base
from datatasks.models.dataset import (
    Dataset,
    DatasetSource,
    DatasetState,
    ExportDataset,
    Record,
    partition_name,
)
from datatasks.models.job import Job, JobStatus, JobType
from datatasks.models.outbox import OutboxEntry
from datatasks.models.upload import Upload
from datatasks.models.webhook import DeliveryStatus, WebhookDelivery

__all__ = [
    "Base",
    "Dataset",
    "DatasetSource",
    "DatasetState",
    "DeliveryStatus",
    "ExportDataset",
    "Job",
    "JobStatus",
    "JobType",
    "OutboxEntry",
    "Record",
    "Upload",
    "WebhookDelivery",
    "partition_name",
]
