"""Bad input, tried systematically: schemathesis against the service's own OpenAPI document.

Each operation in the document is its own test (`test_request_bodies[POST /generate]`,
`test_parameters[GET /jobs]`, ...). Schemathesis sends the document's examples, its coverage cases
(boundary values; missing, malformed and wrongly typed parameters and bodies; undeclared media
types and methods) and then generated requests, valid and invalid, to the real app with its
lifespan running (Postgres, Redis, local storage; this test's own schema, queue prefix and storage
directory): BODY_EXAMPLES for the operations that take a JSON or form body, where the validation
is, PARAMETER_EXAMPLES for the rest, whose few parameters the coverage cases already take to their
edges. Then the stateful phase (`test_stateful`) chains calls along the document's links: the job
a 202 queued, into the operations on it. Every response must:

- not be a 5xx;
- have a documented status code, Content-Type and headers, and a body matching its schema;
- if it is a 4xx or 5xx, be `application/problem+json` with `type`, `title`, `status`, `detail`;
- if it is a 405, say in `Allow` every method its path is documented with.

Random input rarely gets past the first check of a route, so the fuzzing phase, in about half of
its requests (`flatmap_case`):

- puts a seeded job's id (a job in each state, seeded before each test) in `{job_id}` paths
  (only an ended job's in `GET /status/{job_id}/events`, whose stream lasts as long as the job);
- sends the two download routes a link the service signed, for a file that exists or not;
- sends `POST /upload` a well-formed CSV, JSON array or NDJSON file, so the form fields behind
  the content sniffing are reached;
- puts a string known to break storage and parsers (NUL, for one) into a valid JSON body or
  form, in a field that takes any text or in place of any string.

Generation is derandomized (as Hypothesis's CI profile does), so a run here is the run in CI.
"""

from __future__ import annotations

import asyncio
import copy
import csv
import io
import json
import re
import uuid
import zlib
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis import Case, CheckContext, GenerationMode, HookContext, Response, checks
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.meta import CoveragePhaseData
from schemathesis.python import asgi
from sqlalchemy import text
from starlette.types import ASGIApp, Receive, Scope, Send

from datatasks.app import create_app
from datatasks.core.config import Environment, Settings, load_settings
from datatasks.core.db import SessionMaker, create_engine, create_sessionmaker
from datatasks.core.problems import PROBLEM_JSON
from datatasks.exports.locations import download_path
from datatasks.models import Job, JobStatus, JobType
from datatasks.storage import create_storage
from datatasks.storage.links import issue_link
from datatasks.uploads.locations import rejects_key, rejects_path
from tests.conftest import DROP_PARTITIONS, TABLES

# Fuzzing-phase requests per operation, on top of its examples and coverage cases: many for a
# body (its fields nest, combine and are checked against each other), few for parameters.
BODY_EXAMPLES = 150
PARAMETER_EXAMPLES = 20
# Stateful phase: scenarios, and calls in each at most.
SCENARIOS = 80
STEPS = 8


class AppUnderTest:
    """The ASGI app schemathesis calls: it forwards to the app of the test that is running.

    Schemathesis starts an app's lifespan at its first request; `app_under_test` ends it.
    """

    def __init__(self) -> None:
        self.app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None, "only tests using the app_under_test fixture call the app"
        await self.app(scope, receive, send)


APP = AppUnderTest()
# The document GET /openapi.json serves (test_the_document_is_the_one_served checks that).
# Building it connects to nothing.
DOCUMENT: dict[str, Any] = create_app(load_settings(app_env=Environment.test)).openapi()
# Copies: schemathesis adds the links it infers to the document it is given.
schema = schemathesis.openapi.from_dict(copy.deepcopy(DOCUMENT))
schema.app = APP
# The operations tested from this one have no coverage phase: POST /generate/preview takes
# POST /generate's body (GenerateRequest), whose coverage cases would be the other's again.
# Their examples and fuzzing phase run.
uncovered = schemathesis.openapi.from_dict(
    copy.deepcopy(DOCUMENT),
    config=SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}}),
)
uncovered.app = APP
SAME_BODY_AS = {"previewGeneration": "createGeneration"}
# GET /status/{job_id}/events documents its 200 as `{"type": "string"}`, and schemathesis checks
# each event of a text/event-stream against that schema (ST108: an event is an object of `event`,
# `id`, `data`, `retry`): left out until the route documents its events.
UNDOCUMENTED_EVENTS = ["watchJobStatus"]

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    # An undeclared method is a 405 with Allow; the methods it lists are the documented ones.
    checks.unsupported_method,
    checks.allow_header_conformance,
]


