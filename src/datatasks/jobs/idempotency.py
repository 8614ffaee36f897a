"""Idempotency-Key (draft-ietf-httpapi-idempotency-key-header) for requests that create jobs:
a repeat with the same key and payload gets the original job; a different payload is a 422."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import Header

# What a key may be: 1-255 printable ASCII characters, no spaces.
KEY_PATTERN = r"^[\x21-\x7e]+$"
KEY_MAX = 255

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=KEY_MAX,
        pattern=KEY_PATTERN,
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
