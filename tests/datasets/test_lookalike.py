"""Lookalike fields: valid requests, the source's shape within tolerances, and no source value
in the generated data but common, non-personal categories."""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from typing import Any

import pytest

from datatasks.datasets.lookalike import lookalike_fields
from datatasks.datasets.profile import MIN_COUNT, DatasetProfile, FieldProfile, profile_rows
from datatasks.generation.fields import parse_field
from datatasks.generation.generator import generate_json_rows
from datatasks.generation.schemas import GenerateRequest

COUNT = 20_000
# What the generated data must keep of the source's shape.
NULL_RATE_TOLERANCE = 0.02
CATEGORY_TOLERANCE = 0.03  # of a category's share of the non-null values
QUANTILE_TOLERANCE = 0.05  # of the field's range, at p10, p50 and p90
TRUE_RATE_TOLERANCE = 0.02


def source_rows(count: int = COUNT, seed: int = 3) -> list[dict[str, Any]]:
    """Records as a CSV upload stores them (text or null), with every kind of field."""
    r = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for i in range(count):
        plan = r.choices(["free", "pro", "team", "enterprise"], [50, 30, 15, 5])[0]
        if i % 1000 == 0:
            plan = f"legacy-{i}"  # each seen once: never generated
        rows.append(
            {
                "id": str(uuid.UUID(int=r.getrandbits(128), version=4)),
                "age": None if r.random() < 0.1 else str(min(90, max(18, round(r.gauss(40, 12))))),
                "income": f"{r.lognormvariate(10, 0.6):.2f}",
                "plan": None if r.random() < 0.05 else plan,
                "rating": str(r.choices([1, 2, 3, 4, 5], [5, 10, 20, 40, 25])[0]),
                "active": "true" if r.random() < 0.7 else "false",
                "signed_up": (
                    dt.date(2019, 6, 1) + dt.timedelta(days=r.randint(0, 900))
                ).isoformat(),
                "last_seen": (
                    dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
                    + dt.timedelta(seconds=r.randint(0, 9**8))
                )
                .isoformat()
                .replace("+00:00", "Z"),
                "email": f"zq{i}.member@mail.invalid",
                "phone": None if r.random() < 0.3 else f"+44 20 7946 {i % 10_000:04d}",
                "first_name": f"Zorblax{i % 300}",
                "last_name": f"Quintavius{i % 500}",
                "city": f"Qqville{i % 40}",
                "zip": f"Q{r.randint(10_000, 99_999)}",
                "ip": f"198.51.100.{i % 256}",
                "note": " ".join(f"zz{r.randint(0, 99)}" for _ in range(r.randint(3, 12))),
            }
        )
    return rows


@pytest.fixture(scope="module")
def source() -> list[dict[str, Any]]:
    return source_rows()


@pytest.fixture(scope="module")
def profile(source: list[dict[str, Any]]) -> DatasetProfile:
    return profile_rows(source, fields=list(source[0]), types={}, total_rows=len(source))


def generate(
    specs: list[dict[str, Any]], count: int = COUNT, seed: int = 42
) -> list[dict[str, Any]]:
    request = GenerateRequest.model_validate(
        {"record_type": "lookalike", "count": count, "seed": seed, "fields": specs}
    )
    rows = generate_json_rows(request.fields, seed, 0, count, count=count)
    return [json.loads(row) for row in rows]


@pytest.fixture(scope="module")
def lookalike(profile: DatasetProfile) -> list[dict[str, Any]]:
    return generate(profile.generate_fields)


@pytest.fixture(scope="module")
def lookalike_profile(profile: DatasetProfile, lookalike: list[dict[str, Any]]) -> DatasetProfile:
    # Profiled as a generated dataset is: its schema's types are the generation types.
    types = {spec["name"]: spec["type"] for spec in profile.generate_fields}
    return profile_rows(lookalike, fields=list(types), types=types, total_rows=len(lookalike))


def by_name(profile: DatasetProfile) -> dict[str, FieldProfile]:
    return {f.name: f for f in profile.fields}


