"""Coherent records, locales, derived fields, distributions and uniqueness."""

from __future__ import annotations

import datetime as dt
import json
import re
import statistics
import uuid
from typing import Any

import numpy as np
import pytest
from anyascii import anyascii
from pydantic import ValidationError

from datatasks.generation import locales
from datatasks.generation.fields import FieldSpec, parse_field
from datatasks.generation.generator import Source, generate_json_rows
from datatasks.generation.schemas import GenerateRequest
from datatasks.generation.unique import permute

PERSON = [
    {"name": "first", "type": "first_name"},
    {"name": "last", "type": "last_name"},
    {"name": "full", "type": "full_name"},
    {"name": "gender", "type": "gender"},
    {"name": "username", "type": "username"},
    {"name": "email", "type": "email"},
    {"name": "company", "type": "company"},
    {"name": "domain", "type": "company_domain"},
    {"name": "work", "type": "work_email"},
]
ADDRESS = [
    {"name": "street", "type": "street_address"},
    {"name": "city", "type": "city"},
    {"name": "region", "type": "region"},
    {"name": "postcode", "type": "postcode"},
    {"name": "country", "type": "country"},
    {"name": "cc", "type": "country_code"},
    {"name": "lat", "type": "latitude"},
    {"name": "lon", "type": "longitude"},
    {"name": "tz", "type": "timezone"},
]


def specs(raw: list[dict[str, Any]]) -> list[FieldSpec]:
    return [parse_field(f) for f in raw]


def records(
    raw: list[dict[str, Any]], count: int = 2000, seed: int = 11, **options: Any
) -> list[dict[str, Any]]:
    rows = generate_json_rows(specs(raw), seed, 0, count, count=count, **options)
    return [json.loads(r) for r in rows]


@pytest.mark.parametrize("locale", ["en-US", "de", "ja", "ar-AE"])
def test_a_records_person_fields_describe_one_person(locale: str) -> None:
    people = locales.people(locale)
    female, male = set(people.first[0].tolist()), set(people.first[1].tolist())
    for r in records(PERSON, 500, locale=locale):
        assert r["first"] in (male if r["gender"] == "male" else female)
        assert r["first"] in r["full"]
        assert r["last"] in r["full"]
        first_ascii = locales.ascii_slug(r["first"]) or "user"
        last_ascii = locales.ascii_slug(r["last"]) or "user"
        assert first_ascii[0] in r["username"]
        assert last_ascii in r["username"]
        assert r["email"].startswith(r["username"] + "@")
        assert r["work"] == f"{first_ascii}.{last_ascii}@{r['domain']}"
        # Emails and domains stay ASCII whatever the script of the names.
        assert r["email"].isascii()
        assert r["domain"].isascii()
        assert r["company"].split(" ")[0] in {n.split(" ")[0] for n in people.last[1].tolist()}


def test_japanese_and_chinese_names_put_the_family_name_first() -> None:
    for r in records(PERSON[:3], 50, locale="ja"):
        assert r["full"] == f"{r['last']} {r['first']}"
    for r in records(PERSON[:3], 50, locale="zh"):
        assert r["full"] == f"{r['last']}{r['first']}"


@pytest.mark.parametrize(
    ("locale", "country", "postcode", "zone"),
    [
        ("en-US", "US", r"\d{5}", "(America|Pacific)/"),
        ("en-GB", "GB", r"[A-Z]{2}\d[A-Z] \d[A-Z]{2}", "Europe/London"),
        ("de", "DE", r"\d{5}", "Europe/Berlin"),
        ("fr", "FR", r"\d{5}", "Europe/Paris"),
        ("pt-BR", "BR", r"\d{5}-\d{3}", "America/"),
        ("pl", "PL", r"\d{2}-\d{3}", "Europe/Warsaw"),
        ("ja", "JP", r"\d{3}-\d{4}", "Asia/Tokyo"),
        ("fa", "IR", r"\d{5}-\d{5}", "Asia/Tehran"),
    ],
)
def test_a_records_address_fields_describe_one_place(
    locale: str, country: str, postcode: str, zone: str
) -> None:
    places = locales.places(locale)
    coordinates = {
        city: (lat, lon)
        for city, lat, lon in zip(
            places.cities.tolist(),
            places.latitudes.tolist(),
            places.longitudes.tolist(),
            strict=True,
        )
    }
    rows = records(ADDRESS, 500, locale=locale)
    for r in rows:
        assert r["cc"] == country
        assert r["country"] == places.country_name
        assert re.fullmatch(postcode, r["postcode"]), r["postcode"]
        assert re.match(zone, r["tz"]), r["tz"]
        # The point is within the jitter of the record's own city.
        lat, lon = coordinates[r["city"]]
        assert abs(r["lat"] - lat) <= locales.COORDINATE_JITTER + 1e-5
        assert abs(r["lon"] - lon) <= locales.COORDINATE_JITTER + 1e-5
    # Big cities are drawn more often than small ones.
    assert len({r["city"] for r in rows}) > 20


