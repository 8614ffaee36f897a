"""Idempotency-Key (draft-ietf-httpapi-idempotency-key-header) for requests that create jobs:
a repeat with the same key and payload gets the original job; a different payload is a 422."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import orjson
from fastapi import Header
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from datatasks.core.errors import InvalidParameters
from datatasks.models import Job

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="repeat a request safely: the same key and payload return the original job",
    ),
]


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    key: str
    fingerprint: str

    @classmethod
    def of(cls, key: str | None, payload: Any) -> IdempotencyKey | None:
        """The key with a fingerprint of what the request asks for (JSON, keys sorted)."""
        if key is None:
            return None
        digest = hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()
        return cls(key, digest)


async def original(session: AsyncSession, key: IdempotencyKey, *, ttl_s: int) -> Job | None:
    """The job an earlier request with this key created within the key's lifetime."""
    since = datetime.now(UTC) - timedelta(seconds=ttl_s)
    job = await session.scalar(
        select(Job).where(Job.idempotency_key == key.key, Job.created_at > since)
    )
    if job is not None and job.idempotency_fingerprint != key.fingerprint:
        raise InvalidParameters(
            ["header", "Idempotency-Key"],
            "this key was already used with a different payload",
            kind="idempotency_key_reused",
        )
    return job


async def release_expired(session: AsyncSession, key: IdempotencyKey, *, ttl_s: int) -> None:
    """Free the key from a job old enough that the key has expired (only such a job: a fresh
    one may have been committed by a concurrent request since `original` looked)."""
    since = datetime.now(UTC) - timedelta(seconds=ttl_s)
    await session.execute(
        update(Job)
        .where(Job.idempotency_key == key.key, Job.created_at <= since)
        .values(idempotency_key=None)
    )
