"""Keyset cursors for newest-first lists: (created_at, id) of the last item, opaque to clients."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime

import orjson

from datatasks.core.errors import InvalidParameters


def encode_cursor(created_at: datetime, item_id: uuid.UUID) -> str:
    raw = orjson.dumps([created_at.isoformat(), str(item_id)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, item_id = orjson.loads(raw)
        if not isinstance(created_at, str) or not isinstance(item_id, str):
            raise TypeError("cursor parts must be strings")
        return datetime.fromisoformat(created_at), uuid.UUID(item_id)
    except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError):
        raise InvalidParameters(
            ["query", "cursor"], "not a cursor this service issued (use next_cursor)"
        ) from None