def problem_json(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Every 4xx and 5xx is RFC 9457 problem+json with the members clients rely on."""
    if response.status_code < 400:
        return None
    content_type = (response.headers.get("content-type") or ["(none)"])[0]
    media_type = content_type.split(";", 1)[0].strip().lower()
    assert media_type == PROBLEM_JSON, (
        f"a {response.status_code} with Content-Type {content_type!r}, not {PROBLEM_JSON}"
    )
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(f"a {response.status_code} problem whose body is not JSON") from None
    assert isinstance(body, dict), f"a {response.status_code} problem that is not a JSON object"
    members = {"type": str, "title": str, "status": int, "detail": str}
    wrong = [name for name, kind in members.items() if not isinstance(body.get(name), kind)]
    assert not wrong, f"a {response.status_code} problem without a valid {', '.join(wrong)}"
    assert body["status"] == response.status_code, (
        f"a {response.status_code} problem whose `status` is {body['status']!r}"
    )
    return None


# Seeded before each test (which starts with empty tables), so the ids are constants.
EXPORT_DONE = uuid.UUID("00000000-0000-4000-8000-000000000001")
EXPORT_RUNNING = uuid.UUID("00000000-0000-4000-8000-000000000002")
GENERATE_PENDING = uuid.UUID("00000000-0000-4000-8000-000000000003")
GENERATE_FAILED = uuid.UUID("00000000-0000-4000-8000-000000000004")
INGEST_DONE = uuid.UUID("00000000-0000-4000-8000-000000000005")
GENERATE_CANCELLED = uuid.UUID("00000000-0000-4000-8000-000000000006")
UPLOAD = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
UNKNOWN = uuid.UUID("00000000-0000-4000-8000-0000000000ff")  # never seeded
JOB_IDS = (
    EXPORT_DONE,
    EXPORT_RUNNING,
    GENERATE_PENDING,
    GENERATE_FAILED,
    INGEST_DONE,
    GENERATE_CANCELLED,
    UNKNOWN,
)
ENDED_JOB_IDS = (EXPORT_DONE, GENERATE_FAILED, INGEST_DONE, GENERATE_CANCELLED, UNKNOWN)
# Each type's parameters as its route stores them: the documents type them (jobs/schemas.py).
GENERATE_PARAMS = {
    "record_type": "user",
    "count": 10,
    "seed": 1,
    "fields": [{"name": "id", "type": "uuid"}, {"name": "age", "type": "integer"}],
}
INGEST_PARAMS = {
    "upload_id": str(UPLOAD),
    "size": 20,
    "format": "csv",
    "delimiter": ",",
    "record_type": "upload",
    "dataset_name": None,
}
EXPORT_PARAMS = {"format": "csv", "filename": "seeded"}
PARAMS = {JobType.generate: GENERATE_PARAMS, JobType.ingest: INGEST_PARAMS}
EXPORT_KEY = f"exports/{EXPORT_DONE}/seeded.csv"  # as the task names it from those parameters
EXPORT_RESULT = {
    "rows": 2,
    "bytes": 16,
    "sha256": "0" * 64,
    "format": "csv",
    "compression": "none",
    "fields": ["id", "name"],
    "filename": "seeded.csv",
    "download_url": "/exports/x/download",
    "expires_at": "2026-01-01T00:00:00Z",
}
INGEST_RESULT = {
    "dataset_id": str(UPLOAD),
    "rows": 1,
    "rejected": 1,
    "bytes": 20,
    "format": "csv",
    "rejected_sample": [{"line": 2, "reason": "short row", "raw": "x"}],
}
# The download links the service signed for this test: route path -> query.
LINKS: dict[str, dict[str, str]] = {}


async def _seed(settings: Settings, sessionmaker: SessionMaker) -> None:
    def job(job_id: uuid.UUID, job_type: JobType, status: JobStatus, **values: Any) -> Job:
        values.setdefault("params", PARAMS.get(job_type, EXPORT_PARAMS))
        return Job(id=job_id, type=job_type, status=status, progress_total=10, **values)

    async with sessionmaker() as session:
        session.add_all(
            [
                job(EXPORT_DONE, JobType.export, JobStatus.completed, result=EXPORT_RESULT),
                job(EXPORT_RUNNING, JobType.export, JobStatus.in_progress, progress_done=3),
                job(GENERATE_PENDING, JobType.generate, JobStatus.pending),
                job(
                    GENERATE_FAILED,
                    JobType.generate,
                    JobStatus.failed,
                    attempts=3,
                    error={"message": "boom", "type": "RuntimeError", "attempt": 3, "final": True},
                ),
                job(
                    INGEST_DONE,
                    JobType.ingest,
                    JobStatus.completed,
                    result=INGEST_RESULT,
                ),
                job(GENERATE_CANCELLED, JobType.generate, JobStatus.cancelled),
            ]
        )
        await session.commit()

    storage = create_storage(settings)
    try:
        files = {EXPORT_KEY: b"id,name\n1,a\n2,b\n", rejects_key(UPLOAD): b'{"line": 2}\n'}
        for key, data in files.items():
            async with storage.create(key, content_type="application/octet-stream") as writer:
                await writer.write(data)
        targets = {
            download_path(EXPORT_DONE): EXPORT_KEY,  # 200
            download_path(EXPORT_RUNNING): EXPORT_KEY,  # 409: not ready
            download_path(GENERATE_PENDING): EXPORT_KEY,  # 404: not an export
            download_path(UNKNOWN): EXPORT_KEY,  # 404: no such job
            rejects_path(UPLOAD): rejects_key(UPLOAD),  # 200
            rejects_path(UNKNOWN): rejects_key(UNKNOWN),  # 404: no such file
        }
        LINKS.clear()
        for path, key in targets.items():
            url, _ = await issue_link(
                settings, storage, path=path, key=key, filename="f", content_type="text/plain"
            )
            LINKS[path] = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    finally:
        await storage.close()


@pytest.fixture
async def app_under_test(settings: Settings, sessionmaker: SessionMaker) -> AsyncIterator[None]:
    await _seed(settings, sessionmaker)
    APP.app = create_app(settings)
    try:
        yield
    finally:
        # Ends the app's lifespan (engine, queues, storage) before `settings` empties the tables.
        asgi.shutdown_lifespans()
        APP.app = None


# Well-formed upload files: CSV with a header row, a JSON array of objects, NDJSON.
def _csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
_csv_files = st.lists(_names, min_size=1, max_size=6, unique=True).flatmap(
    lambda header: st.lists(
        st.lists(st.text(max_size=20), min_size=len(header), max_size=len(header)),
        min_size=1,
        max_size=5,
    ).map(lambda rows: _csv_bytes([header, *rows]))
)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_names, inner, max_size=3),
    max_leaves=8,
)
_records = st.lists(st.dictionaries(_names, _json_values, min_size=1, max_size=5), min_size=1)
UPLOAD_FILES = st.one_of(
    _csv_files,
    _records.map(lambda records: json.dumps(records).encode()),
    _records.map(lambda records: "".join(json.dumps(r) + "\n" for r in records).encode()),
)

# Strings that break storage, encodings and parsers far more often than random text does: NUL
# (which Postgres text and jsonb refuse), BOM, bidi override, combining marks, astral characters,
# quoting and format characters, a path, blank, and one longer than most limits. (A lone
# surrogate is not here: schemathesis cannot encode one; the service answers 422 for it.)
NASTY_STRINGS = (
    "\x00",
    "a\x00b",
    "\ufeff",
    "\u202eabc",
    "e\u0301\u0301\u0301",
    "\U0001f600" * 64,
    "'\";--\\%s%n{0}${x}",
    "../../etc/passwd",
    " ",
    "x" * 70_000,
)
Location = tuple[str | int, ...]


def _free_text_fields(document: Mapping[str, Any]) -> dict[str, list[str]]:
    """Per operation ("POST /export"), the top-level request body fields that take any string
    (no pattern, enum or format): where a nasty string gets past validation."""
    components = document.get("components", {}).get("schemas", {})
    fields: dict[str, list[str]] = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                body = media.get("schema", {})
                if "$ref" in body:
                    body = components[body["$ref"].rsplit("/", 1)[1]]
                for name, spec in body.get("properties", {}).items():
                    if any(
                        option.get("type") == "string"
                        and not {"pattern", "enum", "const", "format"} & option.keys()
                        for option in spec.get("anyOf", [spec])
                    ):
                        fields.setdefault(f"{method.upper()} {path}", []).append(name)
    return fields


FREE_TEXT_FIELDS = _free_text_fields(DOCUMENT)


def _example_bodies(document: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Per operation, the examples its JSON body's schema documents."""
    components = document.get("components", {}).get("schemas", {})
    found: dict[str, list[Any]] = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            media = operation.get("requestBody", {}).get("content", {}).get("application/json")
            ref = (media or {}).get("schema", {}).get("$ref", "")
            if examples := components.get(ref.rsplit("/", 1)[-1], {}).get("examples"):
                found[f"{method.upper()} {path}"] = examples
    return found


EXAMPLE_BODIES = _example_bodies(DOCUMENT)


def _string_locations(value: object, at: Location = ()) -> list[Location]:
    if isinstance(value, str):
        return [at]
    if isinstance(value, dict):
        return [loc for k, v in value.items() for loc in _string_locations(v, (*at, k))]
    if isinstance(value, list):
        return [loc for i, v in enumerate(value) for loc in _string_locations(v, (*at, i))]
    return []


def _replaced(value: Any, at: Location, new: str) -> Any:
    if not at:
        return new
    head, *rest = at
    if isinstance(value, dict):
        return {**value, head: _replaced(value.get(head), tuple(rest), new)}
    items = list(value)
    items[int(head)] = _replaced(items[int(head)], tuple(rest), new)
    return items


def _nasty(label: str, body: Any) -> st.SearchStrategy[Any]:
    """`body` with a nasty string in one of its free-text fields or in place of any string."""
    free_text: list[Location] = []
    if isinstance(body, dict):
        free_text = [(name,) for name in FREE_TEXT_FIELDS.get(label, [])]
    strategies = [
        st.builds(_replaced, st.just(body), st.sampled_from(at), st.sampled_from(NASTY_STRINGS))
        for at in (free_text, _string_locations(body))
        if at
    ]
    return st.one_of(strategies)


def _with(
    case: Case[Any],
    *,
    path: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
) -> Case[Any]:
    case.path_parameters = {**(case.path_parameters or {}), **(path or {})}
    case.query = {**(case.query or {}), **(query or {})}
    return case


def _with_body(case: Case[Any], body: Any) -> Case[Any]:
    case.body = body
    return case


@schema.hook
def flatmap_case(context: HookContext, case: Case[Any]) -> st.SearchStrategy[Case[Any]]:
    """The fuzzing phase's requests: half as generated, half aimed (see the module's doc)."""
    label, path = case.operation.label, case.operation.path
    valid = case.meta is not None and case.meta.generation.mode is GenerationMode.POSITIVE
    aimed: st.SearchStrategy[Case[Any]] = st.nothing()
    if path in ("/exports/{job_id}/download", "/uploads/{upload_id}/rejects"):
        prefix, name = path.split("{")[0], path.split("{")[1].split("}")[0]
        links = [(p.split("/")[2], q) for p, q in LINKS.items() if p.startswith(prefix)]
        aimed = st.sampled_from(links).map(
            lambda link: _with(case, path={name: link[0]}, query=link[1])
        )
    elif "{job_id}" in path:
        ids = ENDED_JOB_IDS if path.endswith("/events") else JOB_IDS
        aimed = st.sampled_from(ids).map(lambda i: _with(case, path={"job_id": str(i)}))
    elif path == "/upload" and isinstance(case.body, dict):
        form = case.body
        forms = UPLOAD_FILES.map(lambda data: {**form, "file": data})
        bodies = forms | forms.flatmap(lambda body: _nasty(label, body))
        aimed = bodies.map(lambda body: _with_body(case, body))
    elif valid and case.media_type == "application/json":
        # Only into valid bodies: into an invalid one, validation refuses something else first.
        aimed = _nasty(label, case.body).map(lambda body: _with_body(case, body))
        if label in EXAMPLE_BODIES:
            # Generated bodies of POST /generate rarely pass its checks across fields: the
            # documented example does, so that a scenario has a job to follow.
            examples = st.sampled_from(EXAMPLE_BODIES[label])
            aimed |= examples.map(lambda body: _with_body(case, body))
    return st.just(case) | aimed


uncovered.hook(flatmap_case)


SETTINGS = hypothesis.settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[
        # One app (and one seeding) per operation, shared by its examples: intended.
        hypothesis.HealthCheck.function_scoped_fixture,
        # About how inputs are generated, not about the service: in CI they would only be
        # flakiness.
        hypothesis.HealthCheck.too_slow,
        hypothesis.HealthCheck.data_too_large,
    ],
)
# The operations that take a body (JSON, or the upload's form).
BODIES = sorted(
    operation["operationId"]
    for item in DOCUMENT["paths"].values()
    for operation in item.values()
    if "requestBody" in operation
)


