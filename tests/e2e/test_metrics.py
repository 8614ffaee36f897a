"""Metrics of real processes: a worker's own port, and `api --workers 2` adding up its
processes (prometheus-client's multiprocess mode)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from datatasks.embedded import free_port
from tests.e2e.conftest import FIELDS, Service, poll

pytestmark = pytest.mark.e2e


def total(text: str, name: str, **labels: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


async def scrape(http: httpx.AsyncClient, url: str) -> str:
    async with asyncio.timeout(30):
        while True:
            try:
                response = await http.get(url)
                if response.status_code == 200:
                    return response.text
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)


async def test_a_worker_serves_its_metrics_and_several_api_processes_add_up(
    service: Service, http: httpx.AsyncClient
) -> None:
    port = free_port()
    service.start("api", "--port", str(service.port), "--workers", "2")
    service.start("worker", "--queues", "generation", "--metrics-port", str(port))
    await service.ready(http)
    worker_metrics = f"http://127.0.0.1:{port}/metrics"
    await scrape(http, worker_metrics)

    body = {"record_type": "w", "count": 100, "fields": FIELDS}
    urls = []
    for _ in range(8):
        response = await http.post(f"{service.url}/generate", json=body)
        assert response.status_code == 202
        urls.append(service.url + response.headers["location"])
    for url in urls:
        await poll(http, url)

    api = await scrape(http, f"{service.url}/metrics")
    # Whichever process answers the scrape, it counts every process's requests.
    assert total(api, "datatasks_http_requests_total", route="/generate", status="202") == 8
    assert total(api, "datatasks_jobs_total", type="generate", event="accepted") == 8
    worker = await scrape(http, worker_metrics)
    assert total(worker, "datatasks_jobs_total", type="generate", event="completed") == 8
    assert total(worker, "datatasks_job_rows_sum", type="generate") == 800
    assert total(worker, "datatasks_dispatch_delay_seconds_count") == 8
