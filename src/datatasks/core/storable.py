"""What Postgres cannot store in text or jsonb, found before it reaches the database."""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

NO_NUL = "must not contain NUL characters"

Path = tuple[str | int, ...]


class StorableRequest(BaseModel):
    """A request body stored as jsonb (a job's parameters): refused, at the offending value's
    location (`body.dataset_name`), if any value would be refused by Postgres."""

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        if (found := find_unstorable(data)) is not None:
            path, message, value = found
            error = PydanticCustomError("value_error", message)
            detail = InitErrorDetails(type=error, loc=path, input=value)
            raise ValidationError.from_exception_data(cls.__name__, [detail])
        return data


def find_unstorable(value: Any) -> tuple[Path, str, Any] | None:
    """The first value Postgres would refuse - a NUL character, which text and jsonb cannot
    hold, or NaN/Infinity, which JSON cannot - as its path, why, and the value; or None.
    Python's JSON parser accepts both, so a request can carry them. Iterative: a request can
    nest deeper than Python recurses."""
    # Each entry: a value, and its path as a chain of (parent's chain, key) - built into a
    # tuple only for the value found, so a deep request does not copy its path at every level.
    stack: list[tuple[Any, tuple[Any, str | int] | None]] = [(value, None)]
    while stack:
        item, chain = stack.pop()
        problem = None
        if isinstance(item, str):
            problem = NO_NUL if "\0" in item else None
        elif isinstance(item, float):
            problem = None if math.isfinite(item) else f"{item} is not a JSON number"
        elif isinstance(item, dict):
            # Pushed last first, so that the first key (then its value) is looked at first.
            for key, child in reversed(item.items()):
                stack.append((child, (chain, key)))
                stack.append((key, (chain, key)))
        elif isinstance(item, list):
            stack.extend((item[i], (chain, i)) for i in reversed(range(len(item))))
        if problem is not None:
            path: list[str | int] = []
            while chain is not None:
                chain, key = chain
                path.append(key)
            return tuple(reversed(path)), problem, item
    return None


def unstorable(value: Any) -> str | None:
    """`find_unstorable` as one message naming the value's dotted path, or None."""
    if (found := find_unstorable(value)) is None:
        return None
    path, problem, _ = found
    return f"{'.'.join(str(p) for p in path) or 'value'}: {problem}"
