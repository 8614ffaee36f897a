"""Bad input, tried systematically: schemathesis against the service's own OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
from schemathesis import Case, CheckContext, Response, checks
from schemathesis.python import asgi
from starlette.types import Receive, Scope, Send

from datatasks.app import create_app
from datatasks.core.config import Environment, Settings, load_settings
from datatasks.core.problems import PROBLEM_JSON


class AppUnderTest:
    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None
        await self.app(scope, receive, send)


APP = AppUnderTest()
DOCUMENT = create_app(load_settings(app_env=Environment.test)).openapi()
schema = schemathesis.openapi.from_dict(DOCUMENT)
schema.app = APP


def problem_json(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    if response.status_code < 400:
        return None
    ctype = response.headers.get("content-type", [""])[0]
    assert ctype.split(";")[0].strip() == PROBLEM_JSON, f"error with Content-Type {ctype!r}"
    body = response.json()
    assert isinstance(body, dict)
    missing = {"type", "title", "status", "detail"} - set(body)
    assert not missing, f"problem body lacks {sorted(missing)}"
    return None


@pytest.fixture
def app_under_test(settings: Settings) -> Iterator[None]:
    APP.app = create_app(settings)
    yield
    asgi.shutdown_lifespans()


@schema.parametrize()
@hypothesis.settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_api(case: Case, app_under_test: None) -> None:
    case.call_and_validate(
        checks=[
            checks.not_a_server_error,
            checks.status_code_conformance,
            checks.content_type_conformance,
            checks.response_headers_conformance,
            checks.response_schema_conformance,
            problem_json,
        ]
    )
