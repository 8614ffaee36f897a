"""`POST /generate` queues a dataset; `GET /generate/types` lists the field catalogue."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import asyncpg
import orjson
from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from datatasks.core.config import QueueName
from datatasks.core.errors import Conflict, InvalidParameters, JobFailed, NotFound
from datatasks.core.limits import require_json
from datatasks.core.middleware import current_request_id
from datatasks.core.problems import responses
from datatasks.datasets import service as datasets
from datatasks.deps import BacklogDep, PoolDep, SettingsDep, WriterDep
from datatasks.generation.examples import examples
from datatasks.generation.fields import ReferenceField, catalogue
from datatasks.generation.generator import Source, generate_json_rows
from datatasks.generation.schemas import MAX_SEED, FieldTypeInfo, GenerateParams, GenerateRequest
from datatasks.generation.sizing import REFERENCE_MAX_VALUES
from datatasks.generation.task import parse_source, reference_values
from datatasks.jobs.idempotency import IdempotencyKey, IdempotencyKeyHeader
from datatasks.jobs.schemas import JobAccepted, accepted
from datatasks.jobs.writer import JobWriter, NewJob
from datatasks.models import JobStatus, JobType
from datatasks.webhooks.targets import accept_callback

router = APIRouter(prefix="/generate", tags=["generation"])


@router.post(
    "",
    operation_id="createGeneration",
    status_code=202,
    response_model=JobAccepted,
    responses=responses(400, 409, 413, 415, 422, 503),
    dependencies=[Depends(require_json)],
    summary="Queue the generation of a synthetic dataset",
)
async def generate(
    body: GenerateRequest,
    response: Response,
    writer: WriterDep,
    backlog: BacklogDep,
    settings: SettingsDep,
    pool: PoolDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JobAccepted:
    if body.count > settings.generate_max_count:
        raise InvalidParameters(
            ["body", "count"],
            f"at most {settings.generate_max_count} records per job (GENERATE_MAX_COUNT)",
            kind="less_than_equal",
        )
    payload = body.model_dump(mode="json")
    await accept_callback(body.callback_url, settings)
    if body.like is not None:
        body = await _like(body, pool)
    await _check_references(body, writer)
    seed = body.seed if body.seed is not None else secrets.randbelow(MAX_SEED + 1)
    # Stored with its seed fixed, so a retry makes the same records (see GenerateParams).
    # A lookalike is stored with the fields its profile gave: the job needs nothing else.
    params = {**body.model_dump(mode="json", exclude={"like", "callback_url"}), "seed": seed}
    job = await writer.submit(
        NewJob(
            JobType.generate,
            orjson.dumps(params).decode(),
            total=body.count,
            idempotency=IdempotencyKey.of(idempotency_key, payload),
            request_id=current_request_id(),
            callback_url=body.callback_url,
        ),
        refusal=backlog.refusal(QueueName.generation),
    )
    return accepted(response, job.job_id, job.status)


# A preview is answered at once, inside the request: a page of records, not a dataset.
PREVIEW_MAX = 100
# The longest a preview reads a referenced dataset's values.
PREVIEW_READ_S = 10.0


class GenerationPreview(BaseModel):
    seed: int = Field(description="the seed used: pass it to POST /generate for these records")
    count: int
    records: list[dict[str, Any]] = Field(
        description="exactly the first `count` records POST /generate makes with this body and seed"
    )


@router.post(
    "/preview",
    operation_id="previewGeneration",
    response_model=GenerationPreview,
    responses=responses(400, 409, 413, 415, 422, 503),
    dependencies=[Depends(require_json)],
    summary="Make up to 100 records of a schema at once, without a job",
)
async def preview(
    body: GenerateRequest, settings: SettingsDep, pool: PoolDep, writer: WriterDep
) -> Response:
    if body.count > PREVIEW_MAX:
        raise InvalidParameters(
            ["body", "count"],
            f"at most {PREVIEW_MAX} records in a preview; POST /generate makes more",
            kind="less_than_equal",
        )
    if body.callback_url is not None:
        raise InvalidParameters(
            ["body", "callback_url"], "a preview is answered at once: there is no job to tell"
        )
    if body.like is not None:
        body = await _like(body, pool)
    await _check_references(body, writer)
    seed = body.seed if body.seed is not None else secrets.randbelow(MAX_SEED + 1)
    params = GenerateParams.model_validate(
        {**body.model_dump(mode="json", exclude={"like"}), "seed": seed}
    )
    sources: dict[str, Source] = {}
    for index, spec in enumerate(params.fields):
        if isinstance(spec, ReferenceField):
            try:
                async with asyncio.timeout(PREVIEW_READ_S), pool.acquire() as conn:
                    texts = await reference_values(conn, spec)
            except JobFailed as exc:
                raise InvalidParameters(["body", "fields", index, "reference"], str(exc)) from None
            sources[spec.name] = parse_source(spec, texts)
    rows = await run_in_threadpool(
        generate_json_rows,
        params.fields,
        seed,
        0,
        params.count,
        locale=params.locale,
        count=params.count,
        sources=sources,
    )
    # The records are JSON texts already: joined, not parsed and dumped again.
    content = f'{{"seed":{seed},"count":{len(rows)},"records":[{",".join(rows)}]}}'
    return Response(content, media_type="application/json")


async def _like(body: GenerateRequest, pool: asyncpg.Pool) -> GenerateRequest:
    """The request with the fields of its `like` dataset's profile (computed on first use)."""
    assert body.like is not None
    dataset_id = body.like.dataset_id
    try:
        found = await datasets.profile(pool, dataset_id)
    except NotFound:
        raise InvalidParameters(["body", "like", "dataset_id"], "no dataset with this id") from None
    expanded = {**body.model_dump(mode="json", exclude={"like"}), "fields": found.generate_fields}
    try:
        return GenerateRequest.model_validate(expanded)
    except ValidationError as exc:
        raise InvalidParameters(
            ["body", "like", "dataset_id"],
            f"the dataset's profile does not make a schema this service accepts: {exc}",
        ) from exc


