"""Webhook deliveries as clients see them."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from datatasks.models import DeliveryStatus, WebhookDelivery


class DeliveryAttempt(BaseModel):
    attempt: int
    at: datetime
    status_code: int | None = Field(description="the receiver's answer; null if none came")
    duration_ms: float
    error: str | None = Field(description="why it did not count as delivered")


class Delivery(BaseModel):
    """One announcement of the job's end to its callback_url, and how it went."""

    id: uuid.UUID = Field(description="sent as `webhook-id`; the same on every attempt")
    event: str = Field(
        examples=["job.completed"], description="job.completed, job.failed or job.cancelled"
    )
    url: str
    status: DeliveryStatus = Field(
        description="pending (attempts go on, with backoff, for about a day), delivered, or"
        " failed (every attempt failed)"
    )
    attempts: int
    created_at: datetime
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    response_status: int | None = Field(description="the last attempt's answer")
    response_body: str | None = Field(description="the first 1 KiB of the last answer's body")
    error: str | None = Field(description="the last attempt's error")
    history: list[DeliveryAttempt] = Field(description="the last 20 attempts, oldest first")

    @classmethod
    def of(cls, row: WebhookDelivery) -> Delivery:
        return cls(
            id=row.id,
            event=row.event,
            url=row.url,
            status=row.status,
            attempts=row.attempts,
            created_at=row.created_at,
            last_attempt_at=row.last_attempt_at,
            delivered_at=row.delivered_at,
            response_status=row.response_status,
            response_body=row.response_body,
            error=row.error,
            history=[DeliveryAttempt.model_validate(a) for a in row.history],
        )


class DeliveryList(BaseModel):
    items: list[Delivery] = Field(description="oldest first: one per time the job ended")
