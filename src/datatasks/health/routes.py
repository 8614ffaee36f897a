"""Liveness (the process answers), readiness (its dependencies answer), and metrics."""

from __future__ import annotations

import asyncio

import structlog
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from datatasks.core.config import QueueName
from datatasks.core.errors import DependencyUnavailable
from datatasks.core.metrics import CONTENT_TYPE, exposition, queue_depth
from datatasks.core.preflight import NEWER, schema_problem
from datatasks.core.problems import responses
from datatasks.deps import QueuesDep, SettingsDep

router = APIRouter(prefix="/health", tags=["health"])
metrics_router = APIRouter(tags=["health"])
log = structlog.stdlib.get_logger("datatasks.health")
QUEUE_STATES = ("waiting", "active", "delayed", "failed")


class Health(BaseModel):
    status: str
    checks: dict[str, str] = {}


# HEAD too: load balancers and uptime checkers probe with it.
@router.get(
    "/live",
    operation_id="checkLiveness",
    response_model=Health,
    summary="Whether the process answers",
)
@router.head("/live", include_in_schema=False)
async def live() -> Health:
    return Health(status="ok")


@router.get(
    "/ready",
    operation_id="checkReadiness",
    response_model=Health,
    responses=responses(503),
    summary="Whether its dependencies answer: Postgres (and its schema) and Redis",
)
@router.head("/ready", include_in_schema=False)
async def ready(request: Request, settings: SettingsDep, queues: QueuesDep) -> Health:
    schema: str | None = None

    async def postgres() -> None:
        nonlocal schema
        # The engine's pool, not the job writer's: a probe must not queue behind the inserts.
        async with request.app.state.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            schema = await schema_problem(raw.driver_connection, settings.database_schema)

    checks: dict[str, str] = {}
    for name, probe in (("postgres", postgres), ("redis", queues.ping)):
        try:
            async with asyncio.timeout(settings.dependency_timeout_s):
                await probe()
            checks[name] = "ok"
        except Exception as exc:
            checks[name] = f"unavailable: {type(exc).__name__}"
    if checks["postgres"] == "ok":
        checks["schema"] = schema or "ok"
    if checks["postgres"] != "ok":
        raise DependencyUnavailable("not ready: Postgres is unavailable", checks=checks)
    # A schema a newer version migrated (a rolling deploy under way) still serves this one:
    # degraded, not out of the load balancer all at once.
    if schema is not None and NEWER not in schema:
        raise DependencyUnavailable(f"not ready: {schema}", checks=checks)
    # Without Redis the API still accepts jobs (they wait in the outbox until it is back):
    # ready, but degraded.
    healthy = checks["redis"] == "ok" and schema is None
    return Health(status="ok" if healthy else "degraded", checks=checks)


@metrics_router.get(
    "/metrics",
    operation_id="getMetrics",
    summary="Prometheus metrics of this API (all its processes) and the queues' depth",
    response_class=Response,
    responses={
        200: {
            "content": {CONTENT_TYPE: {"schema": {"type": "string"}}},
            "description": "Prometheus text format",
        }
    },
)
async def metrics(settings: SettingsDep, queues: QueuesDep) -> Response:
    extra = []
    try:
        async with asyncio.timeout(settings.dependency_timeout_s):
            counts = {
                name.value: await queues.get(name).getJobCounts(*QUEUE_STATES) for name in QueueName
            }
        extra.append(queue_depth(counts))
    except Exception as exc:
        # The rest is still worth a scrape; the gap in the queue series shows the outage.
        log.warning("metrics.queue_depth_unavailable", error=repr(exc))
    return Response(exposition(*extra), media_type=CONTENT_TYPE)
