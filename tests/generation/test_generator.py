"""Shapes, ranges and determinism of generated JSON rows."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
import uuid
from collections import Counter
from typing import Any

import pytest

from datatasks.generation import locales, words
from datatasks.generation.fields import FieldSpec, parse_field
from datatasks.generation.generator import generate_json_rows
from datatasks.generation.sizing import BLOCK_SIZE

ALL_TYPES_SCHEMA: list[dict[str, Any]] = [
    {"name": "uuid", "type": "uuid"},
    {"name": "integer", "type": "integer", "min": -5, "max": 5},
    {"name": "float", "type": "float", "min": -1.5, "max": 2.5, "decimals": 3},
    {"name": "boolean", "type": "boolean", "probability": 0.3},
    {"name": "enum", "type": "enum", "values": ["a", 1, 2.5, False], "weights": [1, 2, 3, 4]},
    {"name": "sequence", "type": "sequence", "start": 100, "step": 7},
    {"name": "constant", "type": "constant", "value": {"nested": [1, "two", None]}},
    {"name": "string", "type": "string", "min_length": 2, "max_length": 5, "alphabet": "xyz"},
    {"name": "first_name", "type": "first_name"},
    {"name": "last_name", "type": "last_name"},
    {"name": "full_name", "type": "full_name"},
    {"name": "email", "type": "email"},
    {"name": "phone", "type": "phone"},
    {"name": "company", "type": "company"},
    {"name": "street_address", "type": "street_address"},
    {"name": "city", "type": "city"},
    {"name": "country", "type": "country"},
    {"name": "postcode", "type": "postcode"},
    {"name": "date", "type": "date", "start": "2000-02-28", "end": "2000-03-01"},
    {"name": "datetime", "type": "datetime", "null_rate": 0.2},
    {"name": "ipv4", "type": "ip_address"},
    {"name": "ipv6", "type": "ip_address", "version": 6},
    {"name": "url", "type": "url"},
    {"name": "sentence", "type": "sentence"},
    {"name": "paragraph", "type": "paragraph", "null_rate": 0.5},
]


def specs(raw: list[dict[str, Any]]) -> list[FieldSpec]:
    return [parse_field(item) for item in raw]


def strict_loads(text: str) -> Any:
    def reject(constant: str) -> Any:
        raise AssertionError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=reject)


def column(raw: dict[str, Any], count: int = 2000, seed: int = 7, start: int = 0) -> list[Any]:
    rows = generate_json_rows(specs([raw]), seed, start, start + count)
    assert len(rows) == count
    return [strict_loads(row)[raw["name"]] for row in rows]


def test_all_types_rows_are_plain_json_with_keys_in_field_order() -> None:
    rows = generate_json_rows(specs(ALL_TYPES_SCHEMA), 1, 0, 3000)
    assert len(rows) == 3000
    expected_keys = [item["name"] for item in ALL_TYPES_SCHEMA]
    for row in rows:
        assert list(strict_loads(row)) == expected_keys


def test_chunking_does_not_change_records() -> None:
    fields = specs(ALL_TYPES_SCHEMA)
    whole = generate_json_rows(fields, 99, 0, 5000)
    chunked = (
        generate_json_rows(fields, 99, 0, 1000)
        + generate_json_rows(fields, 99, 1000, 3333)
        + generate_json_rows(fields, 99, 3333, 5000)
    )
    assert whole == chunked
    assert generate_json_rows(fields, 99, 1500, 1501) == whole[1500:1501]
    assert (
        generate_json_rows(fields, 99, BLOCK_SIZE - 1, 4 * BLOCK_SIZE + 1)
        == (whole[BLOCK_SIZE - 1 : 4 * BLOCK_SIZE + 1])
    )


def test_same_seed_repeats_and_different_seeds_differ() -> None:
    fields = specs(ALL_TYPES_SCHEMA)
    first = generate_json_rows(fields, 5, 0, 100)
    assert generate_json_rows(fields, 5, 0, 100) == first
    other = generate_json_rows(fields, 6, 0, 100)
    assert first != other
    assert len({strict_loads(r)["uuid"] for r in first + other}) == 200
    assert generate_json_rows(fields, 2**63 - 1, 0, 10) != first[:10]


def test_adding_a_field_leaves_other_fields_unchanged() -> None:
    base: list[dict[str, Any]] = [{"name": "a", "type": "uuid"}, {"name": "b", "type": "integer"}]
    before = [strict_loads(r) for r in generate_json_rows(specs(base), 3, 0, 2000)]
    extended = [*base, {"name": "c", "type": "paragraph", "null_rate": 0.4}]
    after = [strict_loads(r) for r in generate_json_rows(specs(extended), 3, 0, 2000)]
    assert [{"a": r["a"], "b": r["b"]} for r in after] == before


def test_null_rate_gives_roughly_that_share_of_nulls() -> None:
    values = column({"name": "v", "type": "integer", "null_rate": 0.3}, count=10_000)
    share = sum(v is None for v in values) / len(values)
    assert 0.27 < share < 0.33
    assert all(v is None or isinstance(v, int) for v in values)


@pytest.mark.parametrize(("rate", "expected"), [(0.0, 0), (1.0, 500)])
def test_null_rate_extremes(rate: float, expected: int) -> None:
    values = column({"name": "v", "type": "uuid", "null_rate": rate}, count=500)
    assert sum(v is None for v in values) == expected


def test_sequence_is_exact() -> None:
    raw = {"name": "n", "type": "sequence", "start": 10, "step": -3}
    assert column(raw, count=2500, start=1500) == [10 - 3 * i for i in range(1500, 4000)]
    assert column({"name": "n", "type": "sequence"}, count=3) == [1, 2, 3]
    assert column({"name": "n", "type": "sequence", "step": 0, "start": 4}, count=5) == [4] * 5


def test_sequence_past_64_bits_is_a_value_error() -> None:
    fields = specs([{"name": "n", "type": "sequence", "start": 2**63 - 1, "step": 2**63 - 1}])
    with pytest.raises(ValueError, match="JSON"):
        generate_json_rows(fields, 1, 0, 10)


def test_uuids_are_version_4() -> None:
    values = column({"name": "id", "type": "uuid"})
    assert len(set(values)) == len(values)
    for value in values:
        parsed = uuid.UUID(value)
        assert str(parsed) == value
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_integers_inclusive_range() -> None:
    values = column({"name": "i", "type": "integer", "min": -2, "max": 2})
    assert set(values) == {-2, -1, 0, 1, 2}
    values = column({"name": "i", "type": "integer", "min": -(2**63), "max": 2**63 - 1})
    assert all(-(2**63) <= v < 2**63 for v in values)
    assert column({"name": "i", "type": "integer", "min": 9, "max": 9}, count=10) == [9] * 10


def test_floats_are_rounded_and_in_range() -> None:
    values = column({"name": "f", "type": "float", "min": -1.0, "max": 1.0, "decimals": 2})
    assert all(isinstance(v, float) and -1.0 <= v <= 1.0 for v in values)
    assert all(v == round(v, 2) for v in values)
    assert all(str(v) != "-0.0" for v in values)
    big = column({"name": "f", "type": "float", "min": -1e300, "max": 1e300, "decimals": 15})
    assert all(-1e300 <= v <= 1e300 for v in big)
    whole = column({"name": "f", "type": "float", "min": 0, "max": 10, "decimals": 0})
    assert set(whole) <= {float(i) for i in range(11)}


def test_booleans_follow_probability() -> None:
    values = column({"name": "b", "type": "boolean", "probability": 0.8}, count=10_000)
    assert all(isinstance(v, bool) for v in values)
    assert 0.77 < sum(values) / len(values) < 0.83
    assert not any(column({"name": "b", "type": "boolean", "probability": 0.0}))
    assert all(column({"name": "b", "type": "boolean", "probability": 1.0}))


def test_enum_weights_are_respected() -> None:
    raw = {"name": "e", "type": "enum", "values": ["x", "y", "z"], "weights": [1, 3, 0]}
    counts = Counter(column(raw, count=10_000))
    assert counts["z"] == 0
    assert 0.72 < counts["y"] / 10_000 < 0.78
    # Keyed by type too, since 1 == True would merge their counts.
    values = column({"name": "e", "type": "enum", "values": [1, True, "1"]}, 9000)
    uniform = Counter((type(v), v) for v in values)
    assert set(uniform) == {(int, 1), (bool, True), (str, "1")}
    assert all(2700 < c < 3300 for c in uniform.values())


def test_enum_keeps_value_types() -> None:
    values = column({"name": "e", "type": "enum", "values": [True, 1, 1.5, "s"]}, count=400)
    assert {type(v) for v in values} == {bool, int, float, str}


def test_constant_repeats_value() -> None:
    value = {"a": [1, 2.5, None, {"b": "c"}]}
    assert column({"name": "c", "type": "constant", "value": value}, count=50) == [value] * 50


def test_strings_use_alphabet_and_lengths() -> None:
    raw = {"name": "s", "type": "string", "min_length": 3, "max_length": 6, "alphabet": "äb😀"}
    values = column(raw)
    assert {len(v) for v in values} == {3, 4, 5, 6}
    assert set("".join(values)) == set("äb😀")
    defaults = column({"name": "s", "type": "string"})
    assert all(re.fullmatch(r"[A-Za-z0-9]{8,16}", v) for v in defaults)
    empty = {"name": "s", "type": "string", "min_length": 0, "max_length": 0}
    assert column(empty, count=10) == [""] * 10


def test_person_and_place_types_come_from_the_locale_data() -> None:
    people, places = locales.people("en-US"), locales.places("en-US")
    given = set(people.first[0].tolist()) | set(people.first[1].tolist())
    family = set(people.last[0].tolist())
    assert set(column({"name": "f", "type": "first_name"})) <= given
    assert set(column({"name": "l", "type": "last_name"})) <= family
    assert set(column({"name": "c", "type": "city"})) <= set(places.cities.tolist())
    assert set(column({"name": "c", "type": "country"})) == {"United States"}
    for value in column({"name": "n", "type": "full_name"}):
        first, last = value.rsplit(" ", 1)
        assert first in given
        assert last in family
    suffixes = locales.companies("en-US").suffixes.tolist()
    for value in column({"name": "c", "type": "company"}):
        assert value.split(" ")[0] in family
        assert any(value.endswith(" " + suffix) for suffix in suffixes)


def test_email_phone_postcode_address_url_shapes() -> None:
    for email in column({"name": "e", "type": "email"}):
        local, domain = email.split("@")
        assert re.fullmatch(r"[a-z0-9]+([._][a-z0-9]+)?\d{0,2}", local)
        assert domain in words.EMAIL_DOMAINS
    phones = column({"name": "p", "type": "phone"})
    assert all(re.fullmatch(r"\+1-?\d{3}-?\d{3}-?\d{4}", p) for p in phones)
    postcodes = column({"name": "p", "type": "postcode"})
    assert all(re.fullmatch(r"\d{5}", p) for p in postcodes)
    for address in column({"name": "a", "type": "street_address"}):
        number, rest = address.split(" ", 1)
        assert 1 <= int(number) <= 199
        assert rest
    for url in column({"name": "u", "type": "url"}):
        assert re.fullmatch(r"https://www\.[a-z]+\.[a-z]+/[a-z]+", url)


def test_dates_in_inclusive_range() -> None:
    values = column({"name": "d", "type": "date", "start": "2000-02-28", "end": "2000-03-01"})
    assert set(values) == {"2000-02-28", "2000-02-29", "2000-03-01"}
    for value in column({"name": "d", "type": "date"}):
        assert dt.date(1970, 1, 1) <= dt.date.fromisoformat(value) <= dt.date(2030, 12, 31)
    ancient = column({"name": "d", "type": "date", "start": "0001-01-01", "end": "0001-01-01"})
    assert set(ancient) == {"0001-01-01"}


def test_datetimes_are_utc_iso_with_z() -> None:
    for value in column({"name": "t", "type": "datetime"}):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", value)
        parsed = dt.datetime.fromisoformat(value)
        assert dt.datetime(1970, 1, 1, tzinfo=dt.UTC) <= parsed
        assert parsed <= dt.datetime(2030, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
    raw = {
        "name": "t",
        "type": "datetime",
        "start": "2021-03-04T10:06:06.5+05:00",
        "end": "2021-03-04T05:06:08",
    }
    assert set(column(raw, count=200)) == {"2021-03-04T05:06:07Z", "2021-03-04T05:06:08Z"}


def test_ip_addresses() -> None:
    for value in column({"name": "ip", "type": "ip_address"}):
        assert isinstance(ipaddress.ip_address(value), ipaddress.IPv4Address)
        assert value.count(".") == 3
    for value in column({"name": "ip", "type": "ip_address", "version": 6}):
        assert isinstance(ipaddress.ip_address(value), ipaddress.IPv6Address)
        assert re.fullmatch(r"[0-9a-f]{4}(:[0-9a-f]{4}){7}", value)


def test_sentences_and_paragraphs() -> None:
    raw = {"name": "s", "type": "sentence", "min_words": 2, "max_words": 3}
    for value in column(raw):
        assert value[0].isupper()
        assert value.endswith(".")
        assert len(value.split(" ")) in (2, 3)
        assert all(w.lower().rstrip(".") in words.WORDS for w in value.split(" "))
    raw = {"name": "p", "type": "paragraph", "min_sentences": 2, "max_sentences": 4}
    counts = {value.count(".") for value in column(raw)}
    assert counts == {2, 3, 4}
    big = {"name": "p", "type": "paragraph", "min_sentences": 50, "max_sentences": 50}
    assert all(value.count(". ") == 49 for value in column(big, count=20))


def test_empty_ranges_and_empty_schema() -> None:
    fields = specs(ALL_TYPES_SCHEMA)
    assert generate_json_rows(fields, 1, 10, 10) == []
    assert generate_json_rows([], 1, 0, 3) == ["{}", "{}", "{}"]


@pytest.mark.parametrize(
    ("seed", "start", "stop", "message"),
    [(-1, 0, 1, "seed"), (2**63, 0, 1, "seed"), (1, -1, 1, "start"), (1, 5, 4, "start")],
)
def test_bad_arguments_are_value_errors(seed: int, start: int, stop: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate_json_rows(specs([{"name": "a", "type": "uuid"}]), seed, start, stop)


def test_duplicate_names_are_a_value_error() -> None:
    fields = specs([{"name": "a", "type": "uuid"}, {"name": "a", "type": "integer"}])
    with pytest.raises(ValueError, match="unique"):
        generate_json_rows(fields, 1, 0, 1)


QUANTILES: dict[str, Any] = {
    "type": "quantiles",
    "p": [0.0, 0.1, 0.5, 0.9, 1.0],
    "values": [10.0, 20.0, 30.0, 70.0, 100.0],
}


def test_quantiles_draw_from_the_piecewise_linear_inverse_cdf() -> None:
    raw = {"name": "q", "type": "float", "min": 0, "max": 1000, "distribution": QUANTILES}
    values = column(raw, count=20_000)
    assert all(10.0 <= v <= 100.0 for v in values)
    ordered = sorted(values)
    for p, expected in zip(QUANTILES["p"], QUANTILES["values"], strict=True):
        at = ordered[min(int(p * len(ordered)), len(ordered) - 1)]
        assert abs(at - expected) < 1.0, p
    # Uniform within each segment: between p 0.5 and 0.9 values spread evenly over 30..70.
    middle = [v for v in values if 30 <= v < 70]
    assert abs(sum(v < 50 for v in middle) / len(middle) - 0.5) < 0.03


def test_quantile_integers_are_rounded_and_clipped_to_min_and_max() -> None:
    raw = {"name": "q", "type": "integer", "min": 25, "max": 80, "distribution": QUANTILES}
    values = column(raw, count=5000)
    assert all(isinstance(v, int) and 25 <= v <= 80 for v in values)
    # What the points put below 25.5 rounds or clips to 25: p up to 0.1 + 0.4 * 5.5 / 10.
    assert abs(values.count(25) / len(values) - 0.32) < 0.02
    # And from 79.5 up to 80: p from 0.9 + 0.1 * 9.5 / 30.
    assert abs(values.count(80) / len(values) - (0.1 - 0.1 * 9.5 / 30)) < 0.015


def test_a_flat_stretch_of_quantiles_repeats_its_value() -> None:
    flat = {"type": "quantiles", "p": [0.0, 0.6, 1.0], "values": [0.0, 0.0, 10.0]}
    raw = {"name": "q", "type": "integer", "min": 0, "max": 10, "distribution": flat}
    values = column(raw, count=10_000)
    # 60% at exactly 0, and the 0..0.5 rounding of the rising part adds 2.5%.
    assert abs(values.count(0) / len(values) - 0.625) < 0.02


def test_quantile_draws_are_deterministic_and_chunk_free() -> None:
    raw = {"name": "q", "type": "float", "min": 0, "max": 100, "distribution": QUANTILES}
    whole = generate_json_rows(specs([raw]), 4, 0, 3 * BLOCK_SIZE)
    assert generate_json_rows(specs([raw]), 4, 0, 3 * BLOCK_SIZE) == whole
    chunked = generate_json_rows(specs([raw]), 4, 0, 777) + generate_json_rows(
        specs([raw]), 4, 777, 3 * BLOCK_SIZE
    )
    assert chunked == whole
    assert generate_json_rows(specs([raw]), 5, 0, 100) != whole[:100]
