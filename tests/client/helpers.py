"""Running the client commands against a spawned service."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx
from typer.testing import CliRunner, Result

from datatasks.cli import app
from tests.e2e.conftest import Service


def ready(service: Service, timeout: float = 30) -> None:
    """Wait until the spawned API answers /health/ready."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=5) as client:
        while True:
            try:
                if client.get(f"{service.url}/health/ready").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the API did not become ready"
            time.sleep(0.1)


def cli(
    service: Service,
    *args: str,
    env: Mapping[str, str | None] | None = None,
    stdin: str | None = None,
) -> Result:
    """`datatasks --url <the service> ARGS`, in this process; no API key unless `env` has one."""
    return CliRunner().invoke(
        app,
        ["--url", service.url, *args],
        env={"DATATASKS_API_KEY": None, "DATATASKS_URL": None, **(env or {})},
        input=stdin,
        catch_exceptions=False,
    )


def get(service: Service, path: str) -> Any:
    """A GET on the service, its JSON body."""
    response = httpx.get(f"{service.url}{path}", timeout=10)
    response.raise_for_status()
    return response.json()


def post(service: Service, path: str, body: Mapping[str, Any]) -> Any:
    response = httpx.post(f"{service.url}{path}", json=body, timeout=10)
    assert response.status_code == 202, response.text
    return response.json()


def until(service: Service, job_id: str, statuses: tuple[str, ...] = ("completed",)) -> Any:
    """Poll the job until it reaches one of `statuses` (this test's own wait, not the CLI's)."""
    deadline = time.monotonic() + 60
    while True:
        status = get(service, f"/status/{job_id}")
        if status["status"] in statuses:
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.1)
