"""GET /datasets and GET /datasets/{id}: listing, filters, pagination, inspection, errors."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from datatasks.core.config import QueueName
from tests.conftest import WaitJob, WorkerRunner

FIELDS: list[dict[str, Any]] = [
    {"name": "id", "type": "sequence"},
    {"name": "email", "type": "email"},
    {"name": "age", "type": "integer", "min": 18, "max": 90},
]


async def make(
    client: httpx.AsyncClient, wait_job: WaitJob, *, name: str, record_type: str, count: int = 50
) -> str:
    body = {
        "record_type": record_type,
        "count": count,
        "seed": 1,
        "dataset_name": name,
        "fields": FIELDS,
    }
    response = await client.post("/generate", json=body)
    assert response.status_code == 202, response.text
    job = await wait_job(response.json()["job_id"])
    dataset_id: str = job["result"]["dataset_id"]
    return dataset_id


async def upload(client: httpx.AsyncClient, wait_job: WaitJob, content: bytes) -> str:
    response = await client.post(
        "/upload",
        files={"file": ("people.csv", content, "text/csv")},
        data={"record_type": "person", "dataset_name": "people upload"},
    )
    assert response.status_code == 202, response.text
    job = await wait_job(response.json()["job_id"])
    dataset_id: str = job["result"]["dataset_id"]
    return dataset_id


async def ids(client: httpx.AsyncClient, **query: Any) -> list[str]:
    response = await client.get("/datasets", params=query)
    assert response.status_code == 200, response.text
    return [d["id"] for d in response.json()["items"]]


async def test_list_is_newest_first_filters_and_pages(
    client: httpx.AsyncClient, run_worker: WorkerRunner, wait_job: WaitJob
) -> None:
    run_worker.start(queues=(QueueName.generation, QueueName.ingest))
    users = await make(client, wait_job, name="users 100%", record_type="user")
    orders = await make(client, wait_job, name="orders", record_type="order")
    people = await upload(client, wait_job, b"name,age\nAda,36\nAlan,41\n")

    assert await ids(client) == [people, orders, users]
    assert await ids(client, source="uploaded") == [people]
    assert await ids(client, source="generated") == [orders, users]
    assert await ids(client, record_type="order") == [orders]
    # A prefix is matched as it is: % and _ are not wildcards.
    assert await ids(client, name_prefix="users 1") == [users]
    assert await ids(client, name_prefix="users_") == []
    assert await ids(client, name_prefix="%") == []

    pages: list[str] = []
    cursor: str | None = None
    while True:
        query: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/datasets", params=query)).json()
        pages += [d["id"] for d in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [people, orders, users]


@pytest.mark.parametrize(
    "query",
    [
        {"cursor": "not-a-cursor"},
        {"source": "imported"},
        {"limit": 0},
        {"limit": 501},
        {"record_type": "Not A Type"},
        {"name_prefix": ""},
    ],
)
async def test_bad_list_queries_are_422(client: httpx.AsyncClient, query: dict[str, Any]) -> None:
    response = await client.get("/datasets", params=query)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_one_dataset_with_its_schema_size_job_and_sample(
    client: httpx.AsyncClient, run_worker: WorkerRunner, wait_job: WaitJob
) -> None:
    run_worker.start(queues=(QueueName.generation, QueueName.ingest))
    dataset_id = await make(client, wait_job, name="users", record_type="user", count=500)
    response = await client.get(f"/datasets/{dataset_id}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "users"
    assert body["record_type"] == "user"
    assert body["source"] == "generated"
    assert body["state"] == "active"
    assert body["job_status"] == "completed"
    assert body["rows"] == 500
    assert body["bytes"] > 500 * 40  # the rows' JSON, at least
    assert body["fields"] == [{"name": f["name"], "type": f["type"]} for f in FIELDS]
    assert body["sample"] is None
    job = (await client.get(f"/status/{body['job_id']}")).json()
    assert job["result"]["dataset_id"] == dataset_id

    sampled = (await client.get(f"/datasets/{dataset_id}", params={"sample": 3})).json()
    assert [r["id"] for r in sampled["sample"]] == [1, 2, 3]
    assert all(set(r) == {"id", "email", "age"} for r in sampled["sample"])

    uploaded = await upload(client, wait_job, b"name,age\nAda,36\nAlan,41\n")
    body = (await client.get(f"/datasets/{uploaded}", params={"sample": 100})).json()
    assert body["source"] == "uploaded"
    assert body["fields"] == [
        {"name": "name", "type": "string"},
        {"name": "age", "type": "integer"},
    ]
    assert body["sample"] == [{"name": "Ada", "age": 36}, {"name": "Alan", "age": 41}]


async def test_unknown_and_malformed_ids_are_404_and_bad_samples_422(
    client: httpx.AsyncClient,
) -> None:
    for path in (f"/datasets/{uuid.uuid4()}", "/datasets/not-a-uuid"):
        response = await client.get(path)
        assert response.status_code == 404, response.text
        assert response.headers["content-type"] == "application/problem+json"
    for sample in (-1, 101, "x"):
        response = await client.get(f"/datasets/{uuid.uuid4()}", params={"sample": sample})
        assert response.status_code == 422, response.text


def people_csv(rows: int) -> bytes:
    """A CSV as a client would upload it: ids, emails, names, a plan, scores, dates, IPs."""
    lines = ["id,email,name,plan,score,signed_up,ip"]
    plans = ["free"] * 6 + ["pro"] * 3 + ["team"]
    for i in range(rows):
        score = "" if i % 10 == 0 else f"{(i * 37) % 1000 / 10:.1f}"
        lines.append(
            f"{i},person{i}@example.org,Name{i} Surname{i % 50},{plans[i % 10]},{score},"
            f"2024-{1 + i % 12:02d}-{1 + i % 28:02d},10.0.{i % 200}.{i % 250}"
        )
    return ("\n".join(lines) + "\n").encode()


async def test_a_profile_and_a_lookalike_of_an_uploaded_csv(
    client: httpx.AsyncClient, run_worker: WorkerRunner, wait_job: WaitJob
) -> None:
    run_worker.start(queues=(QueueName.generation, QueueName.ingest))
    source = await upload(client, wait_job, people_csv(1_000))
    response = await client.get(f"/datasets/{source}/profile")
    assert response.status_code == 200, response.text
    profile = response.json()
    assert profile["rows"] == profile["sampled"] == 1_000
    fields = {f["name"]: f for f in profile["fields"]}
    assert {n: (f["kind"], f["personal"]) for n, f in fields.items()} == {
        "id": ("integer", None),
        "email": ("email", "email"),
        "name": ("name", "name"),
        "plan": ("category", None),
        "score": ("float", None),
        "signed_up": ("date", None),
        "ip": ("ip", "ip"),
    }
    assert fields["score"]["null_rate"] == pytest.approx(0.1)
    assert [(t["value"], t["count"]) for t in fields["plan"]["top"]] == [
        ("free", 600),
        ("pro", 300),
        ("team", 100),
    ]
    for personal in ("email", "name", "ip"):
        assert not fields[personal]["top"]
    # Kept: the second answer is the stored profile.
    assert (await client.get(f"/datasets/{source}/profile")).json() == profile

    # The profile's fields are a schema POST /generate takes as it is ...
    body = {"record_type": "person", "count": 10, "fields": profile["generate_fields"]}
    assert (await client.post("/generate", json=body)).status_code == 202
    # ... and `like` makes the same lookalike from it, deterministically with a seed.
    like = {"record_type": "person", "count": 1_000, "seed": 7, "like": {"dataset_id": source}}
    made = []
    for _ in range(2):
        response = await client.post("/generate", json=like)
        assert response.status_code == 202, response.text
        job = await wait_job(response.json()["job_id"])
        made.append(job["result"]["dataset_id"])
    samples = [
        (await client.get(f"/datasets/{d}", params={"sample": 100})).json()["sample"] for d in made
    ]
    assert samples[0] == samples[1]

    copy = (await client.get(f"/datasets/{made[0]}/profile")).json()
    twin = {f["name"]: f for f in copy["fields"]}
    assert list(twin) == list(fields)
    assert twin["score"]["null_rate"] == pytest.approx(0.1, abs=0.03)
    shares = {t["value"]: t["count"] / 1_000 for t in twin["plan"]["top"]}
    assert shares == pytest.approx({"free": 0.6, "pro": 0.3, "team": 0.1}, abs=0.05)
    span = fields["score"]["max"] - fields["score"]["min"]
    median = {q["p"]: q["value"] for q in fields["score"]["quantiles"]}[0.5]
    twin_median = {q["p"]: q["value"] for q in twin["score"]["quantiles"]}[0.5]
    assert abs(twin_median - median) < 0.05 * span
    assert fields["signed_up"]["earliest"] <= twin["signed_up"]["earliest"]
    assert twin["signed_up"]["latest"] <= fields["signed_up"]["latest"]
    # No personal value of the source reaches the lookalike.
    originals = (await client.get(f"/datasets/{source}", params={"sample": 100})).json()["sample"]
    for name in ("email", "name", "ip"):
        assert {r[name] for r in originals}.isdisjoint(r[name] for r in samples[0])


async def test_bad_lookalike_and_profile_requests(client: httpx.AsyncClient) -> None:
    unknown = {"dataset_id": str(uuid.uuid4())}
    for body in (
        {"record_type": "x", "count": 5, "like": unknown},
        {"record_type": "x", "count": 5, "like": unknown, "fields": FIELDS},
        {"record_type": "x", "count": 5},
        {"record_type": "x", "count": 5, "like": {"dataset_id": "nope"}},
    ):
        response = await client.post("/generate", json=body)
        assert response.status_code == 422, response.text
    assert (await client.get(f"/datasets/{uuid.uuid4()}/profile")).status_code == 404
