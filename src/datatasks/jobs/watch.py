"""`GET /status/{job_id}/events`: a job's status and progress as Server-Sent Events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Request, Response
from sse_starlette import EventSourceResponse, ServerSentEvent

from datatasks.core.db import SessionMaker
from datatasks.core.problems import responses
from datatasks.jobs import service
from datatasks.jobs.events import JobEvents, JobState, Watcher

router = APIRouter(tags=["jobs"])

# A comment line this often keeps proxies from closing a quiet stream.
PING_S = 15
# How long a client waits before reconnecting a dropped stream (SSE `retry:`).
RETRY_MS = 2_000

_STREAM = {
    "description": "The job's current state (`progress`, or `end` if it has ended), then one"
    " `progress` event per change of status or progress, and an `end` event with the full"
    " status document when the job ends; then the stream closes. Each event's `id` names the"
    " state: send it back as `Last-Event-ID` to resume.",
    "content": {
        "text/event-stream": {
            "schema": {"type": "string"},
            "example": 'event: progress\nid: in_progress.1.50000.1000000\ndata: {"id": "…",'
            ' "type": "generate", "status": "in_progress", "progress": {"done": 50000,'
            ' "total": 1000000, "percent": 5.0}, "attempts": 1}\n\n',
        }
    },
}


@router.get(
    "/status/{job_id}/events",
    operation_id="watchJobStatus",
    response_class=EventSourceResponse,
    responses={
        200: _STREAM,
        204: {"description": "the job has ended and `Last-Event-ID` is its end event's id"},
        **responses(404, 503),
    },
    summary="Follow a job: its status and progress as Server-Sent Events",
)
async def watch_status(
    job_id: str,
    request: Request,
    last_event_id: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    events: JobEvents = request.app.state.job_events
    sessionmaker: SessionMaker = request.app.state.sessionmaker
    job_uuid = service.parse_job_id(job_id)
    watcher = await events.watch(job_uuid)
    try:
        # Read after listening starts: a change committed meanwhile is notified, not lost.
        async with sessionmaker() as session:
            state = JobState.of(await service.get_job(session, job_uuid))
    except BaseException:
        watcher.close()
        raise
    if state.ended and last_event_id == state.event_id:
        watcher.close()
        return Response(status_code=204)
    return EventSourceResponse(
        _stream(events, watcher, state, last_event_id),
        ping=PING_S,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _stream(
    events: JobEvents, watcher: Watcher, state: JobState, last_event_id: str | None
) -> AsyncIterator[ServerSentEvent]:
    try:
        sent = last_event_id
        while True:
            if state.ended:
                document = await events.ended_document(state.id)
                yield _event("end", state, document)
                return
            if state.event_id != sent:
                yield _event("progress", state, state.document())
                sent = state.event_id
            latest = await watcher.next()
            if latest is None:
                # The feed is lost; the client reconnects with the last id it saw.
                return
            state = latest
    finally:
        watcher.close()


def _event(name: str, state: JobState, document: dict[str, Any]) -> ServerSentEvent:
    return ServerSentEvent(
        orjson.dumps(document).decode(), event=name, id=state.event_id, retry=RETRY_MS
    )
