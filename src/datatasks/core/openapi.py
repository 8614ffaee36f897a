"""The OpenAPI document as the contract a generated client is built from: every operation
named, errors documented as what they are (problem+json), files as their media types, and
links from each answer that names a job to the operations on that job."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from datatasks.core.problems import PROBLEM_JSON

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
BINARY = {"type": "string", "format": "binary"}
OCTET_STREAM = "application/octet-stream"
# The documents that name a job, and where in them its id is.
_JOB_ID_IN = {"JobAccepted": "job_id", "UploadAccepted": "job_id", "JobOut": "id"}


def file_content(*media_types: str) -> dict[str, dict[str, Any]]:
    """A downloaded file's `content`: each media type it can have, as bytes. Listed first,
    application/octet-stream stands for all of them: a generated client reads a response as
    the first media type it knows, and openapi-python-client knows only JSON, text and
    octet-stream - it would decode a file listed as text/csv first as text, a Parquet one too."""
    return {media_type: {"schema": BINARY} for media_type in (OCTET_STREAM, *media_types)}


def install_openapi(app: FastAPI) -> None:
    """FastAPI files every documented response under `application/json` and adds its own
    `HTTPValidationError` 422s; rewrite each 4xx/5xx to the problem+json the service sends.
    Then link the answers naming a job to the operations on it, and set the limits that come
    from settings."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            # Late: the jobs' documents import most of the service (see jobs/schemas.py).
            from datatasks.jobs.schemas import resolve_job_documents

            resolve_job_documents()
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                routes=app.routes,
                # One schema per model, as requests take it: a request model that is also in
                # a response (a job's `params`) keeps its name, not `ExportRequest-Input`.
                separate_input_output_schemas=False,
            )
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    for status, response in operation.get("responses", {}).items():
                        if status[0] in "45":
                            response["content"] = {PROBLEM_JSON: {"schema": _PROBLEM_REF}}
            components = schema.get("components", {}).get("schemas", {})
            for unused in ("HTTPValidationError", "ValidationError"):
                components.pop(unused, None)
            _link_jobs(schema)
            count = components.get("GenerateRequest", {}).get("properties", {}).get("count")
            if count is not None:
                # The model says the default; this service's own (GENERATE_MAX_COUNT) it is.
                count["maximum"] = app.state.settings.generate_max_count
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _link_jobs(schema: dict[str, Any]) -> None:
    """Each answer that names a job (a 202's JobAccepted, a JobOut) gets OpenAPI links to the
    operations that take only that job's id - the `jobs` ones, which take any job, and those
    of its own tag (an export's link) - so a client (or schemathesis's stateful tests) knows
    where the id goes. A 202 also documents its Location, the job's status URL."""
    operations = [op for item in schema.get("paths", {}).values() for op in item.values()]
    targets = [
        operation
        for operation in operations
        if [p["name"] for p in operation.get("parameters", []) if p.get("required")] == ["job_id"]
        and not operation.get("requestBody", {}).get("required")
    ]
    for operation in operations:
        for status, response in operation.get("responses", {}).items():
            ref = response.get("content", {}).get("application/json", {}).get("schema", {})
            name = ref.get("$ref", "").rsplit("/", 1)[-1]
            if not status.startswith("2") or name not in _JOB_ID_IN:
                continue
            source = f"$response.body#/{_JOB_ID_IN[name]}"
            response["links"] = {
                target["operationId"]: {
                    "operationId": target["operationId"],
                    "parameters": {"job_id": source},
                }
                for target in targets
                if target is not operation
                and {"jobs", *operation.get("tags", [])} & set(target.get("tags", []))
            }
            if status == "202":
                response.setdefault("headers", {})["Location"] = {
                    "description": "the job's status: GET /status/{job_id}",
                    "schema": {"type": "string"},
                }