# Of the coverage cases that vary a field type nested in an object field's `fields` or an array
# field's `of` - 54,000 of POST /generate's 58,000, every type's variations again one or two
# levels down (five minutes) - one in NESTED_SAMPLE runs: the same variations run at the top.
NESTED_SAMPLE = 40
_NESTED_SPEC = re.compile(r"/properties/(?:fields/items|of)/oneOf/")


def _nested_repeat(case: Case[Any]) -> bool:
    """Whether `case` is a coverage case varying a nested field spec, left out of the sample."""
    data = case.meta.phase.data if case.meta is not None else None
    if not isinstance(data, CoveragePhaseData):
        return False
    if data.location:
        nested = len(_NESTED_SPEC.findall(data.location)) >= 2
    else:  # a valid case: its description says which values it varies
        said = data.description or ""
        nested = said.count("valid 'fields' value") + said.count("valid 'of' value") >= 2
    seen = zlib.crc32(f"{data.description}|{data.location}".encode())
    return nested and seen % NESTED_SAMPLE != 0


@schema.include(operation_id=[b for b in BODIES if b not in SAME_BODY_AS]).parametrize()
@hypothesis.settings(SETTINGS, max_examples=BODY_EXAMPLES)
def test_request_bodies(case: Case[Any], app_under_test: None) -> None:
    if _nested_repeat(case):
        return
    case.call_and_validate(checks=[*CHECKS, problem_json])


