from __future__ import annotations

import httpx

from datatasks.core.config import Settings
from tests.helpers import api_client


async def test_live_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health/live")).json()["status"] == "ok"
    ready = await client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"postgres": "ok", "schema": "ok", "redis": "ok"}


async def test_ready_without_redis_is_degraded_but_ready(base_settings: Settings) -> None:
    # Jobs are still accepted (they wait in the outbox), so the service stays in rotation.
    settings = base_settings.model_copy(
        update={"redis_url": "redis://127.0.0.1:1/0", "dependency_timeout_s": 0.5}
    )
    async with api_client(settings) as c:
        response = await c.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["postgres"] == "ok"
    assert response.json()["checks"]["redis"].startswith("unavailable")


async def test_ready_is_503_without_postgres(base_settings: Settings) -> None:
    settings = base_settings.model_copy(
        update={
            "database_url": "postgresql://postgres@127.0.0.1:1/postgres",
            "dependency_timeout_s": 0.5,
        }
    )
    async with api_client(settings) as c:
        response = await c.get("/health/ready")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["checks"]["postgres"].startswith("unavailable")
    assert response.json()["checks"]["redis"] == "ok"


async def test_openapi_documents_problems(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    generate = spec["paths"]["/generate"]["post"]
    assert set(generate["responses"]) >= {"202", "422", "503"}
    assert "application/problem+json" in generate["responses"]["422"]["content"]
    assert (await client.get("/docs")).status_code == 200