def test_the_fields_are_a_valid_request_with_the_same_names(profile: DatasetProfile) -> None:
    assert profile.generate_fields == lookalike_fields(profile)
    assert [s["name"] for s in profile.generate_fields] == [f.name for f in profile.fields]
    request = GenerateRequest.model_validate(
        {"record_type": "x", "count": 10, "fields": profile.generate_fields}
    )
    types = {spec.name: spec.type for spec in request.fields}
    assert types == {
        "id": "uuid",
        "age": "integer",
        "income": "float",
        "plan": "enum",
        "rating": "enum",
        "active": "boolean",
        "signed_up": "date",
        "last_seen": "datetime",
        "email": "email",
        "phone": "phone",
        "first_name": "first_name",
        "last_name": "last_name",
        "city": "city",
        "zip": "postcode",
        "ip": "ip_address",
        "note": "sentence",
    }
    specs = {s["name"]: s for s in profile.generate_fields}
    assert specs["id"]["unique"] is True
    assert specs["email"]["unique"] is True
    assert specs["age"]["distribution"]["type"] == "quantiles"
    assert specs["income"]["decimals"] == 2


def test_null_rates_are_kept(profile: DatasetProfile, lookalike_profile: DatasetProfile) -> None:
    made = by_name(lookalike_profile)
    for field in profile.fields:
        assert abs(made[field.name].null_rate - field.null_rate) <= NULL_RATE_TOLERANCE, field.name
    assert by_name(profile)["phone"].null_rate == pytest.approx(0.3, abs=0.02)


def test_categories_keep_their_frequencies(
    profile: DatasetProfile, lookalike_profile: DatasetProfile
) -> None:
    made = by_name(lookalike_profile)
    for name in ("plan", "rating"):
        source, copy = by_name(profile)[name], made[name]
        assert source.categories is not None
        assert copy.categories is not None
        source_total = sum(c.count for c in source.categories)
        copy_counts = {c.value: c.count for c in copy.categories}
        copy_total = sum(copy_counts.values())
        assert copy_counts.keys() == {c.value for c in source.categories}
        for c in source.categories:
            share = c.count / source_total
            assert abs(copy_counts[c.value] / copy_total - share) <= CATEGORY_TOLERANCE, c.value


def test_numbers_keep_their_quantiles(
    profile: DatasetProfile, lookalike_profile: DatasetProfile
) -> None:
    made = by_name(lookalike_profile)
    for name in ("age", "income", "rating"):
        source, copy = by_name(profile)[name], made[name]
        assert source.quantiles is not None
        assert copy.quantiles is not None
        assert source.min is not None
        assert source.max is not None
        assert copy.min is not None
        assert copy.max is not None
        assert source.min <= copy.min
        assert copy.max <= source.max
        span = source.max - source.min
        want = {q.p: q.value for q in source.quantiles}
        got = {q.p: q.value for q in copy.quantiles}
        for p in (0.1, 0.5, 0.9):
            assert abs(got[p] - want[p]) <= QUANTILE_TOLERANCE * span, (name, p)
    assert made["age"].kind == "integer"
    assert made["rating"].kind == "integer"


def test_flags_and_dates_keep_their_rate_and_range(
    profile: DatasetProfile, lookalike_profile: DatasetProfile
) -> None:
    source, made = by_name(profile), by_name(lookalike_profile)
    assert source["active"].true_rate is not None
    assert made["active"].true_rate is not None
    assert abs(made["active"].true_rate - source["active"].true_rate) <= TRUE_RATE_TOLERANCE
    for name in ("signed_up", "last_seen"):
        assert made[name].kind == source[name].kind
        low, high = source[name].earliest, source[name].latest
        assert low is not None
        assert high is not None
        assert low <= str(made[name].earliest) <= str(made[name].latest) <= high