@pytest.mark.parametrize(
    ("locale", "city", "region"),
    [
        ("en-US", "Los Angeles", "California"),
        ("de", "Aachen", "North Rhine-Westphalia"),
        ("fr", "Marseille", "Bouches-du-Rhône"),
        ("ja", "大阪市", "大阪"),
        ("ar-AE", "دبي", "دبي"),
    ],
)
def test_a_records_region_is_its_citys(locale: str, city: str, region: str) -> None:
    places = locales.places(locale)
    pairs = dict(zip(places.cities.tolist(), places.city_regions.tolist(), strict=True))
    assert pairs[city] == region
    raw = [{"name": "city", "type": "city"}, {"name": "region", "type": "region"}]
    for r in records(raw, 300, locale=locale):
        assert pairs[r["city"]] == r["region"]


def test_entities_separate_two_addresses_and_locales_per_field() -> None:
    raw: list[dict[str, Any]] = [
        {"name": "billing_city", "type": "city"},
        {"name": "billing_tz", "type": "timezone"},
        {"name": "shipping_city", "type": "city", "entity": "shipping"},
        {"name": "shipping_tz", "type": "timezone", "entity": "shipping"},
        {"name": "office", "type": "city", "entity": "office", "locale": "ja"},
        {"name": "office_tz", "type": "timezone", "entity": "office"},
    ]
    rows = records(raw, 1000, locale="de")
    assert sum(r["billing_city"] != r["shipping_city"] for r in rows) > 900
    assert {r["billing_tz"] for r in rows} == {"Europe/Berlin"}
    assert {r["office_tz"] for r in rows} == {"Asia/Tokyo"}
    assert set(locales.places("ja").cities.tolist()) >= {r["office"] for r in rows}


def test_one_fields_locale_is_its_whole_entitys() -> None:
    raw = [
        {"name": "first", "type": "first_name", "locale": "de"},
        {"name": "gender", "type": "gender"},
        {"name": "company", "type": "company", "locale": "fr"},
        {"name": "domain", "type": "company_domain"},
        {"name": "work", "type": "work_email"},
    ]
    female, male = (set(t.tolist()) for t in locales.people("de").first)
    for r in records(raw, 500):
        assert r["first"] in (male if r["gender"] == "male" else female)
        assert r["work"].endswith("@" + r["domain"])
        assert any(r["company"].endswith(" " + s) for s in locales.companies("fr").suffixes)


def test_fields_of_one_entity_cannot_ask_for_two_locales() -> None:
    fields = [
        {"name": "first", "type": "first_name", "locale": "de"},
        {"name": "last", "type": "last_name", "locale": "ja"},
        {"name": "other", "type": "last_name", "entity": "b", "locale": "ja"},
    ]
    with pytest.raises(ValidationError) as info:
        GenerateRequest.model_validate({"record_type": "t", "count": 5, "fields": fields})
    (error,) = info.value.errors()
    assert error["loc"] == ("fields", 1, "last_name", "locale")
    assert "already in locale 'de'" in error["msg"]


def test_a_nested_values_stream_is_not_its_containers() -> None:
    # With a small seed, [seed, block, position] and [seed, block, position, 0] would be one
    # stream (numpy pads entropy with zeros): the object's nulls would decide its first field.
    raw = [
        {"name": "o", "type": "object", "null_rate": 0.5,
         "fields": [{"name": "b", "type": "boolean"}]},
        {"name": "a", "type": "array", "null_rate": 0.5, "min_items": 1, "max_items": 1,
         "of": {"name": "b", "type": "boolean"}},
    ]  # fmt: skip
    rows = records(raw, 2000, seed=42)
    assert {r["o"]["b"] for r in rows if r["o"] is not None} == {True, False}
    assert {r["a"][0] for r in rows if r["a"] is not None} == {True, False}


def test_templates_write_each_value_as_itself() -> None:
    raw: list[dict[str, Any]] = [
        {"name": "e", "type": "enum", "values": [1, True, 1.0, 0, False]},
        {"name": "o", "type": "object", "fields": [{"name": "n", "type": "integer", "max": 9}]},
        {"name": "t", "type": "template", "template": "{e}|{o}"},
    ]
    # Non-text values read as their JSON: 1, 1.0 and true stay apart though they are equal keys.
    for r in records(raw, 300):
        assert r["t"] == f"{json.dumps(r['e'])}|{json.dumps(r['o'], separators=(',', ':'))}"