@uncovered.include(operation_id=list(SAME_BODY_AS)).parametrize()
@hypothesis.settings(SETTINGS, max_examples=BODY_EXAMPLES)
def test_same_request_bodies(case: Case[Any], app_under_test: None) -> None:
    case.call_and_validate(checks=[*CHECKS, problem_json])


@schema.exclude(operation_id=BODIES + UNDOCUMENTED_EVENTS).parametrize()
@hypothesis.settings(SETTINGS, max_examples=PARAMETER_EXAMPLES)
def test_parameters(case: Case[Any], app_under_test: None) -> None:
    case.call_and_validate(checks=[*CHECKS, problem_json])


class Workflow(schema.exclude(operation_id="watchJobStatus").as_state_machine()):  # type: ignore[misc]
    """Scenarios that follow the document's links: POST /generate's job into GET /status,
    POST /jobs/{id}/cancel, ... (a job's event stream lasts as long as the job: left out).
    Counts the calls on a job an earlier 202 of the scenario queued, so that a run which
    followed no link fails."""

    # Calls, over the run, on a job queued earlier in their scenario.
    linked = 0
    # Puts the tables back as seeded. Each scenario starts from the same state: Hypothesis
    # replays scenarios, and one that met a job another scenario had cancelled or retried
    # would draw differently the second time (FlakyStrategyDefinition).
    reset: Callable[[], None] | None = None

    def setup(self) -> None:
        self.queued: set[str] = set()
        reset = type(self).reset
        if reset is not None:
            reset()

    def before_call(self, case: Case[Any]) -> None:
        if (case.path_parameters or {}).get("job_id") in self.queued:
            type(self).linked += 1

    def after_call(self, response: Response, case: Case[Any]) -> None:
        super().after_call(response, case)
        if response.status_code == 202:
            body = response.json()  # JobAccepted, or the retried job's JobOut
            self.queued.add(str(body.get("job_id", body.get("id"))))

    def validate_response(
        self,
        response: Response,
        case: Case[Any],
        additional_checks: list[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        case.validate_response(
            response,
            checks=[*CHECKS, problem_json],
            transport_kwargs=kwargs or None,
            recorder=self.recorder,
        )


async def _reseed(settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(DROP_PARTITIONS))
            await conn.execute(text(f"TRUNCATE {', '.join(TABLES)}"))
        await _seed(settings, create_sessionmaker(engine))
    finally:
        await engine.dispose()


def test_stateful(app_under_test: None, settings: Settings) -> None:
    Workflow.linked = 0
    Workflow.reset = lambda: asyncio.run(_reseed(settings))
    Workflow.run(
        settings=hypothesis.settings(
            SETTINGS,
            max_examples=SCENARIOS,
            stateful_step_count=STEPS,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
    )
    assert Workflow.linked > 0, "no scenario followed a link"


async def test_the_document_is_the_one_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json() == DOCUMENT