def test_personal_fields_stay_personal_and_text_stays_text(
    profile: DatasetProfile, lookalike_profile: DatasetProfile
) -> None:
    made = by_name(lookalike_profile)
    for field in profile.fields:
        if field.personal is not None or field.kind in ("uuid", "text"):
            assert made[field.name].kind == field.kind, field.name
            assert made[field.name].personal == field.personal
    note = by_name(profile)["note"]
    assert (note.min_words, note.max_words) == (3, 12)
    assert made["note"].min_words is not None
    assert made["note"].max_words is not None
    assert 3 <= made["note"].min_words <= made["note"].max_words <= 12


def test_no_source_value_but_common_categories_reaches_the_output(
    profile: DatasetProfile, source: list[dict[str, Any]], lookalike: list[dict[str, Any]]
) -> None:
    fields = by_name(profile)
    for name, field in fields.items():
        seen = {row[name] for row in source} - {None}
        made = {row[name] for row in lookalike} - {None}
        if field.kind == "category":
            common = {c.value for c in field.categories or []}
            assert all(c.count >= MIN_COUNT for c in field.categories or [])
            assert made <= common, name
            assert not made & {"legacy-0", "legacy-1000"}
        elif field.kind not in ("integer", "float", "boolean", "date", "datetime"):
            # Numbers, flags and dates share their range with the source, not their values.
            assert not made & seen, name
    # And no source string turns up under another field either.
    strings = {
        v for row in source for k, v in row.items() if isinstance(v, str) and k not in ("plan",)
    }
    generated = {
        v
        for row in lookalike
        for k, v in row.items()
        if isinstance(v, str) and fields[k].kind not in ("date", "datetime", "category")
    }
    assert not strings & generated


def test_text_never_becomes_an_enum_of_its_values() -> None:
    # Few distinct texts, each under MIN_COUNT times: neither a category nor listed.
    rows = [{"remark": f"remark {i % 30}"} for i in range(120)]
    profile = profile_rows(rows, fields=["remark"], types={}, total_rows=120)
    (field,) = profile.fields
    assert field.kind == "text"
    assert field.top == []
    (spec,) = profile.generate_fields
    assert spec["type"] != "enum"
    made = {row["remark"] for row in generate(profile.generate_fields, 500)}
    assert not made & {r["remark"] for r in rows}


def test_discrete_dates_and_numbers_come_back_as_they_were() -> None:
    rows = [
        {"laid": day, "year": int(day[:4])}
        for day, times in (("2007-11-27", 40), ("2008-11-09", 35), ("2009-11-18", 25))
        for _ in range(times)
    ]
    profile = profile_rows(rows, fields=["laid", "year"], types={}, total_rows=len(rows))
    laid, year = profile.generate_fields
    assert laid == {"name": "laid", "type": "enum", "values": ["2007-11-27", "2008-11-09",
                    "2009-11-18"], "weights": [40, 35, 25]}  # fmt: skip
    assert year == {"name": "year", "type": "enum", "values": [2007, 2008, 2009],
                    "weights": [40, 35, 25]}  # fmt: skip
    made = generate(profile.generate_fields, 2000)
    types = {"laid": "enum", "year": "enum"}
    again = profile_rows(made, fields=["laid", "year"], types=types, total_rows=2000)
    assert [(f.kind, f.earliest, f.min) for f in again.fields] == [
        ("date", "2007-11-27", None),
        ("integer", None, 2007),
    ]


def test_same_profile_and_seed_same_records(profile: DatasetProfile) -> None:
    again = profile_rows(source_rows(), fields=[f.name for f in profile.fields], types={},
                         total_rows=COUNT)  # fmt: skip
    assert again.generate_fields == profile.generate_fields
    first = generate(profile.generate_fields, 3000, seed=9)
    assert generate(again.generate_fields, 3000, seed=9) == first
    assert generate(profile.generate_fields, 3000, seed=10) != first