def test_at_least_twelve_locales_with_a_right_to_left_script() -> None:
    wanted = {"en-US", "en-GB", "de", "fr", "es", "it", "pt-BR", "nl", "pl", "ja", "zh", "ar-AE"}
    assert wanted <= set(locales._SOURCES)
    names = [r["full"] for r in records(PERSON[:3], 20, locale="ar-AE")]
    assert all(re.search("[\u0600-\u06ff]", n) for n in names)


def test_templates_read_the_records_fields_with_filters() -> None:
    raw: list[dict[str, Any]] = [
        {"name": "first", "type": "first_name"},
        {
            "name": "email",
            "type": "template",
            "template": "{first|ascii|lower}.{last|slug}@acme.test",
        },
        {"name": "last", "type": "last_name"},
        {"name": "tag", "type": "template", "template": "{{{first|upper}}}-{n}"},
        {"name": "n", "type": "integer", "min": 1, "max": 9},
    ]
    for r in records(raw, 300, locale="de"):
        first = anyascii(r["first"]).lower()
        assert r["email"] == f"{first}.{locales.ascii_slug(r['last'], '-')}@acme.test"
        assert r["tag"] == "{" + r["first"].upper() + "}-" + str(r["n"])


def test_after_keeps_the_gap_and_follows_nulls() -> None:
    raw: list[dict[str, Any]] = [
        {"name": "signed_up", "type": "datetime", "null_rate": 0.2},
        {"name": "ordered", "type": "datetime", "after": "signed_up", "max_gap_days": 3},
        {"name": "born", "type": "date"},
        {"name": "wed", "type": "date", "after": "born", "max_gap_days": 10},
    ]
    rows = records(raw, 2000)
    for r in rows:
        if r["signed_up"] is None:
            assert r["ordered"] is None
            continue
        a = dt.datetime.fromisoformat(r["signed_up"])
        b = dt.datetime.fromisoformat(r["ordered"])
        assert dt.timedelta(0) <= b - a <= dt.timedelta(days=3)
        gap = dt.date.fromisoformat(r["wed"]) - dt.date.fromisoformat(r["born"])
        assert dt.timedelta(0) <= gap <= dt.timedelta(days=10)
    assert 300 < sum(r["signed_up"] is None for r in rows) < 500


@pytest.mark.parametrize(
    ("distribution", "mean", "tolerance"),
    [
        ({"type": "normal", "mean": 500, "stddev": 50}, 500, 5),
        ({"type": "exponential", "mean": 40}, 40, 3),
        ({"type": "poisson", "lam": 7}, 7, 0.3),
        ({"type": "lognormal", "mu": 3, "sigma": 0.5}, float(np.exp(3 + 0.125)), 1.5),
    ],
)
def test_distributions_have_their_mean(
    distribution: dict[str, Any], mean: float, tolerance: float
) -> None:
    for kind in ("integer", "float"):
        raw = [{"name": "x", "type": kind, "min": 0, "max": 10_000, "distribution": distribution}]
        values = [r["x"] for r in records(raw, 5000)]
        assert abs(statistics.fmean(values) - mean) < tolerance
        assert all(0 <= v <= 10_000 for v in values)


