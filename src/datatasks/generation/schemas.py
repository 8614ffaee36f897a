"""The generation request: what to make, how many, from which seed."""

from __future__ import annotations

import uuid
from typing import Any, NoReturn, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from datatasks.core.config import Settings
from datatasks.core.storable import StorableRequest
from datatasks.generation.base import INT64_MAX, INT64_MIN
from datatasks.generation.fields import (
    ArrayField,
    DateField,
    DatetimeField,
    FieldSpec,
    IntegerField,
    ObjectField,
    ReferenceField,
    SequenceField,
    StringField,
    TemplateField,
    _Described,
)
from datatasks.generation.generator import DependencyCycle, dependencies, evaluation_order
from datatasks.generation.locales import DEFAULT_LOCALE, Locale
from datatasks.generation.sizing import MAX_RECORD_BYTES, record_bytes
from datatasks.models.dataset import RecordType
from datatasks.webhooks.targets import CallbackUrl

MAX_SEED = 2**63 - 1
# GENERATE_MAX_COUNT's default: records per job.
DEFAULT_MAX_COUNT: int = Settings.model_fields["generate_max_count"].default


class Like(BaseModel):
    """A dataset to imitate: the same fields, null rates, category frequencies, numeric
    distributions and date ranges, with fake values for personal fields. No value of it is
    copied unless it is a category seen at least 5 times and not personal."""

    model_config = ConfigDict(extra="forbid")
    dataset_id: uuid.UUID


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
    # The upper bound is a setting, so the route checks it; the schema shows the default, and
    # the served document this service's own (core/openapi.py).
    count: StrictInt = Field(
        ge=1,
        examples=[100_000],
        json_schema_extra={"maximum": DEFAULT_MAX_COUNT},
        description="records to make: at most the service's GENERATE_MAX_COUNT "
        f"({DEFAULT_MAX_COUNT:,} unless configured otherwise)",
    )
    seed: StrictInt | None = Field(
        default=None, ge=0, le=MAX_SEED, description="same seed, same records; random if absent"
    )
    dataset_name: str | None = Field(default=None, min_length=1, max_length=255)
    locale: Locale = Field(
        default=DEFAULT_LOCALE, description="language and country of names, addresses, phones"
    )
    fields: list[FieldSpec] = Field(
        default_factory=list,
        max_length=200,
        description="1 to 200 fields; or none, with `like`",
    )
    like: Like | None = Field(
        default=None,
        description="instead of `fields`: records shaped like an existing dataset's (its "
        "profile's generate_fields)",
    )
    callback_url: CallbackUrl | None = None

    @model_validator(mode="after")
    def _fields_or_like(self) -> Self:
        if self.like is None and not self.fields:
            _refuse(("fields",), "List should have at least 1 item after validation, not 0", [])
        if self.like is not None and self.fields:
            _refuse(("like",), "give fields or like, not both", self.like.model_dump(mode="json"))
        return self

    @field_validator("fields")
    @classmethod
    def _check_fields(cls, fields: list[FieldSpec], info: ValidationInfo) -> list[FieldSpec]:
        count = info.data.get("count")  # absent when count itself was invalid
        _check_level(fields, [(i, spec.type) for i, spec in enumerate(fields)], count, count)
        if (values := values_per_record(fields)) > MAX_VALUES_PER_RECORD:
            raise ValueError(
                f"a record of these fields can hold {values} values (array items count once"
                f" each); the limit is {MAX_VALUES_PER_RECORD} (fewer or shorter arrays)"
            )
        size = record_bytes(fields, info.data.get("locale", DEFAULT_LOCALE))
        if size > MAX_RECORD_BYTES:
            raise ValueError(
                f"a record of these fields can take {size} bytes; the limit is {MAX_RECORD_BYTES}"
                " (fewer or shorter fields)"
            )
        return fields


Loc = tuple[str | int, ...]


def _refuse(loc: Loc, message: str, value: Any) -> NoReturn:
    """A 422 at loc (below body.fields), as pydantic reports an option's own error."""
    error = PydanticCustomError("value_error", "{reason}", {"reason": message})
    detail = InitErrorDetails(type=error, loc=loc, input=value)
    raise ValidationError.from_exception_data("GenerateRequest", [detail])


def unique_space(spec: FieldSpec) -> tuple[str, int] | None:
    """The option that bounds a unique field and how many distinct values it allows (None:
    not unique, or unbounded)."""
    if not spec.__dict__.get("unique", False):
        return None
    if isinstance(spec, IntegerField) and spec.unique:
        return "max", spec.max - spec.min + 1
    if isinstance(spec, StringField) and spec.unique:
        return "max_length", int(len(spec.alphabet) ** spec.max_length)
    return None


