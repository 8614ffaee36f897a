"""What Postgres cannot store in text or jsonb, found before it reaches the database."""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, model_validator


class StorableRequest(BaseModel):
    """A request body stored as jsonb (a job's parameters): refused whole, with the path of
    the value, if any value would be refused by Postgres."""

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        if problem := unstorable(data):
            raise ValueError(problem)
        return data


def unstorable(value: Any, path: str = "") -> str | None:
    """A message naming the first value Postgres would refuse (a NUL character, which text and
    jsonb cannot hold, or NaN/Infinity, which JSON cannot), or None. Python's JSON parser
    accepts both, so a request can carry them."""
    where = path or "value"
    if isinstance(value, str):
        return f"{where}: NUL characters (\\u0000) are not allowed" if "\0" in value else None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{where}: {value} is not a JSON number"
    if isinstance(value, dict):
        for key, item in value.items():
            key_path = f"{path}.{key}" if path else str(key)
            if found := unstorable(key, key_path) or unstorable(item, key_path):
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if found := unstorable(item, f"{path}.{index}" if path else str(index)):
                return found
    return None
