"""Profiles of hand-made records: kinds, null rates, quantiles, values listed and not listed."""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from typing import Any

import pytest

from datatasks.datasets.profile import (
    MIN_COUNT,
    QUANTILES,
    DatasetProfile,
    FieldProfile,
    profile_rows,
)


def profile_of(
    rows: list[dict[str, Any]], types: dict[str, str] | None = None
) -> dict[str, FieldProfile]:
    fields = list(dict.fromkeys(key for row in rows for key in row))
    profile = profile_rows(rows, fields=fields, types=types or {}, total_rows=len(rows))
    return {f.name: f for f in profile.fields}


def one(values: list[Any], name: str = "v", declared: str | None = None) -> FieldProfile:
    rows = [{name: v} for v in values]
    return profile_of(rows, {name: declared} if declared else None)[name]


def csv_rows(count: int = 600, seed: int = 1) -> list[dict[str, str | None]]:
    """Records as a CSV upload stores them: text, or null."""
    r = random.Random(seed)
    rows: list[dict[str, str | None]] = []
    for i in range(count):
        day = dt.date(2021, 3, 1) + dt.timedelta(days=r.randint(0, 364))
        moment = dt.datetime(2022, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=r.randint(0, 10**7))
        rows.append(
            {
                "id": str(uuid.UUID(int=r.getrandbits(128), version=4)),
                "age": str(r.randint(18, 90)),
                "score": f"{r.uniform(0, 10):.2f}",
                "active": r.choice(["true", "false", "True"]),
                "plan": r.choice(["free", "free", "pro", "team"]),
                "signed_up": day.isoformat(),
                "last_seen": moment.isoformat().replace("+00:00", "Z"),
                "contact": f"person{i}@mail.invalid",
                "tel": f"+44 20 7946 {i:04d}",
                "first_name": f"Zorb{i % 40}",
                "city": r.choice(["Lowtown", "Hightown", "Midtown"]),
                "zip": f"{r.randint(10_000, 99_999)}",
                "client": f"192.0.2.{i % 250}",
                "client6": f"2001:db8::{i:x}",
                "note": " ".join(
                    r.choice(["red", "green", "blue"]) for _ in range(r.randint(3, 9))
                ),
                "maybe": None if i % 4 == 0 else str(i),
            }
        )
    return rows


def test_every_kind_is_inferred_from_text_forms() -> None:
    fields = profile_of(csv_rows())
    kinds = {name: (f.kind, f.personal) for name, f in fields.items()}
    assert kinds == {
        "id": ("uuid", None),
        "age": ("integer", None),
        "score": ("float", None),
        "active": ("boolean", None),
        "plan": ("category", None),
        "signed_up": ("date", None),
        "last_seen": ("datetime", None),
        "contact": ("email", "email"),
        "tel": ("phone", "phone"),
        "first_name": ("name", "name"),
        "city": ("address", "address"),
        "zip": ("address", "address"),
        "client": ("ip", "ip"),
        "client6": ("ip", "ip"),
        "note": ("text", None),
        "maybe": ("integer", None),
    }
    assert fields["client"].ip_version == 4
    assert fields["client6"].ip_version == 6


def test_json_values_are_their_own_kinds() -> None:
    rows = [{"n": i, "x": i / 4, "b": i % 3 == 0, "o": {"k": i}} for i in range(100)]
    fields = profile_of(rows)
    assert (fields["n"].kind, fields["x"].kind, fields["b"].kind) == ("integer", "float", "boolean")
    assert fields["o"].kind == "text"
    assert fields["b"].true_rate == pytest.approx(34 / 100)
    assert fields["x"].decimals == 2
    assert isinstance(fields["n"].min, int)
    assert isinstance(fields["n"].max, int)


def test_null_rate_counts_nulls_and_missing_keys() -> None:
    rows: list[dict[str, Any]] = [{"a": 1, "b": None} for _ in range(30)] + [{} for _ in range(10)]
    fields = profile_of(rows)
    assert fields["a"].null_rate == pytest.approx(10 / 40)
    assert fields["b"].null_rate == 1.0
    profile = profile_rows(rows, fields=["a", "c"], types={}, total_rows=1000)
    assert (profile.rows, profile.sampled) == (1000, 40)
    assert profile.fields[1].null_rate == 1.0
    assert profile.fields[1].distinct == 0


