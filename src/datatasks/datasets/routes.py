"""Datasets: list them, look inside one, profile it, erase it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from datatasks.core.middleware import current_request_id
from datatasks.core.problems import responses
from datatasks.datasets import service
from datatasks.datasets.profile import DatasetProfile
from datatasks.datasets.schemas import SAMPLE_MAX, DatasetOut, DatasetPage
from datatasks.deps import PoolDep, SettingsDep
from datatasks.jobs.schemas import JobAccepted, accepted
from datatasks.models import DatasetSource
from datatasks.models.dataset import RECORD_TYPE_MAX, RECORD_TYPE_PATTERN

router = APIRouter(tags=["datasets"])


@router.get(
    "/datasets",
    operation_id="listDatasets",
    response_model=DatasetPage,
    responses=responses(422, 503),
    summary="Datasets, newest first",
)
async def list_datasets(
    pool: PoolDep,
    source: DatasetSource | None = None,
    record_type: Annotated[
        str | None, Query(max_length=RECORD_TYPE_MAX, pattern=RECORD_TYPE_PATTERN)
    ] = None,
    name_prefix: Annotated[str | None, Query(min_length=1, max_length=255)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> DatasetPage:
    items, next_cursor = await service.list_datasets(
        pool,
        source=source,
        record_type=record_type,
        name_prefix=name_prefix,
        limit=limit,
        cursor=cursor,
    )
    return DatasetPage(items=items, next_cursor=next_cursor)


@router.get(
    "/datasets/{dataset_id}",
    operation_id="getDataset",
    response_model=DatasetOut,
    responses=responses(404, 409, 422, 503),
    summary="A dataset: its fields, size, the job that made it, and a sample of its records",
)
async def get_dataset(
    dataset_id: str,
    pool: PoolDep,
    sample: Annotated[
        int, Query(ge=0, le=SAMPLE_MAX, description="include its first N records")
    ] = 0,
) -> DatasetOut:
    return await service.get_dataset(pool, service.parse_dataset_id(dataset_id), sample=sample)


@router.get(
    "/datasets/{dataset_id}/profile",
    operation_id="getDatasetProfile",
    response_model=DatasetProfile,
    responses=responses(404, 409, 503),
    summary="Each field's inferred type, nulls, distinct values, quantiles, top values, and "
    "whether it looks personal; `generate_fields` makes a lookalike with POST /generate",
)
async def profile_dataset(dataset_id: str, pool: PoolDep) -> DatasetProfile:
    return await service.profile(pool, service.parse_dataset_id(dataset_id))


@router.delete(
    "/datasets/{dataset_id}",
    operation_id="eraseDataset",
    status_code=202,
    response_model=JobAccepted,
    responses=responses(404, 409, 503),
    summary="Erase a dataset: its records, upload, rejects and every export file holding its rows",
)
async def erase_dataset(
    dataset_id: str, response: Response, pool: PoolDep, settings: SettingsDep
) -> JobAccepted:
    """Queues an erase job and answers with it; asking again answers with the same job."""
    job = await service.mark_for_erasure(
        pool,
        service.parse_dataset_id(dataset_id),
        schema=settings.database_schema,
        request_id=current_request_id(),
    )
    return accepted(response, job.job_id, job.status)
