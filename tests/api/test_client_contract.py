"""The OpenAPI document as a contract a client is generated from: openapi-python-client builds
one from it without a warning, its functions are named after the operation ids, its job models
are one per job type, and the client it builds works against the service - every kind of job,
read back as its own model, files downloaded as bytes. Also what the document promises about
limits, and the Allow header of a 405."""

from __future__ import annotations

import importlib
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from datatasks.app import create_app
from datatasks.core.config import Environment, QueueName, Settings, load_settings
from datatasks.core.problems import PROBLEM_JSON
from datatasks.exports.routes import DOWNLOAD_MEDIA_TYPES
from datatasks.exports.schemas import Compression, ExportFormat, ExportRequest
from tests.conftest import WaitJob, WorkerRunner

GENERATOR = Path(sys.executable).parent / "openapi-python-client"
PACKAGE = "datatasks_client"
DOCUMENT: dict[str, Any] = create_app(load_settings(app_env=Environment.test)).openapi()
OPERATION_IDS = sorted(
    operation["operationId"] for item in DOCUMENT["paths"].values() for operation in item.values()
)


def snake(operation_id: str) -> str:
    """What openapi-python-client names an operation's module: createGeneration is
    create_generation."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()


@dataclass(frozen=True)
class Generated:
    output: str
    returncode: int
    package: Path


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    """The client openapi-python-client generates from the document, once for the module."""
    directory = tmp_path_factory.mktemp("generated")
    document = directory / "openapi.json"
    document.write_text(json.dumps(DOCUMENT))
    package = directory / PACKAGE
    run = subprocess.run(
        [GENERATOR, "generate", "--path", document, "--output-path", package, "--meta", "none"],
        capture_output=True,
        text=True,
        # Its post hooks format the code with ruff, which is next to it.
        env={**os.environ, "PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ.get('PATH', '')}"},
        timeout=300,
        check=False,
    )
    return Generated(run.stdout + run.stderr, run.returncode, package)


@pytest.fixture
def generated_client(generated: Generated) -> Iterator[ModuleType]:
    """The generated package, imported (and forgotten afterwards)."""
    sys.path.insert(0, str(generated.package.parent))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(generated.package.parent))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def test_every_operation_has_a_camel_case_verb_id() -> None:
    assert len(set(OPERATION_IDS)) == len(OPERATION_IDS)
    for operation_id in OPERATION_IDS:
        assert re.fullmatch(r"[a-z]+(?:[A-Z][a-z0-9]*)+", operation_id), operation_id
    named = {
        "createGeneration",
        "createUpload",
        "createExport",
        "getJobStatus",
        "listJobs",
        "cancelJob",
        "retryJob",
        "listDatasets",
        "getDataset",
        "eraseDataset",
        "downloadExport",
        "downloadRejects",
    }
    assert named <= set(OPERATION_IDS)


def test_the_generator_builds_a_client_without_a_warning(generated: Generated) -> None:
    assert generated.returncode == 0, generated.output
    said = [line for line in generated.output.splitlines() if line.strip()]
    assert said == [f"Generating {generated.package}"], generated.output
    api = generated.package / "api"
    modules = {path.stem: path for path in api.glob("*/*.py")}
    for operation_id in OPERATION_IDS:
        module = modules.get(snake(operation_id))
        assert module is not None, f"no function for {operation_id}"
        code = module.read_text()
        for function in ("sync", "sync_detailed", "asyncio", "asyncio_detailed"):
            assert f"def {function}(" in code, (operation_id, function)
    assert {"create_generation", "get_job_status", "download_export"} <= set(modules)


def test_the_job_document_is_one_model_per_job_type(generated_client: ModuleType) -> None:
    models = importlib.import_module(f"{PACKAGE}.models")
    get_job_status = importlib.import_module(f"{PACKAGE}.api.jobs.get_job_status")
    returned = str(get_job_status._parse_response.__annotations__["return"])
    for variant, params, result in (
        ("GenerateJob", "GenerateParams", "GenerationResult"),
        ("IngestJob", "IngestParams", "IngestResult"),
        ("ExportJob", "ExportRequest", "ExportResult"),
        ("EraseJob", "EraseParams", "EraseResult"),
    ):
        assert variant in returned
        # Typed, not dicts: each variant's params and result are models of their own.
        hints = getattr(models, variant).__annotations__
        assert hints["params"] == params, variant
        assert result in hints["result"], variant
        assert "JobError" in hints["error"], variant


def test_downloads_are_documented_as_bytes_of_their_media_types() -> None:
    download = DOCUMENT["paths"]["/exports/{job_id}/download"]["get"]["responses"]["200"]
    media_types = list(download["content"])
    # First: what a generated client reads the file as (bytes); then what the file can be.
    assert media_types[0] == "application/octet-stream"
    sent = {ExportFormat(f).content_type.split(";")[0] for f in ExportFormat}
    gzipped = ExportRequest(format=ExportFormat.csv, compression=Compression.gzip).content_type
    assert sent | {gzipped} == set(DOWNLOAD_MEDIA_TYPES) == set(media_types[1:])
    rejects = DOCUMENT["paths"]["/uploads/{upload_id}/rejects"]["get"]["responses"]["200"]
    assert list(rejects["content"]) == ["application/octet-stream", "application/x-ndjson"]
    for content in (download["content"], rejects["content"]):
        assert all(m["schema"] == {"type": "string", "format": "binary"} for m in content.values())


def test_limits_are_in_the_document() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    count = schemas["GenerateRequest"]["properties"]["count"]
    assert count["maximum"] == load_settings(app_env=Environment.test).generate_max_count
    assert count["maximum"] == 10_000_000
    assert count["minimum"] == 1
    assert schemas["GenerateRequest"]["properties"]["fields"]["maxItems"] == 200
    for path, name, maximum in (
        ("/jobs", "limit", 500),
        ("/datasets", "limit", 500),
        ("/datasets/{dataset_id}", "sample", 100),
    ):
        [parameter] = [p for p in DOCUMENT["paths"][path]["get"]["parameters"] if p["name"] == name]
        assert parameter["schema"]["maximum"] == maximum, (path, name)
        assert "minimum" in parameter["schema"], (path, name)


def test_the_document_says_the_services_own_count_limit() -> None:
    settings = load_settings(app_env=Environment.test, generate_max_count=1_000)
    document = create_app(settings).openapi()
    count = document["components"]["schemas"]["GenerateRequest"]["properties"]["count"]
    assert count["maximum"] == 1_000


def test_202s_link_their_job_to_the_operations_on_it() -> None:
    for path, method in (
        ("/generate", "post"),
        ("/upload", "post"),
        ("/export", "post"),
        ("/datasets/{dataset_id}", "delete"),
        ("/jobs/{job_id}/retry", "post"),
    ):
        accepted = DOCUMENT["paths"][path][method]["responses"]["202"]
        links = accepted["links"]
        own = DOCUMENT["paths"][path][method]["operationId"]
        assert {"getJobStatus", "cancelJob", "retryJob"} - {own} <= set(links), path
        assert own not in links
        for link in links.values():
            assert link["operationId"] in OPERATION_IDS
            assert set(link["parameters"]) == {"job_id"}
        assert "Location" in accepted["headers"]
    export_links = DOCUMENT["paths"]["/export"]["post"]["responses"]["202"]["links"]
    assert "createExportLink" in export_links
    assert (
        "createExportLink"
        not in DOCUMENT["paths"]["/generate"]["post"]["responses"]["202"]["links"]
    )


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/exports/00000000-0000-4000-8000-000000000001/download", "GET, HEAD"),
        ("PUT", "/health/live", "GET, HEAD"),
        ("PUT", "/datasets/00000000-0000-4000-8000-000000000001", "DELETE, GET"),
        ("DELETE", "/status/00000000-0000-4000-8000-000000000001", "GET"),
        ("GET", "/generate", "POST"),
        ("PATCH", "/jobs", "GET"),
    ],
)
async def test_a_405_allows_every_method_of_its_path(method: str, path: str, allow: str) -> None:
    # Routing answers a 405 before any dependency is used: no lifespan needed.
    app = create_app(load_settings(app_env=Environment.test))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["status"] == 405


CSV = b"name,age\nada,36\ngrace\nalan,41\n"  # grace's row is short: rejected


async def test_the_generated_client_works_against_the_service(
    generated_client: ModuleType,
    client: httpx.AsyncClient,
    run_worker: WorkerRunner,
    wait_job: WaitJob,
    settings: Settings,
) -> None:
    """Every kind of job through the generated client: each read back as the model of its type
    with its typed params and result, the export (Parquet) and the rejects downloaded as bytes."""
    run_worker.start(queues=(QueueName.generation, QueueName.ingest, QueueName.export))
    api = generated_client.Client(base_url="http://test", raise_on_unexpected_status=True)
    api.set_async_httpx_client(client)
    models = importlib.import_module(f"{PACKAGE}.models")
    types_ = importlib.import_module(f"{PACKAGE}.types")

    def call(module: str) -> Any:
        return importlib.import_module(f"{PACKAGE}.api.{module}").asyncio

    request = models.GenerateRequest.from_dict(
        {
            "record_type": "person",
            "count": 30,
            "seed": 7,
            "fields": [
                {"name": "id", "type": "sequence"},
                {"name": "email", "type": "email"},
                {"name": "age", "type": "integer", "min": 18, "max": 90},
            ],
        }
    )
    accepted = await call("generation.create_generation")(client=api, body=request)
    assert isinstance(accepted, models.JobAccepted)
    await wait_job(str(accepted.job_id))
    generation = await call("jobs.get_job_status")(str(accepted.job_id), client=api)
    assert isinstance(generation, models.GenerateJob)
    assert isinstance(generation.params, models.GenerateParams)
    assert generation.params.count == 30
    assert generation.params.seed == 7
    assert isinstance(generation.result, models.GenerationResult)
    assert generation.result.rows == 30
    dataset_id = str(generation.result.dataset_id)

    form = models.CreateUploadBody(
        file=types_.File(payload=io.BytesIO(CSV), file_name="people.csv"), record_type="person"
    )
    uploaded = await call("uploads.create_upload")(client=api, body=form)
    assert isinstance(uploaded, models.UploadAccepted)
    # The form's defaults: a client that sends them all must not see a JSON file refused for
    # carrying CSV options.
    ndjson = models.CreateUploadBody(
        file=types_.File(payload=io.BytesIO(b'{"a": 1}\n'), file_name="a.ndjson")
    )
    assert isinstance(
        await call("uploads.create_upload")(client=api, body=ndjson), models.UploadAccepted
    )
    await wait_job(str(uploaded.job_id))
    ingest = await call("jobs.get_job_status")(str(uploaded.job_id), client=api)
    assert isinstance(ingest, models.IngestJob)
    assert isinstance(ingest.params, models.IngestParams)
    assert isinstance(ingest.result, models.IngestResult)
    assert ingest.result.rows == 2
    assert ingest.result.rejected == 1
    rejects_query = httpx.URL(ingest.result.rejects_url).params
    rejects = await call("uploads.download_rejects")(
        str(uploaded.upload_id),
        client=api,
        expires=int(rejects_query["expires"]),
        signature=rejects_query["signature"],
    )
    assert isinstance(rejects, types_.File)
    [rejected] = [json.loads(line) for line in rejects.payload.read().splitlines()]
    assert rejected["line"] == 3

    export = models.ExportRequest.from_dict(
        {"format": "parquet", "dataset_id": dataset_id, "mask": {"email": "hash"}}
    )
    queued = await call("exports.create_export")(client=api, body=export)
    await wait_job(str(queued.job_id))
    exported = await call("jobs.get_job_status")(str(queued.job_id), client=api)
    assert isinstance(exported, models.ExportJob)
    assert isinstance(exported.params, models.ExportRequest)
    assert isinstance(exported.result, models.ExportResult)
    [mask] = exported.result.masked
    assert isinstance(mask, models.AppliedMask)
    assert (mask.field, mask.algorithm) == ("email", "hmac-sha256")
    query = httpx.URL(exported.result.download_url).params
    file = await call("exports.download_export")(
        str(queued.job_id),
        client=api,
        expires=int(query["expires"]),
        signature=query["signature"],
    )
    assert isinstance(file, types_.File)
    table = pq.read_table(file.payload)
    assert table.num_rows == 30

    erase = await call("datasets.erase_dataset")(dataset_id, client=api)
    assert isinstance(erase, models.JobAccepted)
    erasure = await call("jobs.get_job_status")(str(erase.job_id), client=api)
    assert isinstance(erasure, models.EraseJob)
    assert isinstance(erasure.params, models.EraseParams)
    assert str(erasure.params.dataset_id) == dataset_id

    page = await call("jobs.list_jobs")(client=api)
    assert isinstance(page, models.JobPage)
    kinds = {type(item).__name__ for item in page.items}
    assert kinds == {"GenerateJob", "IngestJob", "ExportJob", "EraseJob"}
