"""`POST /generate` queues a dataset; `GET /generate/types` lists the field catalogue."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Response

from datatasks.core.deps import QueuesDep, SessionDep, SettingsDep
from datatasks.core.errors import InvalidParameters
from datatasks.core.limits import require_json
from datatasks.core.problems import responses
from datatasks.generation.fields import catalogue
from datatasks.generation.schemas import MAX_SEED, FieldTypeInfo, GenerateRequest
from datatasks.jobs import service as jobs
from datatasks.jobs.idempotency import IdempotencyKey, IdempotencyKeyHeader
from datatasks.jobs.schemas import JobAccepted, accepted
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
    session: SessionDep,
    queues: QueuesDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JobAccepted:
    if body.count > settings.generate_max_count:
        raise InvalidParameters(
            ["body", "count"],
            f"at most {settings.generate_max_count} records per job (GENERATE_MAX_COUNT)",
            kind="less_than_equal",
        )
    seed = body.seed if body.seed is not None else secrets.randbelow(MAX_SEED + 1)
    # Stored with its seed fixed, so a retry makes the same records (see GenerateParams).
    params = {**body.model_dump(mode="json"), "seed": seed}
    job = await jobs.submit(
        session,
        queues,
        job_type=JobType.generate,
        params=params,
        total=body.count,
        idempotency=IdempotencyKey.of(idempotency_key, body.model_dump(mode="json")),
        idempotency_ttl_s=settings.idempotency_ttl_s,
    )
    return accepted(response, job.job_id, job.status)


@router.get("/types", response_model=list[FieldTypeInfo], summary="The field types and options")
async def field_types() -> list[FieldTypeInfo]:
    return _FIELD_TYPES


_FIELD_TYPES = [FieldTypeInfo.model_validate(entry) for entry in catalogue()]
