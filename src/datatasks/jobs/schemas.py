"""The job as clients see it: one document per job type, told apart by `type`, each with the
parameters its task reads and the result it writes, so the OpenAPI document types them all."""

from __future__ import annotations

import builtins
import contextlib
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

import structlog
from fastapi import Response
from pydantic import (
    BaseModel,
    Field,
    GetCoreSchemaHandler,
    PydanticUndefinedAnnotation,
    SerializeAsAny,
    ValidationError,
)
from pydantic_core import CoreSchema
from typing_extensions import TypeAliasType

from datatasks.jobs.results import (
    EraseResult,
    ExportResult,
    GenerationResult,
    IngestResult,
    JobError,
)
from datatasks.models import Job, JobStatus, JobType

if TYPE_CHECKING:
    # Imported by resolve_job_documents, not here: these modules import this one (uploads/
    # schemas.py takes JobAccepted from it), so the documents are completed once they are loaded.
    from datatasks.datasets.erasure import EraseParams
    from datatasks.exports.schemas import ExportRequest
    from datatasks.generation.schemas import GenerateParams
    from datatasks.uploads.schemas import IngestParams

log = structlog.stdlib.get_logger("datatasks.jobs")
# Set once this module has run to its end (see JobOut.__get_pydantic_core_schema__).
_LOADED = False

_RESULTS: dict[JobType, type[GenerationResult | IngestResult | ExportResult | EraseResult]] = {
    JobType.generate: GenerationResult,
    JobType.ingest: IngestResult,
    JobType.export: ExportResult,
    JobType.erase: EraseResult,
}


class Progress(BaseModel):
    done: int
    total: int
    percent: float = Field(description="0-100, one decimal")

    @classmethod
    def of(cls, status: JobStatus, done: int, total: int) -> Progress:
        percent = 100.0 if status == JobStatus.completed else 0.0
        if total and status != JobStatus.completed:
            # Totals can be estimates: an unfinished job never shows 100%.
            percent = round(min(done / total, 0.999) * 100, 1)
        return cls(done=done, total=total, percent=percent)


class JobOut(BaseModel):
    """A job's document: what every type's holds; each type's (GenerateJob, ...) narrows `type`,
    `params` and `result` (declared here too, so that every document lists its fields in this
    order). As a type - a response model, a field - JobOut is the union of those, told apart by
    `type`: it validates as, serializes as and documents the variant of each job's type.
    `JobOut.of(job)` makes one."""

    id: uuid.UUID
    type: JobType
    status: JobStatus
    progress: Progress
    attempts: int
    callback_url: str | None = Field(
        default=None, description="told when the job ends (GET /jobs/{id}/deliveries says how)"
    )
    params: BaseModel
    result: BaseModel | None
    error: JobError | None = Field(description="the last attempt's error, if it failed")
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: builtins.type[BaseModel], handler: GetCoreSchemaHandler, /
    ) -> CoreSchema:
        # JobOut itself is not in the module yet while it is being made.
        if cls is not globals().get("JobOut", cls):
            return handler(source)  # a variant: a model as any other
        if "JobDocument" not in globals():
            raise PydanticUndefinedAnnotation("JobDocument", "the variants follow JobOut")
        if _LOADED:  # for a model with a JobOut field, made before any JobOut.of
            with contextlib.suppress(ImportError):
                resolve_job_documents()
        return handler.generate_schema(JobDocument)

    @classmethod
    def of(cls, job: Job) -> JobOut:
        """The document of `job`: the variant of its type."""
        resolve_job_documents()
        fields: dict[str, Any] = {
            "id": job.id,
            # The row has them as text; a document built without validation needs the enums.
            "type": JobType(job.type),
            "status": JobStatus(job.status),
            "progress": Progress.of(JobStatus(job.status), job.progress_done, job.progress_total),
            "attempts": job.attempts,
            "callback_url": job.callback_url,
            "result": _RESULTS[job.type].model_validate(job.result) if job.result else None,
            "error": JobError.model_validate(job.error) if job.error else None,
            "created_at": job.created_at,
            "updated_at": job.updated_at,
            "started_at": job.started_at,
            "finished_at": job.finished_at,
        }
        variant = _VARIANTS[job.type]
        try:
            fields["params"] = _PARAMS[job.type].model_validate(job.params)
        except ValidationError as exc:
            # Written by another version of the service (or by hand): its task fails the job,
            # but its status must still be readable. Shown as stored.
            log.warning(
                "job.params_unreadable",
                job_id=str(job.id),
                model=exc.title,
                fields=[".".join(map(str, e["loc"])) for e in exc.errors()[:10]],
            )
            fields["params"] = job.params
            return variant.model_construct(**fields)
        return variant(**fields)