def test_zipf_makes_the_first_values_common_and_clipping_holds() -> None:
    raw: list[dict[str, Any]] = [
        {
            "name": "x",
            "type": "integer",
            "min": 1,
            "max": 50,
            "distribution": {"type": "zipf", "s": 2},
        }
    ]
    values = [r["x"] for r in records(raw, 5000)]
    assert values.count(1) > 0.5 * len(values)
    assert max(values) == 50  # the long tail is clipped to max


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"type": "normal", "mean": 1, "stddev": 0}, "stddev"),
        ({"type": "poisson", "lam": -1}, "lam"),
        ({"type": "zipf", "s": 1}, "s"),
        ({"type": "pareto"}, "distribution"),
    ],
)
def test_bad_distributions_name_the_option(option: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_field({"name": "x", "type": "integer", "distribution": option})
    assert any(message in ".".join(map(str, e["loc"])) for e in info.value.errors())


def test_permutation_is_a_bijection_of_any_domain() -> None:
    for domain in (1, 2, 7, 1000, 65_537):
        image = permute(np.arange(domain), domain, (1, 2)).tolist()
        assert sorted(image) == list(range(domain))
    assert permute(np.arange(100), 10**6, (1,)).tolist() != list(range(100))


def test_unique_fields_have_exactly_count_distinct_values_whatever_the_chunks() -> None:
    raw: list[dict[str, Any]] = [
        {"name": "id", "type": "uuid", "unique": True},
        {"name": "n", "type": "integer", "min": 10, "max": 12_009, "unique": True},
        {"name": "code", "type": "string", "min_length": 1, "max_length": 3, "unique": True,
         "alphabet": "abcdefghijklmnopqrstuvwxyz"},
        {"name": "email", "type": "email", "unique": True},
        {"name": "login", "type": "username", "unique": True},
        {"name": "s", "type": "sequence", "unique": True},
    ]  # fmt: skip
    fields, count = specs(raw), 12_000
    whole = generate_json_rows(fields, 5, 0, count, count=count)
    parts = [
        generate_json_rows(fields, 5, a, a + 2500, count=count) for a in range(0, 10_000, 2500)
    ]
    parts.append(generate_json_rows(fields, 5, 10_000, count, count=count))
    assert [row for part in parts for row in part] == whole
    rows = [json.loads(r) for r in whole]
    for name in ("id", "n", "code", "email", "login", "s"):
        assert len({r[name] for r in rows}) == count, name
    # Every integer of a range exactly as big as count appears once.
    assert sorted(r["n"] for r in rows) == list(range(10, 12_010))
    assert all(uuid.UUID(r["id"]).version == 4 for r in rows)


def test_a_persons_unique_username_and_email_share_their_number() -> None:
    raw = [
        {"name": "login", "type": "username", "unique": True},
        {"name": "email", "type": "email", "unique": True},
    ]
    for r in records(raw, 3000):
        assert r["email"].startswith(r["login"] + "@")


def test_a_unique_string_of_one_record_may_be_empty() -> None:
    raw = [{"name": "s", "type": "string", "min_length": 0, "max_length": 0, "unique": True}]
    GenerateRequest.model_validate({"record_type": "t", "count": 1, "fields": raw})
    assert records(raw, 1) == [{"s": ""}]


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        (
            [{"name": "o", "type": "object", "fields": [
                {"name": "s", "type": "sequence", "start": 2**63 - 3}]}],
            ("fields", 0, "object", "fields", 0, "sequence", "step"),
        ),
        (
            [{"name": "a", "type": "array", "max_items": 100, "of": {
                "name": "s", "type": "sequence", "start": -(2**63), "step": 2**62}}],
            ("fields", 0, "array", "of", "sequence", "step"),
        ),
    ],
)  # fmt: skip
def test_a_nested_sequence_must_fit_64_bits_over_every_slot(
    fields: list[dict[str, Any]], loc: tuple[Any, ...]
) -> None:
    with pytest.raises(ValidationError) as info:
        GenerateRequest.model_validate({"record_type": "t", "count": 10, "fields": fields})
    (error,) = info.value.errors()
    assert error["loc"] == loc


def test_a_record_holds_a_bounded_number_of_values() -> None:
    deep: dict[str, Any] = {"name": "x", "type": "enum", "values": [0]}
    for _ in range(3):
        deep = {"name": "x", "type": "array", "min_items": 30, "max_items": 30, "of": deep}
    with pytest.raises(ValidationError, match="can hold 27931 values"):
        GenerateRequest.model_validate({"record_type": "t", "count": 1, "fields": [deep]})


def test_the_request_refuses_a_space_smaller_than_count() -> None:
    def request(field: dict[str, Any], count: int) -> None:
        GenerateRequest.model_validate({"record_type": "t", "count": count, "fields": [field]})

    with pytest.raises(ValidationError, match="holds only 10 distinct values"):
        request({"name": "n", "type": "integer", "min": 1, "max": 10, "unique": True}, 11)
    request({"name": "n", "type": "integer", "min": 1, "max": 10, "unique": True}, 10)
    with pytest.raises(ValidationError, match="only 4 distinct"):
        request(
            {
                "name": "s",
                "type": "string",
                "min_length": 0,
                "max_length": 2,
                "alphabet": "ab",
                "unique": True,
            },
            5,
        )
    with pytest.raises(ValidationError, match="cannot have nulls"):
        request({"name": "e", "type": "email", "unique": True, "null_rate": 0.1}, 5)
    with pytest.raises(ValidationError, match="step other than 0"):
        request({"name": "s", "type": "sequence", "step": 0, "unique": True}, 5)


