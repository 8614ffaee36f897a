"""Following a job to its end. The service's event stream (GET /status/{id}/events, Server-Sent
Events) says each change as it happens; a dropped connection is resumed with Last-Event-ID, so
nothing is missed or repeated. Only a service without the stream (an older one: the route
itself is a 404) is polled instead."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from contextlib import closing
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from httpx_sse import EventSource, ServerSentEvent, SSEError

from datatasks.client.api import (
    FINAL,
    JSON,
    ApiClient,
    BadAnswer,
    Problem,
    Unreachable,
    request_of,
)

Listener = Callable[[JSON], None]


class _NoStream(Exception):
    """The service has no event stream for jobs."""


class _Ended(Exception):
    """The service says the job ended and this client saw its end (204 on a resume)."""


@dataclass
class Follower:
    """Follows one job at a time; `tries` consecutive failed connections end the wait. They
    are spaced out exponentially (from the stream's `retry:` hint, up to `max_delay`), so an
    API restarting for half a minute does not end a long wait."""

    api: ApiClient
    tries: int = 6
    max_delay: float = 15.0
    poll_interval: float = 0.5
    # Longer than the gaps between the stream's keep-alive comments, so only a dead
    # connection times out.
    idle_timeout: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    # Told once when the service has no event stream and the job is polled instead.
    on_fallback: Callable[[], None] | None = None

    def follow(self, job_id: str, on_update: Listener) -> JSON:
        """Call `on_update` with each state of the job; return its final status document."""
        last_id: str | None = None
        failures = 0
        # Streams that opened and closed without an event: a service that cannot stream.
        empty = 0
        delay: float | None = None
        while True:
            try:
                with closing(self._events(job_id, last_id)) as events:
                    seen = 0
                    for event in events:
                        # Connected: a wait may be long and quiet, and that is no failure.
                        failures = 0
                        if event is None:
                            continue
                        seen += 1
                        empty = 0
                        if event.id:
                            last_id = event.id
                        if event.retry is not None:
                            delay = event.retry / 1000
                        document = _document(event)
                        if document is None:
                            continue
                        if event.event == "end":
                            if document.get("status") not in FINAL:
                                document = self.api.status(job_id)
                            on_update(document)
                            return document
                        on_update(document)
                if seen == 0:
                    empty += 1
                if empty >= self.tries:
                    raise _NoStream
                # Closed without its end event: a drop like any other.
                raise httpx.RemoteProtocolError("the event stream closed before the job ended")
            except _NoStream:
                if self.on_fallback is not None:
                    self.on_fallback()
                return self.poll(job_id, on_update)
            except _Ended:
                document = self.api.status(job_id)
                on_update(document)
                return document
            except (httpx.TransportError, SSEError) as exc:
                failures += 1
                if failures >= self.tries:
                    raise Unreachable(self.api.base_url, request_of(exc), exc) from exc
            except Problem as exc:
                if not exc.transient:
                    raise
                failures += 1
                if failures >= self.tries:
                    raise
            self.sleep(self._backoff(failures, delay))

    def _events(
        self, job_id: str, last_id: str | None
    ) -> Generator[ServerSentEvent | None, None, None]:
        """The stream's events, after a None once it is open."""
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-store"}
        if last_id is not None:
            headers["Last-Event-ID"] = last_id
        timeout = httpx.Timeout(self.api.timeout, read=max(self.api.timeout, self.idle_timeout))
        path = f"/status/{quote(job_id, safe='')}/events"
        with self.api.http.stream("GET", path, headers=headers, timeout=timeout) as response:
            if response.status_code == 204:
                raise _Ended
            if response.status_code >= 400:
                response.read()
                problem = Problem.of(response)
                if problem.route_missing:
                    raise _NoStream
                raise problem
            if "text/event-stream" not in response.headers.get("content-type", ""):
                # Something answers there, but not with events (a catch-all route, a proxy).
                raise _NoStream
            yield None
            yield from EventSource(response).iter_sse()

    def _backoff(self, failures: int, hint: float | None = None) -> float:
        """Seconds before the next try: the service's hint at least, doubling per failure."""
        return min(max(hint or 0.0, 0.25 * 2.0**failures), self.max_delay)

    def poll(self, job_id: str, on_update: Listener) -> JSON:
        """GET /status until the job ends; a blip (503, a lost connection) is asked again."""
        failures = 0
        while True:
            try:
                document = self.api.status(job_id)
            except (Unreachable, BadAnswer):
                failures += 1
                if failures >= self.tries:
                    raise
                self.sleep(self._backoff(failures))
                continue
            except Problem as exc:
                failures += 1
                if not exc.transient or failures >= self.tries:
                    raise
                self.sleep(self._backoff(failures))
                continue
            failures = 0
            on_update(document)
            if document.get("status") in FINAL:
                return document
            self.sleep(self.poll_interval)


def _document(event: ServerSentEvent) -> JSON | None:
    """The job state an event carries; None for events of other kinds or without one."""
    if event.event not in ("progress", "end", "message") or not event.data:
        return None
    try:
        data: Any = event.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) and "status" in data else None
