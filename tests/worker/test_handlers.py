from __future__ import annotations

from datatasks.core.config import QueueName
from datatasks.jobs.writer import QUEUE_OF
from datatasks.worker.handlers import HANDLERS


def test_every_job_queue_has_its_handler() -> None:
    # `datatasks worker --queues` accepts any queue name: each queue of jobs must have a
    # handler, and the one that is not (webhooks) has its own processor.
    assert set(HANDLERS) == set(QUEUE_OF.values())
    assert set(QueueName) - set(HANDLERS) == {QueueName.webhooks}
