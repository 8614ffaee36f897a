"""Job documents typed per job type: real jobs of every type, made through the API and run by
the worker, read back (GET /status, GET /jobs) as the variant of their type, their stored
parameters valid as the model their task reads them with."""

from __future__ import annotations

import uuid

import httpx
import pytest

from datatasks.core.config import QueueName
from datatasks.core.db import SessionMaker
from datatasks.datasets.erasure import EraseParams
from datatasks.exports.schemas import ExportRequest
from datatasks.generation.schemas import GenerateParams
from datatasks.jobs.schemas import EraseJob, ExportJob, GenerateJob, IngestJob, JobOut, JobPage
from datatasks.models import Job, JobStatus, JobType
from datatasks.uploads.schemas import IngestParams
from tests.conftest import WaitJob, WorkerRunner

CSV = b"name,age\nada,36\ngrace\nalan,41\n"  # grace's row is short: rejected


def test_each_variant_types_params_as_its_task_reads_them() -> None:
    """generation/task.py, uploads/task.py, exports/task.py and datasets/erasure.py read a
    job's parameters with `job.params(Model)`: the document shows them as that model."""
    for variant, model in (
        (GenerateJob, GenerateParams),
        (IngestJob, IngestParams),
        (ExportJob, ExportRequest),
        (EraseJob, EraseParams),
    ):
        assert variant.model_fields["params"].annotation is model


async def _accepted(response: httpx.Response) -> str:
    assert response.status_code == 202, response.text
    job_id: str = response.json()["job_id"]
    assert response.headers["location"] == f"/status/{job_id}"
    return job_id


async def test_every_job_type_reads_as_its_own_document(
    client: httpx.AsyncClient,
    run_worker: WorkerRunner,
    wait_job: WaitJob,
    sessionmaker: SessionMaker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    run_worker.start(
        queues=(QueueName.generation, QueueName.ingest, QueueName.export, QueueName.erasure)
    )
    generate = {
        "record_type": "person",
        "count": 25,
        "fields": [
            {"name": "id", "type": "uuid"},
            {"name": "email", "type": "email"},
            {
                "name": "tags",
                "type": "array",
                "of": {"name": "tag", "type": "word"},
                "max_items": 3,
            },
        ],
    }
    generated = await _accepted(await client.post("/generate", json=generate))
    uploaded = await _accepted(
        await client.post(
            "/upload",
            files={"file": ("people.csv", CSV, "text/csv")},
            data={"record_type": "person", "skip_rows": "0", "null_values": '["-"]'},
        )
    )
    made = (await wait_job(generated))["result"]["dataset_id"]
    loaded = (await wait_job(uploaded))["result"]["dataset_id"]
    export = {"format": "ndjson", "dataset_id": made, "mask": {"email": "hash"}}
    exported = await _accepted(await client.post("/export", json=export))
    erased = await _accepted(await client.delete(f"/datasets/{loaded}"))
    await wait_job(exported)
    await wait_job(erased)

    variants = {generated: GenerateJob, uploaded: IngestJob, exported: ExportJob, erased: EraseJob}
    for job_id, variant in variants.items():
        response = await client.get(f"/status/{job_id}")
        assert response.status_code == 200, response.text
        # Validated as the client's schema says (JobOut, the union of the variants): params,
        # result and error of its type.
        document = JobOut.model_validate_json(response.content)
        assert type(document) is variant
        assert document.status is JobStatus.completed
        assert document.result is not None
        assert document.error is None
    page = JobPage.model_validate_json((await client.get("/jobs")).content)
    assert {item.id: type(item) for item in page.items} == {
        uuid.UUID(job_id): variant for job_id, variant in variants.items()
    }
    assert "job.params_unreadable" not in caplog.text

    async with sessionmaker() as session:
        for job_id, variant in variants.items():
            job = await session.get(Job, uuid.UUID(job_id))
            assert job is not None
            # As the task reads them (RunningJob.params: the stored JSON, validated).
            model = variant.model_fields["params"].annotation
            assert model is not None
            stored = model.model_validate(job.params)
            document = JobOut.of(job)
            assert type(document) is variant
            assert document.params == stored


async def test_parameters_this_version_cannot_read_are_shown_as_stored(
    client: httpx.AsyncClient, sessionmaker: SessionMaker, caplog: pytest.LogCaptureFixture
) -> None:
    """A job written by another version (or by hand): its status still reads, as stored."""
    job = Job(id=uuid.uuid4(), type=JobType.generate, params={"rows": 3}, progress_total=3)
    async with sessionmaker() as session:
        session.add(job)
        await session.commit()
    response = await client.get(f"/status/{job.id}")
    assert response.status_code == 200, response.text
    assert response.json()["type"] == "generate"
    assert response.json()["params"] == {"rows": 3}
    assert "job.params_unreadable" in caplog.text
