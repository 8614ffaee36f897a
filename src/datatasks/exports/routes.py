"""`POST /export` queues an export; finished exports are downloaded through expiring links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel

from datatasks.core.config import QueueName
from datatasks.core.errors import Conflict, Gone, InvalidParameters, NotFound
from datatasks.core.limits import require_json
from datatasks.core.middleware import current_request_id
from datatasks.core.openapi import file_content
from datatasks.core.problems import responses
from datatasks.deps import BacklogDep, SessionDep, SettingsDep, StorageDep, WriterDep
from datatasks.exports.locations import download_path, export_key
from datatasks.exports.schemas import ExportRequest
from datatasks.jobs import service as jobs
from datatasks.jobs.idempotency import IdempotencyKey, IdempotencyKeyHeader
from datatasks.jobs.schemas import JobAccepted, accepted
from datatasks.jobs.writer import NewJob
from datatasks.models import DatasetState, JobStatus, JobType
from datatasks.storage.links import issue_link, serve, verify
from datatasks.webhooks.targets import accept_callback

router = APIRouter(tags=["exports"])


class DownloadLink(BaseModel):
    download_url: str
    expires_at: datetime


@router.post(
    "/export",
    operation_id="createExport",
    status_code=202,
    response_model=JobAccepted,
    responses=responses(400, 409, 413, 415, 422, 503),
    dependencies=[Depends(require_json)],
    summary="Queue an export of records to CSV, JSON, NDJSON or Parquet",
)
async def export(
    body: ExportRequest,
    response: Response,
    writer: WriterDep,
    backlog: BacklogDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JobAccepted:
    await accept_callback(body.callback_url, settings)
    if body.dataset_id is not None:
        state = await writer.dataset_state(body.dataset_id)
        if state is None:
            raise InvalidParameters(["body", "dataset_id"], "no dataset with this id")
        if state is DatasetState.erasing:
            raise Conflict(f"dataset {body.dataset_id} is being erased")
    payload = body.model_dump(mode="json")
    params = body.model_dump(mode="json", exclude={"callback_url"})
    job = await writer.submit(
        NewJob(
            JobType.export,
            orjson.dumps(params).decode(),
            total=0,
            idempotency=IdempotencyKey.of(idempotency_key, payload),
            request_id=current_request_id(),
            callback_url=body.callback_url,
        ),
        refusal=backlog.refusal(QueueName.export),
    )
    return accepted(response, job.job_id, job.status)


@dataclass(frozen=True, slots=True)
class _ExportFile:
    key: str
    filename: str
    content_type: str


async def _finished_export(session: SessionDep, job_id: str) -> _ExportFile:
    """A completed export's file, derived from the job's parameters as its task named it."""
    job = await jobs.get_job(session, jobs.parse_job_id(job_id))
    if job.type != JobType.export:
        raise NotFound(f"job {job.id} is not an export")
    if job.status != JobStatus.completed or not job.result:
        waiting = job.status in (JobStatus.pending, JobStatus.in_progress)
        raise Conflict(
            f"export {job.id} is {job.status}; "
            + ("its file is not ready yet" if waiting else "it has no file")
        )
    if erased := job.result.get("erased"):
        raise Gone(
            f"export {job.id}'s file was erased at {erased['at']} with dataset(s) "
            + ", ".join(erased["datasets"])
        )
    params = ExportRequest.model_validate(job.params)
    filename = params.download_name(job.id)
    return _ExportFile(export_key(job.id, filename), filename, params.content_type)


@router.post(
    "/exports/{job_id}/link",
    operation_id="createExportLink",
    response_model=DownloadLink,
    responses=responses(404, 409, 410, 503),
    summary="A fresh download link for a finished export",
)
async def new_link(
    job_id: str, session: SessionDep, settings: SettingsDep, storage: StorageDep
) -> DownloadLink:
    file = await _finished_export(session, job_id)
    url, expires_at = await issue_link(
        settings,
        storage,
        path=download_path(jobs.parse_job_id(job_id)),
        key=file.key,
        filename=file.filename,
        content_type=file.content_type,
    )
    return DownloadLink(download_url=url, expires_at=expires_at)


# What a download's Content-Type can be: each format's (ExportFormat.content_type), or gzip's.
DOWNLOAD_MEDIA_TYPES = (
    "text/csv",
    "application/json",
    "application/x-ndjson",
    "application/vnd.apache.parquet",
    "application/gzip",
)


@router.get(
    "/exports/{job_id}/download",
    operation_id="downloadExport",
    response_class=FileResponse,
    responses={
        200: {
            "description": "the file, as its format's media type (gzipped: application/gzip); "
            "Range requests are supported",
            "content": file_content(*DOWNLOAD_MEDIA_TYPES),
        },
        206: {
            "description": "the bytes a Range header asked for (several: multipart/byteranges)",
            "content": file_content(*DOWNLOAD_MEDIA_TYPES, "multipart/byteranges"),
        },
        307: {
            "description": "redirect to the file in object storage",
            "headers": {"Location": {"schema": {"type": "string"}}},
        },
        **responses(403, 404, 409, 410),
    },
    summary="Download a finished export (the link in its status)",
)
@router.head("/exports/{job_id}/download", include_in_schema=False)
async def download(
    job_id: str,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    expires: Annotated[int, Query()],
    signature: Annotated[str, Query(pattern=r"^[0-9a-f]{64}$")],
) -> Response:
    verify(
        settings.secret_key.get_secret_value(),
        download_path(jobs.parse_job_id(job_id)),
        expires,
        signature,
    )
    file = await _finished_export(session, job_id)
    return await serve(
        storage,
        file.key,
        filename=file.filename,
        content_type=file.content_type,
        expires=expires,
    )
