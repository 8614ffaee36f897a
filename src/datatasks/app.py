"""The HTTP API, built by a factory: nothing is connected at import time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from datatasks.core.auth import ApiKeyMiddleware
from datatasks.core.config import Settings, load_settings
from datatasks.core.db import create_api_pool, create_engine, create_sessionmaker
from datatasks.core.fastlane import FastLaneMiddleware
from datatasks.core.limits import (
    UPLOAD_FRAMING_BYTES,
    BodySizeLimitMiddleware,
    BodyTimeoutMiddleware,
)
from datatasks.core.middleware import RequestContextMiddleware
from datatasks.core.openapi import install_openapi
from datatasks.core.problems import install_problem_handlers
from datatasks.core.queue import Queues
from datatasks.datasets.routes import router as datasets_router
from datatasks.exports.routes import export
from datatasks.exports.routes import router as exports_router
from datatasks.generation.routes import generate
from datatasks.generation.routes import router as generation_router
from datatasks.health.routes import metrics_router
from datatasks.health.routes import router as health_router
from datatasks.jobs.backlog import Backlog
from datatasks.jobs.events import JobEvents
from datatasks.jobs.routes import router as jobs_router
from datatasks.jobs.watch import router as watch_router
from datatasks.jobs.writer import JobWriter
from datatasks.storage import create_storage
from datatasks.uploads.routes import router as uploads_router
from datatasks.webhooks.routes import router as webhooks_router


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings)
        pool = await create_api_pool(settings)
        queues = Queues(settings)
        storage = create_storage(settings)
        writer = JobWriter(
            pool,
            schema=settings.database_schema,
            idempotency_ttl_s=settings.idempotency_ttl_s,
            acquire_timeout_s=settings.dependency_timeout_s,
        )
        backlog = Backlog(settings, queues, pool)
        stop_refreshing = asyncio.Event()
        refreshing = asyncio.create_task(backlog.run(stop_refreshing))
        app.state.engine = engine
        app.state.pool = pool
        app.state.storage = storage
        app.state.sessionmaker = create_sessionmaker(engine)
        job_events = JobEvents(settings, app.state.sessionmaker)
        app.state.job_events = job_events
        app.state.queues = queues
        app.state.writer = writer
        app.state.backlog = backlog
        try:
            yield
        finally:
            # Reverse order of creation.
            stop_refreshing.set()
            await refreshing
            await job_events.close()
            await writer.close()
            await storage.close()
            await queues.close()
            await pool.close()
            await engine.dispose()

    app = FastAPI(
        title="datatasks",
        version="1.0.0",
        summary="Generate, upload and export datasets; the heavy work runs in background workers.",
        lifespan=lifespan,
        # `/jobs/` is not `/jobs`: a 404 problem beats a redirect a client must follow.
        redirect_slashes=False,
    )
    app.state.settings = settings
    # Innermost: the routes that create jobs, inside every limit and check below.
    app.add_middleware(
        FastLaneMiddleware, endpoints={"/generate": generate, "/export": export}, status=202
    )
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        # The file's own cap is checked as it streams; this allows for the multipart framing.
        per_path={"/upload": settings.upload_max_bytes + UPLOAD_FRAMING_BYTES},
    )
    app.add_middleware(BodyTimeoutMiddleware, timeout_s=settings.request_body_timeout_s)
    app.add_middleware(ApiKeyMiddleware, keys=[k.get_secret_value() for k in settings.api_keys])
    # Added last, so outermost: every response, a refused one too, carries the request id.
    app.add_middleware(RequestContextMiddleware)
    install_problem_handlers(app)
    install_openapi(app)
    app.include_router(generation_router)
    app.include_router(exports_router)
    app.include_router(uploads_router)
    app.include_router(datasets_router)
    app.include_router(jobs_router)
    app.include_router(watch_router)
    app.include_router(webhooks_router)
    app.include_router(health_router)
    app.include_router(metrics_router)
    return app
