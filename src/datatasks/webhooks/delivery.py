"""One webhook attempt: render the job's document, sign it, POST it, record what happened.

The message follows Standard Webhooks (standardwebhooks.com): the body is
`{"type": "job.completed", "timestamp": ..., "data": <the job's status document>}`; the headers
`webhook-id` (the delivery's id, the same on every attempt, so a receiver can drop repeats),
`webhook-timestamp` (this attempt's, in seconds) and `webhook-signature`
(`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, made by the `standardwebhooks` package
with WEBHOOK_SECRET). Any 2xx answer delivers it. Redirects are not followed; the answer's
body is read only up to BODY_PREFIX bytes.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import orjson
import structlog
from standardwebhooks.webhooks import Webhook

from datatasks.core.config import Settings
from datatasks.jobs.schemas import JobOut
from datatasks.models import DeliveryStatus, Job
from datatasks.webhooks.targets import HostPolicy, IPAddress, TargetRefused, Url

log = structlog.stdlib.get_logger("datatasks.webhooks")

BODY_PREFIX = 1_024
HISTORY = 20


@dataclass(frozen=True, slots=True)
class Outcome:
    delivered: bool
    status_code: int | None = None
    body: str | None = None
    error: str | None = None
    seconds: float = 0.0


def message(event: str, created_at: datetime, job: dict[str, Any]) -> bytes:
    """The body of every attempt of a delivery: the job as it was when it ended."""
    document = JobOut.of(Job(**job))
    return orjson.dumps(
        {
            "type": event,
            "timestamp": created_at.isoformat(),
            "data": document.model_dump(mode="json"),
        }
    )


class Sender:
    """Signs and sends attempts; one HTTP client (and its connection pool) per worker."""

    def __init__(self, settings: Settings) -> None:
        if settings.webhook_secret is None:
            self._webhook: Webhook | None = None
        else:
            self._webhook = Webhook(settings.webhook_secret.get_secret_value())
        self._policy = HostPolicy(settings.webhook_allowed_hosts)
        self._timeout_s = settings.webhook_timeout_s
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            # No proxy or netrc from the environment: the address checked is the one called.
            trust_env=False,
            timeout=httpx.Timeout(self._timeout_s),
            headers={"user-agent": "datatasks-webhooks/1"},
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def send(self, delivery_id: uuid.UUID, url: str, body: bytes) -> Outcome:
        """One attempt. Raises TargetRefused when the URL may not be called at all."""
        if self._webhook is None:
            raise TargetRefused("this service has no WEBHOOK_SECRET to sign webhooks with")
        target = Url.parse(url)
        began = time.perf_counter()
        try:
            async with asyncio.timeout(self._timeout_s):
                address = await self._policy.resolve(target)
                return await self._post(delivery_id, target, url, address, body, began)
        except (OSError, TimeoutError, httpx.HTTPError) as exc:
            # TargetRefused (a ValueError) passes: the URL may not be called at all.
            error = (
                _describe(exc)
                if not isinstance(exc, TimeoutError)
                else (f"no answer within {self._timeout_s:g} s")
            )
            return Outcome(False, error=error, seconds=time.perf_counter() - began)

    async def _post(
        self,
        delivery_id: uuid.UUID,
        target: Url,
        url: str,
        address: IPAddress,
        body: bytes,
        began: float,
    ) -> Outcome:
        now = datetime.now(UTC)
        msg_id = str(delivery_id)
        assert self._webhook is not None
        signature = self._webhook.sign(msg_id, now, body.decode())
        # Connect to the address that was checked; the URL's host still names the site (Host
        # header, TLS server name and certificate check).
        pinned = httpx.URL(url).copy_with(host=str(address))
        default_port = 443 if target.scheme == "https" else 80
        host_header = target.host if ":" not in target.host else f"[{target.host}]"
        if target.port != default_port:
            host_header += f":{target.port}"
        request = self._client.build_request(
            "POST",
            pinned,
            content=body,
            headers={
                "host": host_header,
                "content-type": "application/json",
                "webhook-id": msg_id,
                "webhook-timestamp": str(int(now.timestamp())),
                "webhook-signature": signature,
            },
            extensions={"sni_hostname": target.host} if target.scheme == "https" else {},
        )
        response = await self._client.send(request, stream=True)
        try:
            prefix = bytearray()
            async for chunk in response.aiter_raw():
                prefix += chunk
                if len(prefix) >= BODY_PREFIX:
                    break
        finally:
            await response.aclose()
        text = bytes(prefix[:BODY_PREFIX]).decode(errors="replace")
        seconds = time.perf_counter() - began
        if response.is_success:
            return Outcome(True, response.status_code, text, seconds=seconds)
        if response.is_redirect:
            error = f"answered {response.status_code}; redirects are not followed"
        else:
            error = f"answered {response.status_code}"
        return Outcome(False, response.status_code, text, error, seconds)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


_RECORD = f"""
UPDATE webhook_deliveries SET
    attempts = $2,
    last_attempt_at = now(),
    response_status = $3,
    response_body = $4,
    error = $5,
    status = $6::text,
    delivered_at = CASE WHEN $6::text = 'delivered' THEN now() END,
    history = (
        SELECT coalesce(jsonb_agg(e ORDER BY n), '[]'::jsonb)
        FROM jsonb_array_elements(history || jsonb_build_array($7::jsonb))
             WITH ORDINALITY AS t(e, n)
        WHERE n > jsonb_array_length(history) + 1 - {HISTORY}
    )
WHERE id = $1 AND status = 'pending'
"""  # noqa: S608 - HISTORY is a constant


async def record(
    conn: asyncpg.Connection, delivery_id: uuid.UUID, attempt: int, outcome: Outcome, *, final: bool
) -> DeliveryStatus:
    """Write the attempt into the delivery; returns the delivery's status after it."""
    if outcome.delivered:
        status = DeliveryStatus.delivered
    else:
        status = DeliveryStatus.failed if final else DeliveryStatus.pending
    entry = {
        "attempt": attempt,
        "at": datetime.now(UTC).isoformat(),
        "status_code": outcome.status_code,
        "duration_ms": round(outcome.seconds * 1000, 1),
        "error": outcome.error,
    }
    await conn.execute(
        _RECORD,
        delivery_id,
        attempt,
        outcome.status_code,
        outcome.body,
        outcome.error,
        status.value,
        orjson.dumps(entry).decode(),
    )
    return status
