"""The generation request: what to make, how many, from which seed."""

from __future__ import annotations

from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationInfo,
    field_validator,
)

from datatasks.core.storable import StorableRequest
from datatasks.generation.fields import INT64_MAX, INT64_MIN, FieldSpec, SequenceField
from datatasks.generation.sizing import MAX_RECORD_BYTES, record_bytes
from datatasks.models.dataset import RecordType

MAX_SEED = 2**63 - 1


class GenerateRequest(StorableRequest):
    """A synthetic dataset: `count` records of `record_type`, each with `fields`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "record_type": "user",
                    "count": 100_000,
                    "seed": 42,
                    "dataset_name": "demo",
                    "fields": [
                        {"name": "id", "type": "uuid"},
                        {"name": "email", "type": "email"},
                        {"name": "age", "type": "integer", "min": 18, "max": 90},
                        {
                            "name": "plan",
                            "type": "enum",
                            "values": ["free", "pro"],
                            "weights": [0.8, 0.2],
                        },
                        {"name": "signed_up", "type": "datetime", "null_rate": 0.1},
                    ],
                }
            ]
        },
    )

    record_type: RecordType
    # The configurable upper bound is checked by the route (it comes from settings).
    count: StrictInt = Field(ge=1, examples=[100_000])
    seed: StrictInt | None = Field(
        default=None, ge=0, le=MAX_SEED, description="same seed, same records; random if absent"
    )
    dataset_name: str | None = Field(default=None, min_length=1, max_length=255)
    fields: list[FieldSpec] = Field(min_length=1, max_length=200)

    @field_validator("fields")
    @classmethod
    def _check_fields(cls, fields: list[FieldSpec], info: ValidationInfo) -> list[FieldSpec]:
        seen: dict[str, int] = {}
        for index, spec in enumerate(fields):
            if spec.name in seen:
                raise ValueError(
                    f"fields {seen[spec.name]} and {index} are both named {spec.name!r}"
                )
            seen[spec.name] = index
        size = record_bytes(fields)
        if size > MAX_RECORD_BYTES:
            raise ValueError(
                f"a record of these fields can take {size} bytes; the limit is {MAX_RECORD_BYTES}"
                " (fewer or shorter fields)"
            )
        count = info.data.get("count")  # absent when count itself was invalid
        for index, spec in enumerate(fields):
            # A sequence's last value must fit a 64-bit integer (the generator's and most JSON
            # parsers' limit): a job bound to fail is refused now rather than retried later.
            if isinstance(spec, SequenceField) and count is not None:
                last = spec.start + spec.step * (count - 1)
                if not INT64_MIN <= last <= INT64_MAX:
                    raise ValueError(
                        f"field {index} ({spec.name!r}): its last value, start + step * "
                        f"(count - 1) = {last}, is outside the 64-bit integer range"
                    )
        return fields


class GenerateParams(GenerateRequest):
    """What the job row stores: the request with its seed fixed, so a rerun makes the same data."""

    seed: int = Field(ge=0, le=MAX_SEED)


class FieldTypeInfo(BaseModel):
    type: str
    description: str
    options: dict[str, dict[str, Any]]
