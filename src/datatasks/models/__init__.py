"""Every ORM model, imported in one place so Alembic sees a single metadata."""

from datatasks.models.base import Base
from datatasks.models.dataset import Dataset, DatasetSource, Record
from datatasks.models.job import Job, JobStatus, JobType
from datatasks.models.outbox import OutboxEntry
from datatasks.models.upload import Upload

__all__ = [
    "Base",
    "Dataset",
    "DatasetSource",
    "Job",
    "JobStatus",
    "JobType",
    "OutboxEntry",
    "Record",
    "Upload",
]
