"""`POST /generate` queues a dataset; `GET /generate/types` lists the field catalogue."""

from __future__ import annotations

import secrets

import orjson
from fastapi import APIRouter, Depends, Response

from datatasks.core.config import QueueName
from datatasks.core.errors import InvalidParameters
from datatasks.core.limits import require_json
from datatasks.core.middleware import current_request_id
from datatasks.core.problems import responses
from datatasks.deps import BacklogDep, SettingsDep, WriterDep
from datatasks.generation.fields import catalogue
from datatasks.generation.schemas import MAX_SEED, FieldTypeInfo, GenerateRequest
from datatasks.jobs.idempotency import IdempotencyKey, IdempotencyKeyHeader
from datatasks.jobs.schemas import JobAccepted, accepted
from datatasks.jobs.writer import NewJob
from datatasks.models import JobType

router = APIRouter(prefix="/generate", tags=["generation"])


@router.post(
    "",
    status_code=202,
    response_model=JobAccepted,
    responses=responses(400, 413, 415, 422, 503),
    dependencies=[Depends(require_json)],
    summary="Queue the generation of a synthetic dataset",
)
async def generate(
    body: GenerateRequest,
    response: Response,
    writer: WriterDep,
    backlog: BacklogDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JobAccepted:
    if body.count > settings.generate_max_count:
        raise InvalidParameters(
            ["body", "count"],
            f"at most {settings.generate_max_count} records per job (GENERATE_MAX_COUNT)",
            kind="less_than_equal",
        )
    payload = body.model_dump(mode="json")
    seed = body.seed if body.seed is not None else secrets.randbelow(MAX_SEED + 1)
    # Stored with its seed fixed, so a retry makes the same records (see GenerateParams).
    params = {**payload, "seed": seed}
    job = await writer.submit(
        NewJob(
            JobType.generate,
            orjson.dumps(params).decode(),
            total=body.count,
            idempotency=IdempotencyKey.of(idempotency_key, payload),
            request_id=current_request_id(),
        ),
        refusal=backlog.refusal(QueueName.generation),
    )
    return accepted(response, job.job_id, job.status)


@router.get("/types", response_model=list[FieldTypeInfo], summary="The field types and options")
async def field_types() -> list[FieldTypeInfo]:
    return _FIELD_TYPES


_FIELD_TYPES = [FieldTypeInfo.model_validate(entry) for entry in catalogue()]
