"""The generation request: what to make, how many, from which seed."""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from datatasks.generation.fields import FieldSpec

MAX_SEED = 2**63 - 1
RecordType = Annotated[
    str,
    Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$", examples=["user"]),
]


class GenerateRequest(BaseModel):
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
    count: int = Field(ge=1, examples=[100_000])
    seed: int | None = Field(
        default=None, ge=0, le=MAX_SEED, description="same seed, same records; random if absent"
    )
    dataset_name: str | None = Field(default=None, min_length=1, max_length=255)
    fields: list[FieldSpec] = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _unique_names(self) -> Self:
        seen: set[str] = set()
        for spec in self.fields:
            if spec.name in seen:
                raise ValueError(f"field name {spec.name!r} is used twice")
            seen.add(spec.name)
        return self


class GenerateParams(GenerateRequest):
    """What the job row stores: the request with its seed fixed, so a rerun makes the same data."""

    seed: int = Field(ge=0, le=MAX_SEED)


class FieldTypeInfo(BaseModel):
    type: str
    description: str
    options: dict[str, dict[str, Any]]
