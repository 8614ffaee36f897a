from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from datatasks.core.config import QueueName, Settings
from datatasks.core.db import SessionMaker
from datatasks.core.queue import Queues
from datatasks.models import Job, JobStatus, JobType
from tests.helpers import api_client, dispatch, queue_state

FIELDS = [
    {"name": "id", "type": "uuid"},
    {"name": "email", "type": "email", "null_rate": 0.1},
    {"name": "age", "type": "integer", "min": 18, "max": 90},
]


def body(**overrides: Any) -> dict[str, Any]:
    return {"record_type": "user", "count": 1000, "seed": 42, "fields": FIELDS, **overrides}


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert problem["title"]
    assert problem["detail"]
    assert problem["type"].startswith("https://")
    return problem


async def test_generate_answers_202_with_location_and_queues_the_row_id(
    client: httpx.AsyncClient, settings: Settings, sessionmaker: SessionMaker
) -> None:
    response = await client.post("/generate", json=body(dataset_name="demo"))
    assert response.status_code == 202, response.text
    accepted = response.json()
    job_id = uuid.UUID(accepted["job_id"])
    assert accepted["status"] == "pending"
    assert accepted["status_url"] == f"/status/{job_id}"
    assert response.headers["location"] == accepted["status_url"]

    async with sessionmaker() as session:
        job = (await session.scalars(select(Job).where(Job.id == job_id))).one()
    assert job.type == JobType.generate
    assert job.status == JobStatus.pending
    assert job.progress_total == 1000
    assert job.params["seed"] == 42
    assert job.params["dataset_name"] == "demo"

    # Committed, then dispatched to its queue under the row's id.
    assert await dispatch(settings) == 1
    queues = Queues(settings)
    try:
        queued = await queues.get(QueueName.generation).getJob(str(job_id))
        assert queued is not None
        # The request id travels with the job, so worker logs lead back to the request.
        assert queued.data == {
            "job_id": str(job_id),
            "request_id": response.headers["x-request-id"],
            # What a queue dashboard shows of it.
            "type": "generate",
            "record_type": "user",
            "records": 1000,
        }
        assert queued.opts["attempts"] == settings.queue(QueueName.generation).attempts
    finally:
        await queues.close()


async def test_a_missing_seed_is_chosen_and_stored(client: httpx.AsyncClient) -> None:
    response = await client.post("/generate", json=body(seed=None))
    status = (await client.get(response.json()["status_url"])).json()
    assert isinstance(status["params"]["seed"], int)
    assert 0 <= status["params"]["seed"] < 2**63


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (body(record_type="User!"), "body.record_type"),
        (body(record_type=""), "body.record_type"),
        (body(record_type="x" * 65), "body.record_type"),
        (body(count=0), "body.count"),
        (body(count="many"), "body.count"),
        (body(seed=-1), "body.seed"),
        (body(fields=[]), "body.fields"),
        (body(fields=[{"name": f"f{i}", "type": "uuid"} for i in range(201)]), "body.fields"),
        (body(fields=[{"name": "a", "type": "teleport"}]), "body.fields.0"),
        (body(fields=[{"name": "a", "type": "integer", "min": 9, "max": 1}]), "body.fields.0"),
        (body(fields=[{"name": "a", "type": "integer", "colour": "red"}]), "body.fields.0"),
        (body(fields=[{"name": "a", "type": "uuid", "null_rate": 2}]), "body.fields.0"),
        (body(fields=[{"type": "uuid"}]), "body.fields.0"),
        (
            body(fields=[{"name": "a", "type": "uuid"}, {"name": "a", "type": "email"}]),
            "body.fields",
        ),
        (body(unexpected=True), "body.unexpected"),
        ({"count": 5, "fields": FIELDS}, "body.record_type"),
    ],
)
async def test_invalid_payloads_are_422_naming_the_field(
    client: httpx.AsyncClient, sessionmaker: SessionMaker, payload: dict[str, Any], field: str
) -> None:
    problem = assert_problem(await client.post("/generate", json=payload), 422)
    fields = [e["field"] for e in problem["errors"]]
    assert any(f == field or f.startswith(field + ".") for f in fields), problem
    async with sessionmaker() as session:
        assert (await session.scalars(select(Job))).first() is None, (
            "a rejected request wrote a job"
        )


async def test_count_above_the_configured_maximum_is_422(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    problem = assert_problem(
        await client.post("/generate", json=body(count=settings.generate_max_count + 1)), 422
    )
    assert problem["errors"][0]["field"] == "body.count"


async def test_malformed_json_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/generate", content=b'{"record_type": ', headers={"content-type": "application/json"}
    )
    assert_problem(response, 422)