@pytest.mark.parametrize(
    ("fields", "loc", "message"),
    [
        (
            [{"name": "t", "type": "template", "template": "{nope}"}],
            ("fields", 0, "template", "template"),
            "reads 'nope'",
        ),
        (
            [{"name": "t", "type": "template", "template": "{t}"}],
            ("fields", 0, "template", "template"),
            "cycle: t -> t",
        ),
        (
            [
                {"name": "a", "type": "template", "template": "{b}"},
                {"name": "b", "type": "template", "template": "{a}"},
            ],
            ("fields", 0, "template", "template"),
            "cycle: a -> b -> a",
        ),
        (
            [{"name": "t", "type": "template", "template": "{x|shout}"}],
            ("fields", 0, "template"),
            "filter 'shout'",
        ),
        (
            [{"name": "t", "type": "template", "template": "a { b"}],
            ("fields", 0, "template"),
            "unmatched",
        ),
        (
            [{"name": "t", "type": "template", "template": "plain"}],
            ("fields", 0, "template"),
            "at least one field",
        ),
        (
            [{"name": "n", "type": "integer"}, {"name": "d", "type": "date", "after": "n"}],
            ("fields", 1, "date", "after"),
            "not a date or datetime",
        ),
        (
            [
                {
                    "name": "o",
                    "type": "object",
                    "fields": [
                        {"name": "id", "type": "uuid"},
                        {"name": "id", "type": "integer"},
                    ],
                }
            ],
            ("fields", 0, "object", "fields", 1, "integer", "name"),
            "both named 'id'",
        ),
        (
            [
                {
                    "name": "o",
                    "type": "object",
                    "fields": [{"name": "id", "type": "uuid", "unique": True}],
                }
            ],
            ("fields", 0, "object", "fields", 0, "uuid", "unique"),
            "cannot be unique",
        ),
        (
            [
                {"name": "n", "type": "integer"},
                {
                    "name": "a",
                    "type": "array",
                    "of": {"name": "t", "type": "template", "template": "{n}"},
                },
            ],
            ("fields", 1, "array", "of"),
            "cannot read other fields",
        ),
        (
            [{"name": "x", "type": "city", "locale": "xx"}],
            ("fields", 0, "city", "locale"),
            "Input should be",
        ),
    ],
)
def test_derived_field_errors_are_validation_errors_at_the_option(
    fields: list[dict[str, Any]], loc: tuple[Any, ...], message: str
) -> None:
    with pytest.raises(ValidationError) as info:
        GenerateRequest.model_validate({"record_type": "t", "count": 5, "fields": fields})
    (error,) = info.value.errors()
    assert error["loc"] == loc
    assert message in error["msg"]


def test_nested_objects_and_arrays() -> None:
    raw: list[dict[str, Any]] = [
        {
            "name": "address",
            "type": "object",
            "fields": [
                {"name": "city", "type": "city"},
                {"name": "tz", "type": "timezone"},
                {"name": "label", "type": "template", "template": "{city|upper}"},
            ],
        },
        {
            "name": "tags",
            "type": "array",
            "of": {"name": "t", "type": "slug"},
            "min_items": 1,
            "max_items": 3,
        },
    ]
    rows = records(raw, 500, locale="fr")
    for r in rows:
        assert r["address"]["tz"] == "Europe/Paris"
        assert r["address"]["label"] == r["address"]["city"].upper()
        assert 1 <= len(r["tags"]) <= 3
        assert all(re.fullmatch(r"[a-z]+(-[a-z]+)*", t) for t in r["tags"])
    assert generate_json_rows(specs(raw), 11, 0, 500, count=500) == generate_json_rows(
        specs(raw), 11, 0, 500, count=500
    )


def test_references_draw_only_the_sources_values() -> None:
    ids = [str(uuid.UUID(int=i)) for i in range(1, 101)]
    uniform = parse_field(
        {"name": "user", "type": "reference", "dataset_id": str(uuid.uuid4()), "field": "id"}
    )
    zipf = parse_field(
        {"name": "hot", "type": "reference", "dataset_id": str(uuid.uuid4()), "field": "id",
         "distribution": "zipf", "s": 1.5}
    )  # fmt: skip
    sources = {"user": Source.of(uniform, ids), "hot": Source.of(zipf, ids)}  # type: ignore[arg-type]
    rows = [json.loads(r) for r in generate_json_rows([uniform, zipf], 3, 0, 5000, sources=sources)]
    assert {r["user"] for r in rows} <= set(ids)
    assert len({r["user"] for r in rows}) == 100
    hot = [r["hot"] for r in rows]
    assert hot.count(ids[0]) > 5 * hot.count(ids[9])
    with pytest.raises(ValueError, match="no source values"):
        generate_json_rows([uniform], 3, 0, 5)