def test_a_generated_datasets_declared_types_are_made_again() -> None:
    schema: list[dict[str, Any]] = [
        {"name": "who", "type": "full_name"},
        {"name": "mail", "type": "email"},
        {"name": "employer", "type": "company"},
        {"name": "sku", "type": "sku"},
        {"name": "site", "type": "url"},
        {"name": "tier", "type": "enum", "values": ["a", "b"], "weights": [3, 1]},
        {"name": "seq", "type": "sequence"},
    ]
    rows = [json.loads(r) for r in generate_json_rows([parse_field(s) for s in schema], 1, 0, 2000)]
    types = {s["name"]: s["type"] for s in schema}
    profile = profile_rows(rows, fields=list(types), types=types, total_rows=2000)
    made = {s["name"]: s["type"] for s in profile.generate_fields}
    assert made == {
        "who": "full_name",
        "mail": "email",
        "employer": "company",
        "sku": "sku",
        "site": "url",
        "tier": "enum",
        "seq": "integer",
    }


@pytest.mark.parametrize(
    ("name", "values", "expected"),
    [
        ("first_name", ["Zed", "Quo"], {"type": "first_name"}),
        ("familyName", ["Zed", "Quo"], {"type": "last_name"}),
        ("surname", ["Zed", "Quo"], {"type": "last_name"}),
        ("name", ["Zed Quo", "Quo Zed"], {"type": "full_name"}),
        ("user_name", ["zed1", "quo2"], {"type": "username"}),
        ("town", ["Zedtown", "Quoville"], {"type": "city"}),
        ("postal_code", ["AB1 2CD", "EF3 4GH"], {"type": "postcode"}),
        ("address", ["1 Zed Road", "2 Quo Lane"], {"type": "street_address"}),
        ("peer", ["2001:db8::1", "2001:db8::2"], {"type": "ip_address", "version": 6}),
        ("fax", ["+1 555 0100 000", "+1 555 0100 001"], {"type": "phone"}),
    ],
)
def test_personal_fields_become_fake_values_of_their_type(
    name: str, values: list[str], expected: dict[str, Any]
) -> None:
    rows = [{name: values[i % 2]} for i in range(20)]
    (spec,) = profile_rows(rows, fields=[name], types={}, total_rows=20).generate_fields
    assert spec == {"name": name, **expected}


def test_text_lengths_choose_string_sentence_or_paragraph() -> None:
    def spec_of(values: list[str]) -> dict[str, Any]:
        rows = [{"t": v} for v in values]
        (spec,) = profile_rows(rows, fields=["t"], types={}, total_rows=len(rows)).generate_fields
        return spec

    assert spec_of([f"K{i:05d}x" for i in range(100)]) == {
        "name": "t",
        "type": "string",
        "min_length": 7,
        "max_length": 7,
    }
    long = [" ".join(["word"] * (100 + i * 20)) for i in range(100)]
    assert spec_of(long) == {"name": "t", "type": "paragraph", "min_sentences": 12,
                             "max_sentences": 50}  # fmt: skip


def test_names_generation_refuses_are_spelt_with_underscores() -> None:
    names = ["bill length (mm)", "1st", "a_b", "a b", "Straße", "x" * 70, ""]
    rows = [dict.fromkeys(names, "1") for _ in range(10)]
    profile = profile_rows(rows, fields=names, types={}, total_rows=10)
    made = [s["name"] for s in profile.generate_fields]
    assert made == ["bill_length_mm", "_1st", "a_b", "a_b_2", "Strasse", "x" * 64, "field"]
    GenerateRequest.model_validate(
        {"record_type": "x", "count": 1, "fields": profile.generate_fields}
    )


def test_a_profile_of_nothing_still_makes_a_request() -> None:
    profile = profile_rows([], fields=["a", "b"], types={"a": "integer"}, total_rows=0)
    assert profile.generate_fields == [
        {"name": "a", "type": "integer"},
        {"name": "b", "type": "string"},
    ]
    only_nulls = profile_rows([{"a": None}] * 5, fields=["a"], types={}, total_rows=5)
    assert only_nulls.generate_fields == [{"name": "a", "type": "string", "null_rate": 1.0}]
    rows = generate(only_nulls.generate_fields, 50)
    assert all(row["a"] is None for row in rows)
