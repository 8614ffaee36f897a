from __future__ import annotations

import uuid

import httpx

from datatasks.core.db import SessionMaker
from datatasks.models import Job, JobStatus, JobType


async def add_jobs(sessionmaker: SessionMaker, n: int, **values: object) -> list[Job]:
    jobs = []
    for i in range(n):
        # One transaction each: now() is per transaction, so each job gets its own created_at.
        async with sessionmaker() as session:
            job = Job(
                id=uuid.uuid4(), type=JobType.generate, params={"i": i}, progress_total=10, **values
            )
            session.add(job)
            await session.commit()
            jobs.append(job)
    return jobs


async def test_status_of_a_job(client: httpx.AsyncClient, sessionmaker: SessionMaker) -> None:
    [job] = await add_jobs(sessionmaker, 1, progress_done=4, status=JobStatus.in_progress)
    response = await client.get(f"/status/{job.id}")
    assert response.status_code == 200
    status = response.json()
    assert status["id"] == str(job.id)
    assert status["status"] == "in_progress"
    assert status["progress"] == {"done": 4, "total": 10, "percent": 40.0}
    assert set(status) == {
        "id",
        "type",
        "status",
        "progress",
        "attempts",
        "callback_url",
        "params",
        "result",
        "error",
        "created_at",
        "updated_at",
        "started_at",
        "finished_at",
    }


async def test_unknown_and_malformed_job_ids_are_404(client: httpx.AsyncClient) -> None:
    for job_id in (uuid.uuid4(), "not-a-uuid", "1"):
        response = await client.get(f"/status/{job_id}")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"


async def test_jobs_are_listed_newest_first_with_a_cursor(
    client: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    jobs = await add_jobs(sessionmaker, 5)
    await add_jobs(sessionmaker, 2, status=JobStatus.failed)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 2, "type": "generate", "status": "pending"}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/jobs", params=params)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [str(j.id) for j in reversed(jobs)]

    failed = (await client.get("/jobs", params={"status": "failed"})).json()
    assert len(failed["items"]) == 2
    assert failed["next_cursor"] is None


async def test_bad_list_parameters_are_422(client: httpx.AsyncClient) -> None:
    for params in ({"status": "sleeping"}, {"limit": 0}, {"limit": 501}, {"cursor": "zz"}):
        response = await client.get("/jobs", params=params)
        assert response.status_code == 422, params
        assert response.headers["content-type"] == "application/problem+json"