# `SerializeAsAny` on each `params`: parameters this version cannot read are shown as stored
# (see JobOut.of); it changes nothing else, the document still types them.


class GenerateJob(JobOut):
    """A job of POST /generate: it makes a dataset of synthetic records."""

    type: Literal[JobType.generate]
    params: SerializeAsAny[GenerateParams] = Field(
        description="the request as stored: its seed fixed, a lookalike's fields filled in"
    )
    result: GenerationResult | None = Field(description="once completed: the dataset it made")


class IngestJob(JobOut):
    """A job of POST /upload: it loads the uploaded file into a dataset."""

    type: Literal[JobType.ingest]
    params: SerializeAsAny[IngestParams] = Field(
        description="how the file is read: the options given, and what was found from the file"
    )
    result: IngestResult | None = Field(description="once completed: the dataset and rejects")


class ExportJob(JobOut):
    """A job of POST /export: it writes matching records to a file."""

    type: Literal[JobType.export]
    params: SerializeAsAny[ExportRequest] = Field(description="the request")
    result: ExportResult | None = Field(description="once completed: the file and its link")


class EraseJob(JobOut):
    """A job of DELETE /datasets/{dataset_id}: it erases a dataset everywhere."""

    type: Literal[JobType.erase]
    params: SerializeAsAny[EraseParams] = Field(description="the dataset erased")
    result: EraseResult | None = Field(description="once completed: what was erased")


# The schema JobOut has as a type, named "JobOut" in the OpenAPI document (as it was when it was
# one model): the class has the name in Python, hence the alias's other one.
JobDocument = TypeAliasType(  # type: ignore[misc]
    "JobOut",
    Annotated[
        GenerateJob | IngestJob | ExportJob | EraseJob,
        Field(
            discriminator="type",
            description="A job: its status and progress, and by its `type` the parameters and "
            "result of that kind of job",
        ),
    ],
)
_VARIANTS: dict[JobType, type[JobOut]] = {
    JobType.generate: GenerateJob,
    JobType.ingest: IngestJob,
    JobType.export: ExportJob,
    JobType.erase: EraseJob,
}
# Each type's parameters model, as its task reads them (`job.params(Model)`); filled in by
# resolve_job_documents.
_PARAMS: dict[JobType, type[BaseModel]] = {}


class JobAccepted(BaseModel):
    """The answer to a request that queued work: where to watch it."""

    job_id: uuid.UUID
    status: JobStatus = JobStatus.pending
    status_url: str


class JobPage(BaseModel):
    items: list[JobOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null at end")


def status_url(job_id: uuid.UUID) -> str:
    return f"/status/{job_id}"


def accepted(response: Response, job_id: uuid.UUID, status: JobStatus) -> JobAccepted:
    """The 202 answer to a request that queued work, with its Location header set."""
    url = status_url(job_id)
    response.headers["Location"] = url
    return JobAccepted(job_id=job_id, status=status, status_url=url)


def resolve_job_documents() -> None:
    """Complete the job documents with each type's parameters model. Called on first use (and
    tried at import): the models' modules may import this one, which then cannot import them."""
    if _PARAMS:
        return
    from datatasks.datasets.erasure import EraseParams
    from datatasks.exports.schemas import ExportRequest
    from datatasks.generation.schemas import GenerateParams
    from datatasks.uploads.schemas import IngestParams

    # Before the rebuilds, which come back here (through JobOut's schema).
    _PARAMS.update(
        {
            JobType.generate: GenerateParams,
            JobType.ingest: IngestParams,
            JobType.export: ExportRequest,
            JobType.erase: EraseParams,
        }
    )
    # Into the module too, where pydantic looks when it completes a model of its own accord
    # (one that has a JobOut field, say).
    globals().update({model.__name__: model for model in _PARAMS.values()})
    documents: list[type[BaseModel]] = [*_VARIANTS.values(), JobOut, JobPage]
    for document in documents:
        document.model_rebuild(force=True)


_LOADED = True
# Here too, so that a caller that validates a document directly finds it complete; unless one
# of those modules is still being imported (and imported this one), then at first use.
with contextlib.suppress(ImportError):
    resolve_job_documents()
