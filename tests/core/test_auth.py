from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from datatasks.core.config import Settings, load_settings
from datatasks.core.errors import ConfigError
from tests.helpers import api_client

KEY = "k" * 32


@pytest.fixture
async def locked(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(settings.model_copy(update={"api_keys": [SecretStr(KEY)]})) as client:
        yield client


async def test_with_keys_set_every_route_needs_one(locked: httpx.AsyncClient) -> None:
    for method, path in (
        ("GET", "/jobs"),
        ("POST", "/generate"),
        ("GET", "/openapi.json"),
        ("GET", "/nope"),
    ):
        response = await locked.request(method, path)
        assert response.status_code == 401, path
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"].startswith("Bearer")
    wrong = await locked.get("/jobs", headers={"Authorization": "Bearer " + "x" * 32})
    assert wrong.status_code == 401
    basic = await locked.get("/jobs", headers={"Authorization": f"Basic {KEY}"})
    assert basic.status_code == 401
    right = await locked.get("/jobs", headers={"Authorization": f"Bearer {KEY}"})
    assert right.status_code == 200


async def test_health_and_signed_downloads_stay_open(locked: httpx.AsyncClient) -> None:
    assert (await locked.get("/health/live")).status_code == 200
    assert (await locked.get("/health/ready")).status_code == 200
    # Reaches the route (which checks the signature itself) rather than the key check.
    job_id = "00000000-0000-0000-0000-000000000000"
    download = await locked.get(f"/exports/{job_id}/download?expires=1&signature=" + "0" * 64)
    assert download.status_code == 403


async def test_no_keys_means_open(client: httpx.AsyncClient) -> None:
    assert (await client.get("/jobs")).status_code == 200


def test_keys_come_as_a_list_or_comma_separated_and_must_be_long(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("API_KEYS", f"{KEY}, {'z' * 20}")
    assert [k.get_secret_value() for k in load_settings().api_keys] == [KEY, "z" * 20]
    monkeypatch.setenv("API_KEYS", f'["{KEY}"]')
    assert len(load_settings().api_keys) == 1
    monkeypatch.setenv("API_KEYS", "short")
    with pytest.raises(ConfigError, match="api_keys"):
        load_settings()
    assert "k" * 32 not in repr(load_settings(api_keys=[KEY]))
