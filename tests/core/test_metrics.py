"""GET /metrics scraped while jobs run: the numbers move as they should."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from datatasks.core.config import QueueName
from tests.conftest import WaitJob, WorkerRunner
from tests.helpers import generate

GENERATE = {"record_type": "m", "count": 25, "fields": [{"name": "n", "type": "sequence"}]}


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def moved(earlier: Samples, later: Samples, name: str, **labels: str) -> float:
    return value(later, name, **labels) - value(earlier, name, **labels)


async def test_requests_jobs_queue_depth_and_dispatch_move_as_jobs_run(
    client: httpx.AsyncClient, run_worker: WorkerRunner, wait_job: WaitJob
) -> None:
    before = await scrape(client)
    accepted = [await generate(client, GENERATE) for _ in range(3)]
    await client.get("/status/00000000-0000-0000-0000-000000000000")

    waiting = await scrape(client)
    jobs = "datatasks_jobs_total"
    assert moved(before, waiting, jobs, type="generate", event="accepted") == 3
    requests = "datatasks_http_requests_total"
    assert moved(before, waiting, requests, method="POST", route="/generate", status="202") == 3
    # Labelled by the route's template, not the path with its id.
    assert value(waiting, requests, method="GET", route="/status/{job_id}", status="404") >= 1
    latency = "datatasks_http_request_duration_seconds_count"
    assert value(waiting, latency, method="POST", route="/generate") >= 3
    for queue in QueueName:
        for state in ("waiting", "active", "delayed", "failed"):
            assert ("datatasks_queue_jobs", (("queue", queue.value), ("state", state))) in waiting

    run_worker.start()
    for job_id in accepted:
        await wait_job(job_id)
    after = await scrape(client)
    for event in ("started", "completed"):
        assert moved(waiting, after, jobs, type="generate", event=event) == 3, event
    assert moved(waiting, after, "datatasks_job_rows_sum", type="generate") == 75
    durations = "datatasks_job_duration_seconds_count"
    assert moved(waiting, after, durations, type="generate", outcome="completed") == 3
    assert moved(waiting, after, "datatasks_dispatch_delay_seconds_count") >= 3
    assert value(after, "datatasks_queue_jobs", queue="generation", state="waiting") == 0