def test_quantiles_mean_and_range_of_numbers() -> None:
    field = one([str(v) for v in range(101)] + [None] * 5)
    assert field.kind == "integer"
    assert (field.min, field.max, field.mean) == (0, 100, 50.0)
    assert field.distinct == 101
    assert field.quantiles is not None
    assert [q.p for q in field.quantiles] == list(QUANTILES)
    # numpy's linear interpolation over 0..100: the p-quantile is 100 p.
    assert [q.value for q in field.quantiles] == pytest.approx([100 * p for p in QUANTILES])
    assert field.categories is None  # 101 distinct values: not discrete


def test_numbers_written_differently_are_one_value() -> None:
    field = one(["1.0", "1.00", "2.5"] * 10)
    assert field.kind == "float"
    assert field.distinct == 2
    assert field.top is not None
    assert [(t.value, t.count) for t in field.top] == [(1.0, 20), (2.5, 10)]


def test_few_distinct_numbers_are_listed_as_categories() -> None:
    field = one([2007] * 40 + [2008] * 35 + [2009] * 25)
    assert field.kind == "integer"
    assert field.categories is not None
    assert [(c.value, c.count) for c in field.categories] == [(2007, 40), (2008, 35), (2009, 25)]


def test_categories_and_top_values_keep_only_common_values() -> None:
    values = ["a"] * 50 + ["b"] * 30 + ["c"] * MIN_COUNT + ["rare"] * (MIN_COUNT - 1)
    field = one(values)
    assert field.kind == "category"
    assert field.distinct == 4
    assert field.categories is not None
    assert field.top is not None
    assert [(c.value, c.count) for c in field.categories] == [("a", 50), ("b", 30), ("c", 5)]
    assert field.top == field.categories
    assert (field.min_length, field.max_length) == (1, 4)


def test_a_category_is_text_whose_common_values_are_nearly_all_of_it() -> None:
    states = [f"S{i}" for i in range(60) for _ in range(10)]
    field = one(states)
    assert field.kind == "category"  # 60 distinct values, but each one common
    assert field.categories is not None
    assert len(field.categories) == 60
    # 40 values seen once are 6% of the values: more than an enum of the others may leave out.
    assert one(states + [f"id{i}" for i in range(40)]).kind == "text"
    assert one(states + [f"id{i}" for i in range(20)]).kind == "category"


def test_few_distinct_dates_are_listed_as_categories() -> None:
    field = one(["2007-11-27"] * 10 + ["2008-11-09"] * 8 + ["2009-11-18"] * 6)
    assert field.kind == "date"
    assert field.categories is not None
    assert [(c.value, c.count) for c in field.categories] == [
        ("2007-11-27", 10),
        ("2008-11-09", 8),
        ("2009-11-18", 6),
    ]
    days = [(dt.date(2020, 1, 1) + dt.timedelta(days=d)).isoformat() for d in range(51)]
    assert one(days * 5).categories is None  # more than 50 distinct dates: a range


def test_decimals_are_those_a_value_needs() -> None:
    assert one(["9.2671500000000009", "8.1", "7.25"] * 4).decimals == 5
    assert one([0.5, 1.25, 3.0] * 4).decimals == 2
    assert one(["1", "2", "3.0"] * 4).decimals == 0


def test_text_lists_at_most_ten_values_and_never_a_rare_one() -> None:
    values = [f"common phrase {i}" for i in range(12) for _ in range(6)] + [
        f"one of a kind remark number {i}" for i in range(500)
    ]
    field = one(values)
    assert field.kind == "text"
    assert field.top is not None
    assert len(field.top) == 10
    assert all(t.count >= MIN_COUNT for t in field.top)
    assert field.categories is None
    assert (field.min_words, field.max_words) == (3, 7)


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("contact", [f"user{i % 3}@corp.invalid" for i in range(60)]),
        ("phone", [f"+1 555 010 {i % 3:04d}" for i in range(60)]),
        ("surname", ["Smith", "Jones", "Brown"] * 20),
        ("city", ["Lowtown", "Hightown"] * 30),
        ("ip", ["10.0.0.1", "10.0.0.2"] * 30),
    ],
)
def test_personal_fields_list_no_values(name: str, values: list[str]) -> None:
    field = one(values, name=name)
    assert field.personal is not None
    assert field.kind == field.personal
    assert field.top is None
    assert field.categories is None
    dumped = json.dumps(field.model_dump(mode="json"))
    assert not any(v in dumped for v in set(values))
    assert field.min_length is not None  # lengths say nothing about anyone


