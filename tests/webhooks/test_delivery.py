"""Webhooks end to end in process: the API takes a callback_url, the job's end writes a
delivery, the dispatcher queues it, a real worker POSTs it to a real receiver - signed, retried,
never redirected, never to an address the rules refuse - and GET /jobs/{id}/deliveries tells."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from pydantic import SecretStr
from standardwebhooks.webhooks import Webhook

from datatasks.core.config import QueueName, QueueSettings, Settings
from datatasks.core.errors import JobFailed
from datatasks.jobs.execution import TaskContext
from datatasks.worker.handlers import HANDLERS
from tests.conftest import WaitJob, WorkerRunner
from tests.fixtures.webhooks import SECRET, Receiver
from tests.helpers import api_client

FIELDS = [{"name": "id", "type": "uuid"}, {"name": "email", "type": "email"}]


@pytest.fixture
def hooked(settings: Settings) -> Settings:
    """Webhooks on, to this machine only, with short attempts and quick retries."""
    queues = dict(settings.queues)
    queues[QueueName.webhooks] = QueueSettings(
        attempts=3, backoff_ms=50, timeout_s=10, lock_duration_ms=4_000, stalled_interval_ms=1_000
    )
    return settings.model_copy(
        update={
            "webhook_secret": SecretStr(SECRET),
            "webhook_allowed_hosts": ["127.0.0.1"],
            "webhook_timeout_s": 1.0,
            "queues": queues,
        }
    )


@pytest.fixture
async def api(hooked: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(hooked) as client:
        yield client


async def _generate(api: httpx.AsyncClient, callback_url: str, count: int = 10) -> str:
    response = await api.post(
        "/generate",
        json={
            "record_type": "user",
            "count": count,
            "fields": FIELDS,
            "callback_url": callback_url,
        },
    )
    assert response.status_code == 202, response.text
    job_id: str = response.json()["job_id"]
    return job_id


async def _deliveries(api: httpx.AsyncClient, job_id: str) -> list[dict[str, Any]]:
    response = await api.get(f"/jobs/{job_id}/deliveries")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _settled(api: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    """The job's one delivery, once it is delivered or given up."""
    async with asyncio.timeout(30):
        while True:
            items = await _deliveries(api, job_id)
            if items and items[0]["status"] != "pending":
                return items[0]
            await asyncio.sleep(0.05)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_a_completed_job_is_announced_signed_to_its_callback_url(
    api: httpx.AsyncClient,
    hooked: Settings,
    run_worker: WorkerRunner,
    receiver: Receiver,
) -> None:
    run_worker.start([QueueName.generation, QueueName.webhooks], settings=hooked)
    job_id = await _generate(api, receiver.url("/ok"))
    (request,) = await receiver.wait_for(1)

    # Verified as a receiver would, with the reference library and the shared secret.
    message = Webhook(SECRET).verify(request.body, request.headers)
    assert message["type"] == "job.completed"
    assert message["data"]["id"] == job_id
    assert message["data"]["status"] == "completed"
    assert message["data"]["result"]["rows"] == 10
    assert request.headers["content-type"] == "application/json"
    assert request.headers["host"] == f"127.0.0.1:{receiver.port}"

    delivery = await _settled(api, job_id)
    assert delivery["id"] == request.headers["webhook-id"]
    assert delivery["event"] == "job.completed"
    assert delivery["status"] == "delivered"
    assert delivery["attempts"] == 1
    assert delivery["response_status"] == 200
    assert delivery["response_body"] == "thanks"
    assert delivery["delivered_at"] is not None
    assert [a["status_code"] for a in delivery["history"]] == [200]
    # The callback is the job's, not one of its params.
    status = (await api.get(f"/status/{job_id}")).json()
    assert status["callback_url"] == receiver.url("/ok")
    assert status["params"].get("callback_url") is None


async def test_a_receiver_that_fails_is_retried_with_the_same_message(
    api: httpx.AsyncClient,
    hooked: Settings,
    run_worker: WorkerRunner,
    receiver: Receiver,
) -> None:
    run_worker.start([QueueName.generation, QueueName.webhooks], settings=hooked)
    job_id = await _generate(api, receiver.url("/fail/2"))
    requests = await receiver.wait_for(3)
    delivery = await _settled(api, job_id)

    assert delivery["status"] == "delivered"
    assert delivery["attempts"] == 3
    assert [a["status_code"] for a in delivery["history"]] == [500, 500, 200]
    assert delivery["history"][0]["error"] == "answered 500"
    # At least once, and recognisably the same message each time.
    assert {r.headers["webhook-id"] for r in requests} == {delivery["id"]}
    assert {r.body for r in requests} == {requests[0].body}
    for request in requests:
        Webhook(SECRET).verify(request.body, request.headers)


@pytest.mark.parametrize(
    ("path", "error"),
    [
        (None, "ConnectError"),  # nothing listens
        ("/slow", "no answer within 1 s"),
        ("/redirect", "answered 307; redirects are not followed"),
    ],
)
async def test_a_receiver_that_is_down_slow_or_redirects_is_given_up_after_the_last_attempt(
    api: httpx.AsyncClient,
    hooked: Settings,
    run_worker: WorkerRunner,
    receiver: Receiver,
    path: str | None,
    error: str,
) -> None:
    run_worker.start([QueueName.generation, QueueName.webhooks], settings=hooked)
    url = receiver.url(path) if path else f"http://127.0.0.1:{_closed_port()}/hook"
    job_id = await _generate(api, url)
    delivery = await _settled(api, job_id)

    assert delivery["status"] == "failed"
    assert delivery["attempts"] == 3
    assert error in delivery["error"]
    assert delivery["delivered_at"] is None
    # A redirect is never followed.
    assert not [r for r in receiver.requests if r.path == "/ok"]