async def _check_references(body: GenerateRequest, writer: JobWriter) -> None:
    """Each reference must name a completed dataset that has the field (a 422 otherwise)."""
    for index, spec in enumerate(body.fields):
        if not isinstance(spec, ReferenceField):
            continue
        where: list[str | int] = ["body", "fields", index, "reference"]
        found = await writer.dataset_fields(spec.dataset_id)
        if found is None:
            raise InvalidParameters([*where, "dataset_id"], "no dataset with this id")
        if found.erasing:
            raise Conflict(f"dataset {spec.dataset_id} is being erased")
        status, names = found.status, found.names
        if status not in (None, JobStatus.completed):
            raise InvalidParameters(
                [*where, "dataset_id"],
                f"the dataset is not complete (its job is {status}); wait for it to finish",
            )
        if found.rows > REFERENCE_MAX_VALUES:
            raise InvalidParameters(
                [*where, "dataset_id"],
                f"the dataset has {found.rows} records; references draw from at most"
                f" {REFERENCE_MAX_VALUES}",
            )
        if spec.field not in names:
            raise InvalidParameters(
                [*where, "field"],
                f"the dataset's records have no field {spec.field!r}"
                + (f"; they have {', '.join(names[:20])}" if names else ""),
            )


@router.get(
    "/types",
    operation_id="listFieldTypes",
    response_model=list[FieldTypeInfo],
    summary="The field types and options",
)
async def field_types() -> list[FieldTypeInfo]:
    return _FIELD_TYPES


_EXAMPLES = examples()
_FIELD_TYPES = [
    FieldTypeInfo.model_validate({**entry, "example": _EXAMPLES[entry["type"]]})
    for entry in catalogue()
]
