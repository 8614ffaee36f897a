"""Validation rules and the catalogue of generation field types."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError

from datatasks.generation.fields import (
    FIELD_SPEC_ADAPTER,
    TYPE_NAMES,
    DatetimeField,
    EnumField,
    FloatField,
    IntegerField,
    Quantiles,
    StringField,
    catalogue,
    parse_field,
)
from datatasks.generation.schemas import GenerateRequest

# The core types, which the catalogue lists first; standalone.py's follow (tested there).
CORE_TYPES = [
    "uuid", "integer", "float", "boolean", "enum", "sequence", "constant", "string",
    "first_name", "last_name", "full_name", "gender", "username", "email", "phone", "company",
    "company_domain", "work_email", "street_address", "city", "region", "postcode", "country",
    "country_code", "latitude", "longitude", "timezone", "date", "datetime", "ip_address", "url",
    "sentence", "paragraph", "template", "reference", "object", "array",
]  # fmt: skip
ALL_TYPES = list(TYPE_NAMES)

# The only options without defaults.
REQUIRED_OPTIONS: dict[str, dict[str, Any]] = {
    "enum": {"values": ["a", "b"]},
    "constant": {"value": "x"},
    "template": {"template": "{a}"},
    "reference": {"dataset_id": "00000000-0000-0000-0000-000000000001", "field": "id"},
    "object": {"fields": [{"name": "a", "type": "integer"}]},
    "array": {"of": {"name": "a", "type": "integer"}},
}


def minimal(type_name: str, **options: Any) -> dict[str, Any]:
    return {"name": "f", "type": type_name, **REQUIRED_OPTIONS.get(type_name, {}), **options}


@pytest.mark.parametrize("type_name", ALL_TYPES)
def test_every_type_validates_with_defaults(type_name: str) -> None:
    spec = parse_field(minimal(type_name))
    assert spec.type == type_name
    assert spec.name == "f"
    assert spec.null_rate == 0.0


def test_json_input_is_accepted() -> None:
    spec = FIELD_SPEC_ADAPTER.validate_json(b'{"name": "age", "type": "integer", "max": 99}')
    assert isinstance(spec, IntegerField)
    assert (spec.min, spec.max) == (0, 99)


def test_integer_accepts_full_int64_range() -> None:
    spec = parse_field(minimal("integer", min=-(2**63), max=2**63 - 1))
    assert isinstance(spec, IntegerField)


def test_enum_keeps_scalar_types() -> None:
    spec = parse_field(minimal("enum", values=["a", 1, 2.5, True], weights=[1, 0, 0, 2]))
    assert isinstance(spec, EnumField)
    assert [type(v) for v in spec.values] == [str, int, float, bool]


def test_naive_datetimes_are_utc_and_aware_ones_converted() -> None:
    spec = parse_field(
        minimal("datetime", start="2020-01-01T00:00:00", end="2020-01-01T12:00:00+05:00")
    )
    assert isinstance(spec, DatetimeField)
    assert spec.start == dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    assert spec.end == dt.datetime(2020, 1, 1, 7, tzinfo=dt.UTC)
    assert spec.end.utcoffset() == dt.timedelta(0)


def test_string_accepts_unicode_alphabet() -> None:
    spec = parse_field(minimal("string", alphabet="äöü😀", min_length=0, max_length=0))
    assert isinstance(spec, StringField)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(minimal("integer", min=5, max=4), id="integer-min-gt-max"),
        pytest.param(minimal("integer", max=2**63), id="integer-over-int64"),
        pytest.param(minimal("float", min=1.0, max=0.5), id="float-min-gt-max"),
        pytest.param(minimal("float", max=float("inf")), id="float-infinite"),
        pytest.param(minimal("float", max=float("nan")), id="float-nan"),
        pytest.param(minimal("float", min=-1e308, max=1e308), id="float-span-overflows"),
        pytest.param(minimal("float", decimals=16), id="float-decimals-too-many"),
        pytest.param(minimal("float", decimals=-1), id="float-decimals-negative"),
        pytest.param(minimal("boolean", probability=1.5), id="boolean-probability"),
        pytest.param(minimal("enum", values=[]), id="enum-empty"),
        pytest.param(minimal("enum", values=list(range(1001))), id="enum-too-many"),
        pytest.param(minimal("enum", values=[[1]]), id="enum-non-scalar"),
        pytest.param(minimal("enum", values=[None]), id="enum-null"),
        pytest.param(minimal("enum", values=["a", "b"], weights=[1]), id="weights-length"),
        pytest.param(minimal("enum", values=["a"], weights=[-1]), id="weights-negative"),
        pytest.param(minimal("enum", values=["a", "b"], weights=[0, 0]), id="weights-zero-sum"),
        pytest.param(minimal("enum", values=["\ud800"]), id="enum-lone-surrogate"),
        pytest.param(
            minimal("enum", values=["a", "b"], weights=[1e308, 1e308]), id="weights-sum-inf"
        ),
        pytest.param({"name": "f", "type": "enum"}, id="enum-values-missing"),
        pytest.param({"name": "f", "type": "constant"}, id="constant-value-missing"),
        pytest.param(minimal("constant", value=2**70), id="constant-int-too-big"),
        pytest.param(minimal("constant", value="x" * 20_000), id="constant-too-big"),
        pytest.param(minimal("sequence", step=2**63), id="sequence-step-over-int64"),
        pytest.param(minimal("string", min_length=5, max_length=4), id="string-min-gt-max"),
        pytest.param(minimal("string", max_length=1001), id="string-too-long"),
        pytest.param(minimal("string", alphabet=""), id="alphabet-empty"),
        pytest.param(minimal("string", alphabet="abca"), id="alphabet-duplicates"),
        pytest.param(minimal("string", alphabet="x" * 257), id="alphabet-too-long"),
        pytest.param(minimal("string", alphabet="a\udc00"), id="alphabet-surrogate"),
        pytest.param(minimal("date", start="2020-01-02", end="2020-01-01"), id="date-order"),
        pytest.param(minimal("date", start="yesterday"), id="date-garbage"),
        pytest.param(
            minimal("datetime", start="2020-01-01T00:00:01Z", end="2020-01-01T00:00:00Z"),
            id="datetime-order",
        ),
        pytest.param(minimal("ip_address", version=5), id="ip-version"),
        pytest.param(minimal("sentence", min_words=0), id="sentence-min-words"),
        pytest.param(minimal("sentence", min_words=9, max_words=8), id="sentence-order"),
        pytest.param(minimal("sentence", max_words=201), id="sentence-too-long"),
        pytest.param(minimal("paragraph", max_sentences=51), id="paragraph-too-long"),
        pytest.param(minimal("paragraph", min_sentences=4, max_sentences=3), id="para-order"),
        pytest.param(minimal("uuid", version=4), id="unknown-option-forbidden"),
        pytest.param(minimal("integer", minimum=1), id="misspelt-option-forbidden"),
        pytest.param({"name": "f", "type": "colour"}, id="unknown-type"),
        pytest.param({"name": "f"}, id="type-missing"),
        pytest.param(minimal("uuid", null_rate=-0.1), id="null-rate-negative"),
        pytest.param(minimal("uuid", null_rate=1.01), id="null-rate-over-one"),
        pytest.param({"name": "", "type": "uuid"}, id="name-empty"),
        pytest.param({"name": "1abc", "type": "uuid"}, id="name-leading-digit"),
        pytest.param({"name": "a-b", "type": "uuid"}, id="name-hyphen"),
        pytest.param({"name": "a" * 65, "type": "uuid"}, id="name-too-long"),
        pytest.param({"type": "uuid"}, id="name-missing"),
    ],
)
def test_invalid_specs_are_rejected(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        parse_field(data)


def test_unknown_option_error_says_extra_forbidden() -> None:
    with pytest.raises(ValidationError) as info:
        parse_field(minimal("integer", minimum=1))
    assert [e["type"] for e in info.value.errors()] == ["extra_forbidden"]


def test_unknown_type_error_names_the_discriminator() -> None:
    with pytest.raises(ValidationError) as info:
        parse_field({"name": "f", "type": "colour"})
    assert info.value.errors()[0]["type"] == "union_tag_invalid"


def test_catalogue_lists_every_type_in_order() -> None:
    entries = catalogue()
    assert [e["type"] for e in entries] == ALL_TYPES
    assert ALL_TYPES[: len(CORE_TYPES)] == CORE_TYPES
    assert len(ALL_TYPES) >= 60
    assert len(set(ALL_TYPES)) == len(ALL_TYPES)
    for entry in entries:
        assert set(entry) == {"type", "description", "options"}
        assert entry["description"]
        assert "\n" not in entry["description"]
        assert "name" not in entry["options"]
        assert "type" not in entry["options"]
        assert entry["options"]["null_rate"] == {
            "type": "number",
            "default": 0.0,
            "minimum": 0.0,
            "maximum": 1.0,
            "description": "Share of nulls.",
        }
        for option in entry["options"].values():
            assert {"type", "enum", "anyOf", "oneOf"} & option.keys()
            assert "title" not in option


def test_catalogue_option_details() -> None:
    options = {e["type"]: e["options"] for e in catalogue()}
    assert options["uuid"].keys() == {"null_rate", "unique"}
    distributions = options["integer"]["distribution"]["anyOf"][0]["oneOf"]
    assert [d["properties"]["type"]["const"] for d in distributions] == [
        "uniform",
        "normal",
        "lognormal",
        "exponential",
        "poisson",
        "zipf",
        "quantiles",
    ]
    assert options["object"]["fields"]["items"] == {
        "type": "object",
        "description": "a field definition",
    }
    assert options["first_name"]["locale"]["enum"][0] == "en-US"
    assert options["integer"]["max"]["default"] == 1_000_000
    assert options["integer"]["min"]["minimum"] == -(2**63)
    assert options["float"]["decimals"] == {
        "type": "integer",
        "default": 2,
        "minimum": 0,
        "maximum": 15,
    }
    assert options["enum"]["values"]["required"] is True
    assert options["enum"]["values"]["type"] == "array"
    assert options["enum"]["weights"]["type"] == ["array", "null"]
    assert options["enum"]["weights"]["default"] is None
    assert options["constant"]["value"]["required"] is True
    assert "null" in options["constant"]["value"]["type"]
    assert options["string"]["alphabet"]["maxLength"] == 256
    assert options["date"]["start"]["default"] == "1970-01-01"
    assert options["datetime"]["end"]["default"] == "2030-12-31T23:59:59Z"
    assert options["ip_address"]["version"]["enum"] == [4, 6]
    assert options["ip_address"]["version"]["default"] == 4
    assert options["paragraph"]["max_sentences"]["maximum"] == 50


def test_catalogue_is_json_serialisable() -> None:
    import json

    assert json.loads(json.dumps(catalogue())) == catalogue()


QUANTILE_POINTS = [[0.0, 18], [0.25, 30], [0.5, 41], [1.0, 90]]


def quantiles(points: list[list[float]]) -> dict[str, Any]:
    return {"type": "quantiles", "p": [p for p, _ in points], "values": [v for _, v in points]}


@pytest.mark.parametrize("kind", ["integer", "float"])
def test_quantiles_distribution_is_accepted(kind: str) -> None:
    spec = parse_field(minimal(kind, min=0, max=100, distribution=quantiles(QUANTILE_POINTS)))
    assert isinstance(spec, IntegerField | FloatField)
    assert isinstance(spec.distribution, Quantiles)
    assert spec.distribution.p == [0.0, 0.25, 0.5, 1.0]
    assert spec.distribution.values == [18.0, 30.0, 41.0, 90.0]
    # Flat stretches (a value many records share) are allowed: values need only not decrease.
    flat = quantiles([[0, 5], [0.4, 5], [0.9, 5], [1, 7]])
    assert parse_field(minimal(kind, distribution=flat)).type == kind


@pytest.mark.parametrize(
    ("distribution", "message"),
    [
        pytest.param(quantiles([[0.1, 1], [1, 2]]), "the first p must be 0", id="no-p0"),
        pytest.param(quantiles([[0, 1], [0.9, 2]]), "the last 1, got 0.0 and 0.9", id="no-p1"),
        pytest.param(
            quantiles([[0, 1], [0.5, 2], [0.5, 3], [1, 4]]), "p must strictly increase", id="p-tie"
        ),
        pytest.param(
            quantiles([[0, 1], [0.6, 2], [0.4, 3], [1, 4]]), "p[2] is 0.4 after 0.6", id="p-down"
        ),
        pytest.param(
            quantiles([[0, 5], [0.5, 4], [1, 6]]),
            "values must not decrease: values[1]",
            id="v-down",
        ),
        pytest.param(
            quantiles([[0, -1e308], [1, 1e308]]), "must be a finite number", id="span-overflows"
        ),
        pytest.param(quantiles([[0, 1], [1.5, 2]]), "the last 1, got 0.0 and 1.5", id="p-over"),
        pytest.param(quantiles([[0, 1], [1, float("inf")]]), "finite number", id="value-infinite"),
        pytest.param(quantiles([[0, 1]]), "at least 2 items", id="one-point"),
        pytest.param(
            {"type": "quantiles", "p": [0, 0.5, 1], "values": [1, 2]}, "as long", id="lengths"
        ),
    ],
)
def test_bad_quantiles_are_refused_with_a_clear_message(
    distribution: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError) as info:
        parse_field(minimal("integer", distribution=distribution))
    errors = info.value.errors()
    assert all(e["loc"][:3] == ("integer", "distribution", "quantiles") for e in errors)
    assert any(message in e["msg"] for e in errors)


def test_a_request_reports_bad_quantiles_at_the_option() -> None:
    field = minimal("float", distribution=quantiles([[0, 2], [1, 1]]))
    with pytest.raises(ValidationError) as info:
        GenerateRequest.model_validate({"record_type": "x", "count": 1, "fields": [field]})
    (error,) = info.value.errors()
    assert error["loc"] == ("fields", 0, "float", "distribution", "quantiles")
    assert error["msg"] == "Value error, values must not decrease: values[1] is 1.0 after 2.0"


def test_quantiles_and_unique_do_not_mix() -> None:
    distribution = quantiles(QUANTILE_POINTS)
    with pytest.raises(ValidationError, match="drop distribution"):
        parse_field(minimal("integer", unique=True, distribution=distribution))