# Values (array items included) one record may hold: each costs a Python object while a
# block is made, many times its JSON bytes.
MAX_VALUES_PER_RECORD = 2_000


def values_per_record(fields: list[FieldSpec]) -> int:
    total = 0
    for spec in fields:
        if isinstance(spec, ObjectField):
            total += 1 + values_per_record(spec.fields)
        elif isinstance(spec, ArrayField):
            total += 1 + spec.max_items * values_per_record([spec.of])
        else:
            total += 1
    return total


def _check_level(
    fields: list[FieldSpec], locs: list[Loc], count: int | None, slots: int | None
) -> None:
    """The checks that need more than one field: names, what derived fields read, the locale
    of each entity, uniqueness against count (None inside nested values, which repeat per
    record). slots: how many values each field here takes over the dataset (a sequence's
    index runs over them: count, times the max_items of each enclosing array)."""
    nested = count is None
    any_reads = False
    locales: dict[tuple[str, str | None], str] = {}
    by_name: dict[str, int] = {}
    for index, (spec, at) in enumerate(zip(fields, locs, strict=True)):
        if spec.name in by_name:
            message = f"fields {by_name[spec.name]} and {index} are both named {spec.name!r}"
            _refuse((*at, "name"), message, spec.name)
        by_name[spec.name] = index
    for spec, at in zip(fields, locs, strict=True):
        kind = type(spec)
        values = spec.__dict__  # a model's field values: cheaper than a getattr that misses
        if nested and kind is ReferenceField:
            _refuse(at, "a reference cannot be nested; put it at the top level", values["field"])
        if nested and values.get("unique", False):
            _refuse((*at, "unique"), "a nested field cannot be unique", True)
        if values.get("locale") and isinstance(spec, _Described) and spec.locale is not None:
            entity = (spec.group, spec.entity)
            if locales.setdefault(entity, spec.locale) != spec.locale:
                message = (
                    f"the {spec.group} {spec.entity or '(default)'} is already in locale"
                    f" {locales[entity]!r}: fields of one entity share a locale"
                )
                _refuse((*at, "locale"), message, spec.locale)
        if kind is TemplateField or values.get("after") is not None:
            any_reads = True
            option = "template" if kind is TemplateField else "after"
            for name in dependencies(spec):
                if name not in by_name:
                    _refuse((*at, option), f"reads {name!r}, which is not a field here", name)
                base = fields[by_name[name]]
                if option == "after" and not isinstance(base, DateField | DatetimeField):
                    message = (
                        f"comes after {name!r}, which is a {base.type}, not a date or datetime"
                    )
                    _refuse((*at, option), message, name)
        if count is not None and (bound := unique_space(spec)) is not None and bound[1] < count:
            message = (
                f"unique values for {count} records need a wider range: this one holds"
                f" only {bound[1]} distinct values"
            )
            _refuse((*at, bound[0]), message, values[bound[0]])
        # A sequence's last value must fit a 64-bit integer (the generator's and most JSON
        # parsers' limit): a job bound to fail is refused now rather than retried later.
        if kind is SequenceField and slots is not None:
            last = values["start"] + values["step"] * (slots - 1)
            if not INT64_MIN <= last <= INT64_MAX:
                message = (
                    f"the last value, start + step * ({slots} - 1) = {last}, is outside the"
                    " 64-bit integer range"
                    + ("" if slots == count else " (inside an array, every item slot counts)")
                )
                _refuse((*at, "step"), message, values["step"])
        if isinstance(spec, ObjectField):
            inner = [(*at, "fields", i, f.type) for i, f in enumerate(spec.fields)]
            _check_level(spec.fields, inner, None, slots)
        elif isinstance(spec, ArrayField):
            if dependencies(spec.of):
                _refuse((*at, "of"), "array items cannot read other fields", spec.of.name)
            items = None if slots is None else slots * spec.max_items
            _check_level([spec.of], [(*at, "of", spec.of.type)], None, items)
    if not any_reads:
        return  # nothing reads another field: there can be no cycle
    try:
        evaluation_order(fields)
    except DependencyCycle as cycle:
        first = fields[by_name[cycle.names[0]]]
        option = "template" if isinstance(first, TemplateField) else "after"
        _refuse((*locs[by_name[first.name]], option), str(cycle), first.name)


class GenerateParams(GenerateRequest):
    """What the job row stores: the request with its seed fixed, so a rerun makes the same data."""

    seed: int = Field(ge=0, le=MAX_SEED)


class FieldTypeInfo(BaseModel):
    type: str
    description: str
    options: dict[str, dict[str, Any]]
    example: JsonValue = Field(description="a value of this type, made by the generator")
