"""One example value per field type, made by the generator itself, for GET /generate/types."""

from __future__ import annotations

import uuid
from typing import Any, Final

import orjson

from datatasks.generation.fields import TYPE_NAMES, ReferenceField, parse_field
from datatasks.generation.generator import Source, generate_json_rows

_SEED: Final = 20_261_201
# Options for the types that have required ones, and the fields a derived type reads.
_OPTIONS: Final[dict[str, dict[str, Any]]] = {
    "enum": {"values": ["free", "pro", "team"]},
    "constant": {"value": "v1"},
    "template": {"template": "{first_name|ascii|lower}@acme.test"},
    "reference": {"dataset_id": str(uuid.UUID(int=1)), "field": "id"},
    "object": {
        "fields": [{"name": "city", "type": "city"}, {"name": "postcode", "type": "postcode"}]
    },
    "array": {"of": {"name": "tag", "type": "slug"}, "min_items": 2, "max_items": 3},
    "date": {"after": "signed_up", "max_gap_days": 30},
}
_SIBLINGS: Final[dict[str, list[dict[str, Any]]]] = {
    "template": [{"name": "first_name", "type": "first_name"}],
    "date": [{"name": "signed_up", "type": "date"}],
}
_REFERENCED: Final = ["b3a7f2c4-5d1e-4c8a-9f60-2e4d8c1b7a90"]


def example(type_name: str) -> Any:
    """A value of the type, with the options in _OPTIONS (defaults otherwise)."""
    spec = parse_field({"name": "value", "type": type_name, **_OPTIONS.get(type_name, {})})
    fields = [*(parse_field(s) for s in _SIBLINGS.get(type_name, [])), spec]
    sources = {}
    if isinstance(spec, ReferenceField):
        sources["value"] = Source.of(spec, _REFERENCED)
    (row,) = generate_json_rows(fields, _SEED, 0, 1, sources=sources)
    return orjson.loads(row)["value"]


def examples() -> dict[str, Any]:
    return {name: example(name) for name in TYPE_NAMES}
