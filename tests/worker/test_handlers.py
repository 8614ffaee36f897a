from __future__ import annotations

from datatasks.core.config import QueueName
from datatasks.worker.handlers import HANDLERS


def test_every_queue_has_its_handler() -> None:
    # `datatasks worker --queues` accepts any queue name: each must have a handler.
    assert set(HANDLERS) == set(QueueName)