def test_a_few_placeholders_do_not_hide_personal_values() -> None:
    values = [f"user{i}@corp.invalid" for i in range(95)] + ["n/a"] * 5
    assert one(values, name="reach").kind == "email"
    assert one(values[:50] + [f"word{i}" for i in range(50)], name="reach").kind == "text"


@pytest.mark.parametrize(
    ("name", "personal"),
    [
        ("first_name", "name"),
        ("firstName", "name"),
        ("customer_name", "name"),
        ("Surname", "name"),
        ("name", "name"),
        ("company_name", None),
        ("studyName", None),
        ("passenger_name", "name"),
        ("product_name", None),
        ("street", "address"),
        ("home_address", "address"),
        ("zipcode", "address"),
        ("postal_code", "address"),
        ("mobile", "phone"),
        ("email", "email"),
        ("email_domain", None),
        ("ip_country", None),
        ("colour", None),
    ],
)
def test_field_names_hint_at_personal_text(name: str, personal: str | None) -> None:
    field = one([f"value {i % 7}" for i in range(70)], name=name)
    assert field.personal == personal


def test_names_do_not_turn_flags_or_dates_personal() -> None:
    assert one(["true", "false"] * 10, name="email_verified").kind == "boolean"
    assert one(["2020-01-01"] * 10, name="address_since").kind == "date"
    assert one([str(10_000 + i) for i in range(50)], name="zip").kind == "address"
    assert one([str(i) for i in range(50)], name="city_population").kind == "integer"


def test_declared_generation_types_are_trusted() -> None:
    assert one(["Ann", "Bob"] * 10, name="x", declared="first_name").kind == "name"
    assert one(["Main St 1"] * 10, name="x", declared="street_address").kind == "address"
    assert one(["a"] * 10, name="x", declared="enum").kind == "category"
    # A type that says what it is is not personal, whatever its values look like.
    isbns = [f"978-0-{i:03d}-12345-6" for i in range(50)]
    assert one(isbns, name="phone", declared="isbn").personal is None
    assert one(isbns, name="x").kind == "phone"


def test_an_uploads_string_column_stays_text() -> None:
    field = one(["00123", "123", "42"] * 10, declared="string")
    assert field.kind == "category"
    assert field.categories is not None
    assert {c.value for c in field.categories} == {"00123", "123", "42"}
    assert one([str(i) for i in range(100)], declared="string").kind == "text"


def test_a_declared_type_the_values_do_not_fit_is_inferred_afresh() -> None:
    assert one(["1.5", "2.5"] * 5, declared="integer").kind == "float"
    assert one(["x", "y"] * 5, declared="integer").kind == "category"
    assert one(["1", "2"] * 5, declared="float").kind == "float"


def test_dates_and_datetimes_have_their_range_in_utc() -> None:
    dates = one(["2021-05-01", "2020-02-29", "2021-12-31", None])
    assert (dates.kind, dates.earliest, dates.latest) == ("date", "2020-02-29", "2021-12-31")
    assert one(["2021-02-29"]).kind == "text"  # not a date
    moments = one(["2021-05-01T10:00:00+02:00", "2021-05-01T07:30:00Z", "2021-05-01 09:00"])
    assert moments.kind == "datetime"
    assert (moments.earliest, moments.latest) == ("2021-05-01T07:30:00Z", "2021-05-01T09:00:00Z")


def test_rows_may_be_any_iterable_and_the_profile_is_json() -> None:
    rows = csv_rows(200)
    profile = profile_rows(iter(rows), fields=list(rows[0]), types={}, total_rows=5000)
    assert profile.sampled == 200
    text = profile.model_dump_json()
    assert DatasetProfile.model_validate_json(text) == profile
    assert [f["name"] for f in profile.generate_fields] == list(rows[0])
    schema = DatasetProfile.model_json_schema()
    assert "generate_fields" in schema["properties"]
    assert schema["$defs"]["FieldProfile"]["properties"]["kind"]["description"]


def test_same_rows_same_profile() -> None:
    rows = csv_rows(300, seed=5)
    first = profile_rows(rows, fields=list(rows[0]), types={}, total_rows=300)
    again = profile_rows([dict(r) for r in rows], fields=list(rows[0]), types={}, total_rows=300)
    assert first == again
