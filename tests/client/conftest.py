"""The client commands against the real service: the e2e fixtures spawn `datatasks api` and
`datatasks worker` with the test's schema, queues and storage."""

from __future__ import annotations

import pytest

from tests.client.helpers import ready
from tests.e2e.conftest import Service, http, pg, service

__all__ = ["http", "live", "pg", "service"]


@pytest.fixture
def live(service: Service) -> Service:
    """A running API and one worker of every queue."""
    service.api()
    service.start("worker")
    ready(service)
    return service
