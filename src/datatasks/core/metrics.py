"""Prometheus metrics (prometheus-client): HTTP traffic, jobs, queues and the dispatcher.

Each process counts its own events: the API its requests and the jobs it accepts, cancels and
retries; a worker the jobs it runs and the dispatch delay. The API serves `GET /metrics`; a
worker serves its own on `--metrics-port`. Queue depth is read from Redis when the API is
scraped, so every API process reports the same, current figure.

Several API processes (`api --workers N`) share one port, and a scrape reaches any one of
them: the CLI then sets PROMETHEUS_MULTIPROC_DIR before they start, each writes its values
there, and /metrics adds up every process's (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import Scope

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST

HTTP_REQUESTS = Counter(
    "datatasks_http_requests", "HTTP requests answered", ["method", "route", "status"]
)
HTTP_DURATION = Histogram(
    "datatasks_http_request_duration_seconds",
    "Time to answer an HTTP request, from its first byte to its last",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
JOB_EVENTS = Counter(
    "datatasks_jobs",
    "Job events by type: accepted, started, completed, failed (dead-lettered), retried "
    "(an attempt failed and another follows, or a retry was asked for), cancelled",
    ["type", "event"],
)
JOB_DURATION = Histogram(
    "datatasks_job_duration_seconds",
    "Time an attempt ran, by type and outcome",
    ["type", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800, 3600),
)
WEBHOOK_ATTEMPTS = Counter(
    "datatasks_webhook_attempts",
    "Webhook delivery attempts by outcome: delivered, failed (another attempt follows), "
    "given_up (the last attempt failed, or the URL is not allowed)",
    ["outcome"],
)
JOB_ROWS = Histogram(
    "datatasks_job_rows",
    "Records a completed job made, loaded or exported",
    ["type"],
    buckets=(10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8),
)
JOB_BYTES = Histogram(
    "datatasks_job_bytes",
    "Bytes a completed job read (an upload) or wrote (an export)",
    ["type"],
    buckets=(1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10),
)
DISPATCH_DELAY = Histogram(
    "datatasks_dispatch_delay_seconds",
    "Time from a job's commit to its queue (the outbox's wait)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 30, 60),
)


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Where a route that serves a request past the router (the fast lane) names itself in the scope.
ROUTE_KEY = "datatasks.route"


def observe_request(scope: Scope, status: int, seconds: float) -> None:
    """One answered request, labelled by its route's template (`/status/{job_id}`), never by
    its path: paths hold ids, and a label per id would grow without end."""
    route = scope.get(ROUTE_KEY) or getattr(scope.get("route"), "path", None) or "unmatched"
    method = str(scope["method"])
    if method not in _METHODS:
        method = "other"  # a label per made-up method would grow without end
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_DURATION.labels(method, route).observe(seconds)


def job_event(job_type: str, event: str) -> None:
    JOB_EVENTS.labels(job_type, event).inc()


def job_finished(job_type: str, outcome: str, seconds: float, result: object = None) -> None:
    """An attempt ended: its duration, and for a completed one its rows and bytes."""
    JOB_DURATION.labels(job_type, outcome).observe(seconds)
    if isinstance(result, dict):
        if isinstance(rows := result.get("rows"), int):
            JOB_ROWS.labels(job_type).observe(rows)
        if isinstance(size := result.get("bytes"), int):
            JOB_BYTES.labels(job_type).observe(size)


def queue_depth(counts: dict[str, dict[str, int]]) -> GaugeMetricFamily:
    """Jobs per queue and state, as read from Redis at scrape time."""
    family = GaugeMetricFamily(
        "datatasks_queue_jobs", "Jobs in each queue by state", labels=["queue", "state"]
    )
    for queue, states in counts.items():
        for state, count in states.items():
            family.add_metric([queue, state], count)
    return family


class _Fixed(Collector):
    def __init__(self, families: Iterable[GaugeMetricFamily]) -> None:
        self._families = list(families)

    def collect(self) -> Iterable[GaugeMetricFamily]:
        return self._families


def exposition(*extra: GaugeMetricFamily) -> bytes:
    """This process's metrics (every API process's, in multiprocess mode) in the text format,
    followed by `extra` families gathered for this scrape."""
    if os.environ.get(MULTIPROCESS_DIR):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        text = generate_latest(registry)
    else:
        text = generate_latest(REGISTRY)
    if extra:
        scrape = CollectorRegistry()
        scrape.register(_Fixed(extra))
        text += generate_latest(scrape)
    return text