async def test_field_types_lists_the_catalogue(client: httpx.AsyncClient) -> None:
    response = await client.get("/generate/types")
    assert response.status_code == 200
    types = {t["type"]: t for t in response.json()}
    for name in (
        "uuid",
        "integer",
        "float",
        "boolean",
        "enum",
        "sequence",
        "constant",
        "string",
        "first_name",
        "last_name",
        "full_name",
        "email",
        "phone",
        "company",
        "street_address",
        "city",
        "country",
        "postcode",
        "date",
        "datetime",
        "ip_address",
        "url",
        "sentence",
        "paragraph",
    ):
        assert name in types
        assert "null_rate" in types[name]["options"]
    assert {"min", "max", "distribution", "unique"} <= set(types["integer"]["options"])
    assert len(types) >= 60
    # Every type shows a value the generator made for it.
    assert all("example" in t for t in types.values())
    assert types["gender"]["example"] in ("female", "male")
    assert types["work_email"]["example"].endswith(".example")
    assert types["template"]["example"].endswith("@acme.test")
    assert isinstance(types["object"]["example"], dict)
    assert isinstance(types["array"]["example"], list)


async def test_a_reference_must_name_a_complete_dataset_with_the_field(
    client: httpx.AsyncClient, settings: Settings, sessionmaker: SessionMaker
) -> None:
    def with_reference(dataset_id: str, field: str = "id") -> dict[str, Any]:
        reference = {"name": "user_id", "type": "reference", "dataset_id": dataset_id}
        return body(fields=[{**reference, "field": field}])

    missing = await client.post("/generate", json=with_reference(str(uuid.uuid4())))
    problem = assert_problem(missing, 422)
    assert problem["errors"][0]["loc"] == ["body", "fields", 0, "reference", "dataset_id"]

    # A dataset whose job is still pending cannot be drawn from yet.
    accepted = (await client.post("/generate", json=body(dataset_name="users"))).json()
    async with sessionmaker() as session:
        job = await session.get(Job, uuid.UUID(accepted["job_id"]))
        assert job is not None
    from datatasks.models import Dataset

    async with sessionmaker() as session:
        dataset = Dataset(
            job_id=job.id, record_type="user", source="generated", schema=body()["fields"]
        )
        session.add(dataset)
        await session.commit()
        dataset_id = str(dataset.id)
    pending = assert_problem(await client.post("/generate", json=with_reference(dataset_id)), 422)
    assert "not complete" in pending["errors"][0]["msg"]

    async with sessionmaker() as session:
        await session.execute(
            update(Job).where(Job.id == job.id).values(status=JobStatus.completed)
        )
        await session.commit()
    no_field = assert_problem(
        await client.post("/generate", json=with_reference(dataset_id, "user_id")), 422
    )
    assert no_field["errors"][0]["loc"][-1] == "field"
    assert "id, email, age" in no_field["errors"][0]["msg"]
    ok = await client.post("/generate", json=with_reference(dataset_id))
    assert ok.status_code == 202, ok.text

    # A worker holds a referenced field's values in memory: the dataset's size is bounded.
    async with sessionmaker() as session:
        await session.execute(
            update(Dataset).where(Dataset.id == dataset.id).values(row_count=2_000_001)
        )
        await session.commit()
    too_big = assert_problem(await client.post("/generate", json=with_reference(dataset_id)), 422)
    assert "at most 2000000" in too_big["errors"][0]["msg"]


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"locale": "xx-YY"}, ["body", "locale"]),
        (
            {"fields": [{"name": "a", "type": "integer", "distribution": {"type": "normal"}}]},
            ["body", "fields", 0, "integer", "distribution", "normal", "mean"],
        ),
        (
            {"fields": [{"name": "a", "type": "integer", "max": 5, "unique": True}]},
            ["body", "fields", 0, "integer", "max"],
        ),
    ],
)
async def test_bad_generation_options_are_422_at_their_location(
    client: httpx.AsyncClient, change: dict[str, Any], loc: list[Any]
) -> None:
    problem = assert_problem(await client.post("/generate", json=body(**change)), 422)
    assert problem["errors"][0]["loc"] == loc


async def test_without_redis_jobs_are_accepted_and_dispatched_once_it_is_back(
    base_settings: Settings, settings: Settings, sessionmaker: SessionMaker
) -> None:
    # A Redis that refuses connections: nothing listens on port 1. The API does not need it
    # to accept a job: the committed row (and its outbox entry) is the promise.
    no_redis = settings.model_copy(
        update={"redis_url": "redis://127.0.0.1:1/0", "dependency_timeout_s": 0.5}
    )
    async with api_client(no_redis) as c:
        response = await c.post("/generate", json=body())
        assert response.status_code == 202, response.text
        ready = await c.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded"
    job_id = response.json()["job_id"]
    async with sessionmaker() as session:
        job = await session.get(Job, uuid.UUID(job_id))
        assert job is not None
        assert job.status == JobStatus.pending
    # A dispatcher that cannot reach Redis leaves the entry where it is.
    from datatasks.core.errors import DependencyUnavailable

    with pytest.raises(DependencyUnavailable):
        await dispatch(no_redis)
    # Redis is back: the job reaches its queue, once.
    assert await dispatch(settings) == 1
    assert await dispatch(settings) == 0
    assert await queue_state(settings, job_id) == "waiting"
