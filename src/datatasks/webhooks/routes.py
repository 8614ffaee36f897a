"""`GET /jobs/{job_id}/deliveries`: what became of a job's webhooks."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from datatasks.core.problems import responses
from datatasks.deps import SessionDep
from datatasks.jobs import service
from datatasks.models import WebhookDelivery
from datatasks.webhooks.schemas import Delivery, DeliveryList

router = APIRouter(tags=["jobs"])


@router.get(
    "/jobs/{job_id}/deliveries",
    operation_id="listJobDeliveries",
    response_model=DeliveryList,
    responses=responses(404, 503),
    summary="The webhooks sent for a job (to its callback_url) and each one's attempts",
)
async def list_deliveries(job_id: str, session: SessionDep) -> DeliveryList:
    job = await service.get_job(session, service.parse_job_id(job_id))
    rows = await session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.job_id == job.id)
        .order_by(WebhookDelivery.created_at, WebhookDelivery.id)
    )
    return DeliveryList(items=[Delivery.of(row) for row in rows])