async def test_only_a_prefix_of_the_answer_is_kept(
    api: httpx.AsyncClient,
    hooked: Settings,
    run_worker: WorkerRunner,
    receiver: Receiver,
) -> None:
    run_worker.start([QueueName.generation, QueueName.webhooks], settings=hooked)
    job_id = await _generate(api, receiver.url("/big"))
    delivery = await _settled(api, job_id)
    assert delivery["status"] == "delivered"
    assert len(delivery["response_body"]) == 1_024


async def test_failed_and_cancelled_jobs_are_announced_too(
    api: httpx.AsyncClient,
    hooked: Settings,
    run_worker: WorkerRunner,
    receiver: Receiver,
) -> None:
    # A pending job cancelled before any worker takes it: the API's own transition.
    cancelled = await _generate(api, receiver.url("/ok"))
    assert (await api.post(f"/jobs/{cancelled}/cancel")).status_code == 200

    async def broken(ctx: TaskContext, job_id: uuid.UUID) -> dict[str, Any]:
        raise JobFailed("this generator is broken")

    run_worker.start(
        [QueueName.generation, QueueName.webhooks],
        handlers={**HANDLERS, QueueName.generation: broken},
        settings=hooked,
    )
    failed = await _generate(api, receiver.url("/ok"))
    requests = await receiver.wait_for(2)
    events = {orjson.loads(r.body)["data"]["id"]: orjson.loads(r.body) for r in requests}
    assert events[cancelled]["type"] == "job.cancelled"
    assert events[failed]["type"] == "job.failed"
    assert events[failed]["data"]["error"]["message"] == "this generator is broken"


async def test_an_export_takes_a_callback_url_too(
    api: httpx.AsyncClient,
    hooked: Settings,
    run_worker: WorkerRunner,
    receiver: Receiver,
    wait_job: WaitJob,
) -> None:
    run_worker.start([QueueName.generation, QueueName.export, QueueName.webhooks], settings=hooked)
    source = await _generate(api, receiver.url("/ok"))
    await wait_job(source)
    dataset_id = (await api.get(f"/status/{source}")).json()["result"]["dataset_id"]
    response = await api.post(
        "/export",
        json={"format": "csv", "dataset_id": dataset_id, "callback_url": receiver.url("/ok")},
    )
    assert response.status_code == 202, response.text
    export_id = response.json()["job_id"]
    requests = await receiver.wait_for(2)
    bodies = [orjson.loads(r.body) for r in requests]
    (done,) = [b for b in bodies if b["data"]["id"] == export_id]
    assert done["data"]["result"]["rows"] == 10
    assert done["data"]["params"].get("callback_url") is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://10.0.0.1/hook", "not a public address"),
        ("http://[::1]:8000/hook", "not a public address"),
        ("http://user:pw@127.0.0.1/hook", "credentials"),
        ("ftp://127.0.0.1/hook", "only http"),
        ("http://hooks.example.com/hook", "not allowed by WEBHOOK_ALLOWED_HOSTS"),
    ],
)
async def test_a_callback_url_the_rules_refuse_is_a_422_naming_it(
    api: httpx.AsyncClient, url: str, message: str
) -> None:
    response = await api.post(
        "/generate", json={"record_type": "user", "count": 1, "fields": FIELDS, "callback_url": url}
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["errors"][0]["loc"] == ["body", "callback_url"]
    assert message in problem["detail"]
    upload = await api.post(
        "/upload", files={"file": ("a.csv", b"a,b\n1,2\n")}, data={"callback_url": url}
    )
    assert upload.status_code == 422, upload.text
    assert upload.json()["errors"][0]["loc"] == ["body", "callback_url"]


async def test_without_a_webhook_secret_callbacks_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/generate",
        json={
            "record_type": "user",
            "count": 1,
            "fields": FIELDS,
            "callback_url": "http://127.0.0.1/",
        },
    )
    assert response.status_code == 422
    assert "WEBHOOK_SECRET" in response.json()["detail"]


async def test_an_address_refused_at_delivery_is_given_up_at_once(
    api: httpx.AsyncClient,
    hooked: Settings,
    run_worker: WorkerRunner,
    receiver: Receiver,
) -> None:
    # Accepted under one configuration, delivered by a worker whose rules changed since.
    stricter = hooked.model_copy(update={"webhook_allowed_hosts": ["*"]})
    run_worker.start([QueueName.generation, QueueName.webhooks], settings=stricter)
    job_id = await _generate(api, receiver.url("/ok"))
    delivery = await _settled(api, job_id)
    assert delivery["status"] == "failed"
    assert delivery["attempts"] == 1
    assert "not a public address" in delivery["error"]
    assert receiver.requests == []


async def test_an_upload_takes_a_callback_url(
    api: httpx.AsyncClient,
    hooked: Settings,
    run_worker: WorkerRunner,
    receiver: Receiver,
) -> None:
    run_worker.start([QueueName.ingest, QueueName.webhooks], settings=hooked)
    response = await api.post(
        "/upload",
        files={"file": ("people.csv", b"name,age\nada,36\ngrace,45\n")},
        data={"callback_url": receiver.url("/ok")},
    )
    assert response.status_code == 202, response.text
    (request,) = await receiver.wait_for(1)
    message = Webhook(SECRET).verify(request.body, request.headers)
    assert message["type"] == "job.completed"
    assert message["data"]["type"] == "ingest"
    assert message["data"]["result"]["rows"] == 2
