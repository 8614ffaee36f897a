"""Masking rules, evaluated by the real Postgres over JSON documents like the records' data."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import io
import ipaddress
import random
import re
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg
import orjson
import pytest
from pydantic import TypeAdapter, ValidationError

from datatasks.core.config import Settings
from datatasks.exports.masking import (
    Fake,
    Hash,
    MaskError,
    MaskRule,
    Redact,
    Rule,
    Truncate,
    check_mask,
    check_rule,
    describe_mask,
    formula_safe,
    masked_jsonb,
    masked_text,
    masked_type,
)
from datatasks.exports.query import FORMULA_START, Select
from datatasks.generation import locales

KEY = b"test-masking-key"
RULE = TypeAdapter(MaskRule)
MASK = TypeAdapter(dict[str, MaskRule])
MISSING = object()
FAKE_TYPES = [
    "email", "work_email", "first_name", "last_name", "full_name", "phone", "ip_address", "ipv6",
    "uuid", "integer", "sequence", "float", "latitude", "boolean", "date", "datetime",
    "naive_datetime", "city", "street_address", "postcode", "string", "sentence", "object",
    "price", "enum", None,
]  # fmt: skip


def rule(value: Any) -> Rule:
    parsed: Rule = RULE.validate_python(value)
    return parsed


@pytest.fixture
async def conn(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(settings.asyncpg_dsn)
    yield connection
    await connection.close()


async def masked(
    conn: asyncpg.Connection,
    mask: Any,
    kind: str | None,
    values: Sequence[Any],
    *,
    as_json: bool = False,
    key: bytes = KEY,
    locale: str = locales.DEFAULT_LOCALE,
) -> list[Any]:
    """The masked field `x` of one document per value (MISSING: a document without it); for
    JSON, the values the jsonb parses to."""
    select = Select()
    build = masked_jsonb if as_json else masked_text
    expression = build(select, "x", rule(mask), kind, key, locale=locale)
    documents = [orjson.dumps({} if v is MISSING else {"x": v}).decode() for v in values]
    rows = await conn.fetch(
        f"SELECT ({expression})::text FROM unnest({select.bind(documents)}::jsonb[]) "
        "WITH ORDINALITY AS records(data, n) ORDER BY n",
        *select.args,
    )
    texts = [row[0] for row in rows]
    return [orjson.loads(t) if as_json and t is not None else t for t in texts]


# Rules


def test_rules_take_a_name_or_an_object_with_options() -> None:
    mask = MASK.validate_python(
        {
            "email": "hash",
            "name": "fake",
            "notes": "redact",
            "born": {"rule": "truncate", "to": "year"},
            "zip": {"rule": "truncate", "keep": 3},
            "ip": {"rule": "truncate", "prefix": 16},
            "ip6": "truncate",
        }
    )
    assert mask == {
        "email": Hash(rule="hash"),
        "name": Fake(rule="fake"),
        "notes": Redact(rule="redact"),
        "born": Truncate(rule="truncate", to="year"),
        "zip": Truncate(rule="truncate", keep=3),
        "ip": Truncate(rule="truncate", prefix=16),
        "ip6": Truncate(rule="truncate"),
    }
    # A stored request (model_dump) validates back to the same rules.
    dumped = {name: r.model_dump(mode="json", exclude_none=True) for name, r in mask.items()}
    assert MASK.validate_python(dumped) == mask


def test_the_openapi_schema_shows_both_forms_and_describes_them() -> None:
    schema = RULE.json_schema()
    text = orjson.dumps(schema).decode()
    names = next(s for s in schema["anyOf"] if s.get("type") == "string")
    assert sorted(names["enum"]) == ["fake", "hash", "redact", "truncate"]
    for model in ("Redact", "Hash", "Fake", "Truncate"):
        assert model in schema["$defs"]
        assert schema["$defs"][model]["description"]
    for option in ("to", "keep", "prefix", "prefix6"):
        assert schema["$defs"]["Truncate"]["properties"][option]["description"]
    assert "HMAC" in text


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("scramble", "does not match any of the expected tags"),
        ({"rule": "scramble"}, "does not match any of the expected tags"),
        ({"to": "year"}, "Unable to extract tag using discriminator"),
        (42, "valid dictionary"),
        ({"rule": "hash", "salt": "x"}, "Extra inputs are not permitted"),
        ({"rule": "redact", "keep": 3}, "Extra inputs are not permitted"),
        ({"rule": "truncate", "to": "week"}, "'day', 'month' or 'year'"),
        ({"rule": "truncate", "keep": 0}, "greater than or equal to 1"),
        ({"rule": "truncate", "prefix": 33}, "less than or equal to 32"),
        ({"rule": "truncate", "prefix6": 129}, "less than or equal to 128"),
        ({"rule": "truncate", "to": "year", "keep": 4}, "one of to, keep or prefix/prefix6"),
        ({"rule": "truncate", "keep": 4, "prefix6": 64}, "one of to, keep or prefix/prefix6"),
    ],
)
def test_malformed_rules_are_refused(value: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        rule(value)


@pytest.mark.parametrize(
    ("mask", "kind", "message"),
    [
        ({"rule": "truncate", "to": "month"}, "integer", "applies to dates and datetimes"),
        ({"rule": "truncate", "to": "month"}, "string", "applies to dates and datetimes"),
        ({"rule": "truncate", "keep": 2}, "integer", "applies to text, not integer"),
        ({"rule": "truncate", "keep": 2}, "boolean", "applies to text, not boolean"),
        ({"rule": "truncate", "keep": 2}, "object", "applies to text, not object"),
        ({"rule": "truncate", "prefix": 8}, "date", "applies to IP addresses"),
        ({"rule": "truncate", "prefix6": 8}, "string", "applies to IP addresses"),
        ({"rule": "truncate", "prefix": 8}, "ipv6", "takes prefix6, not prefix"),
        ("truncate", "date", "needs an option, such as to"),
        ("truncate", "postcode", "needs an option, such as keep"),
        ("truncate", None, "type is unknown"),
    ],
)
def test_rules_that_do_not_fit_the_type_are_refused(
    mask: Any, kind: str | None, message: str
) -> None:
    with pytest.raises(MaskError, match=re.escape(message)):
        check_rule("f", rule(mask), kind)
    # The SQL builders refuse them too, rather than write nulls.
    with pytest.raises(MaskError, match=re.escape(message)):
        masked_text(Select(), "f", rule(mask), kind, KEY)


@pytest.mark.parametrize(
    ("mask", "kind"),
    [
        ({"rule": "truncate", "to": "day"}, "date"),
        ({"rule": "truncate", "to": "day"}, "datetime"),
        ({"rule": "truncate", "to": "day"}, None),
        ({"rule": "truncate", "keep": 3}, "postcode"),
        ({"rule": "truncate", "keep": 3}, None),
        ("truncate", "ip_address"),
        ("truncate", "ipv6"),
        ({"rule": "truncate", "prefix6": 32}, "ipv6"),
        ({"rule": "truncate", "prefix": 8}, None),
        ("hash", "object"),
        ("fake", None),
        ("redact", "integer"),
    ],
)
def test_rules_that_fit_the_type_pass(mask: Any, kind: str | None) -> None:
    check_rule("f", rule(mask), kind)


def test_check_mask_names_every_misfit() -> None:
    mask = MASK.validate_python(
        {"age": {"rule": "truncate", "to": "year"}, "zip": "truncate", "email": "hash"}
    )
    with pytest.raises(MaskError) as error:
        check_mask(mask, {"age": "integer", "zip": "postcode", "email": "email"})
    assert str(error.value).count(";") == 1
    assert "age:" in str(error.value)
    assert "zip:" in str(error.value)
    check_mask({"email": mask["email"]}, {"email": "email"})


def test_describe_mask_lists_the_rules_with_the_options_in_effect() -> None:
    mask = MASK.validate_python(
        {
            "email": "hash",
            "name": "fake",
            "notes": "redact",
            "born": {"rule": "truncate", "to": "year"},
            "zip": {"rule": "truncate", "keep": 3},
            "ip": {"rule": "truncate", "prefix": 16},
            "ip6": "truncate",
        }
    )
    described = describe_mask(mask, {"ip": "ip_address", "ip6": "ipv6"})
    assert described == [
        {"field": "email", "rule": "hash", "algorithm": "hmac-sha256"},
        {"field": "name", "rule": "fake"},
        {"field": "notes", "rule": "redact"},
        {"field": "born", "rule": "truncate", "to": "year"},
        {"field": "zip", "rule": "truncate", "keep": 3},
        {"field": "ip", "rule": "truncate", "prefix": 16, "prefix6": 48},
        {"field": "ip6", "rule": "truncate", "prefix6": 48},
    ]
    assert orjson.loads(orjson.dumps(described)) == described


def test_masked_values_keep_their_type_unless_they_become_text() -> None:
    assert masked_type(rule("hash"), "date") == "string"
    assert masked_type(rule({"rule": "truncate", "keep": 4}), "date") == "string"
    assert masked_type(rule({"rule": "truncate", "to": "year"}), "datetime") == "datetime"
    assert masked_type(rule("fake"), "integer") == "integer"
    assert masked_type(rule("redact"), "boolean") == "boolean"
    assert masked_type(rule("fake"), None) is None


def test_formula_safety_of_masked_cells() -> None:
    assert formula_safe(rule("hash"), None)
    assert formula_safe(rule("redact"), "string")
    assert formula_safe(rule("fake"), "string")
    assert not formula_safe(rule("fake"), "phone")
    assert formula_safe(rule({"rule": "truncate", "to": "year"}), "date")
    assert not formula_safe(rule({"rule": "truncate", "keep": 1}), "string")


# SQL


@pytest.mark.parametrize("kind", FAKE_TYPES)
@pytest.mark.parametrize("as_json", [False, True])
def test_a_masked_cell_computes_its_hmac_once(kind: str | None, as_json: bool) -> None:
    # Two sha256 calls make most of a masked cell's cost: every expression evaluates at most
    # one HMAC per row, however many parts of it it uses (a row takes one branch of a CASE).
    for mask in ("hash", "fake"):
        select = Select()
        build = masked_jsonb if as_json else masked_text
        sql = build(select, "x", rule(mask), kind, KEY)
        for branch in re.split(r"\b(?:WHEN|ELSE)\b", sql):
            assert branch.count("sha256(") <= 2, sql
        assert "\x01" not in sql
        assert "\x02" not in sql


def test_field_names_and_the_key_stay_out_of_the_sql() -> None:
    name = 'it\'s "x"; DROP TABLE records; --'
    select = Select()
    sql = masked_text(select, name, rule("fake"), "first_name", KEY)
    sql += masked_text(select, name, rule("hash"), None, KEY)
    assert name not in sql
    assert name in select.args
    assert KEY.decode() not in sql
    # The pads are bound, and neither is the key itself.
    assert not [a for a in select.args if isinstance(a, bytes) and KEY in a]


def test_an_empty_key_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        masked_text(Select(), "x", rule("hash"), None, b"")


async def test_the_expressions_run_inside_the_export_copy(conn: asyncpg.Connection) -> None:
    await conn.execute("CREATE TEMP TABLE records (id bigserial PRIMARY KEY, data jsonb)")
    documents = [
        {"email": "ann@mail.test", "name": "Ann", "ip": "10.1.2.3", "born": "1990-04-05", "n": 1},
        {"email": "bob@mail.test", "name": "Bob", "ip": "not an ip", "born": "soon", "n": 2},
        {"email": None, "ip": "2001:db8:1:2::9", "born": None, "n": 3},
    ]
    await conn.executemany(
        "INSERT INTO records (data) VALUES ($1::jsonb)",
        [(orjson.dumps(d).decode(),) for d in documents],
    )
    mask = MASK.validate_python(
        {
            "email": "hash",
            "name": "fake",
            "ip": "truncate",
            "born": {"rule": "truncate", "to": "year"},
        }
    )
    types = {"email": "email", "name": "first_name", "ip": "ip_address", "born": "date"}
    select = Select()
    columns = [masked_text(select, f, mask[f], types[f], KEY) for f in mask]
    columns.append(f"data->>{select.text('n')}")
    out = io.BytesIO()

    async def write(data: bytes) -> None:
        out.write(data)

    query = f"SELECT {', '.join(columns)} FROM records ORDER BY id"
    status = await conn.copy_from_query(query, *select.args, output=write, format="csv")
    assert status == "COPY 3"
    rows = list(csv.reader(io.StringIO(out.getvalue().decode())))
    names = set(locales.people("en-US").names("first").written.tolist())
    digest = hmac.new(KEY, b"ann@mail.test", hashlib.sha256).hexdigest()
    assert rows[0][0] == digest
    assert rows[0][1] in names
    assert rows[0][2:] == ["10.1.2.0", "1990-01-01", "1"]
    assert rows[1][2:4] == ["", ""]
    assert rows[2] == ["", "", "2001:db8:1::", "", "3"]


# Hash


@pytest.mark.parametrize(
    "key",
    [b"k", KEY, b"\x00\xff" * 32, b"a-key-longer-than-one-block-" * 4],
    ids=lambda key: f"{len(key)} bytes",
)
async def test_hash_is_the_hmac_sha256_of_the_value_text(
    conn: asyncpg.Connection, key: bytes
) -> None:
    values = ["ann@mail.test", "", "é ✓ 東京", "x" * 1000, 42, -1.50, True, {"a": [1, None]}, [2]]
    texts = await conn.fetch(
        "SELECT d->>'x' FROM unnest($1::jsonb[]) WITH ORDINALITY AS v(d, n) ORDER BY n",
        [orjson.dumps({"x": v}).decode() for v in values],
    )
    expected = [hmac.new(key, t[0].encode(), hashlib.sha256).hexdigest() for t in texts]
    assert await masked(conn, "hash", None, values, key=key) == expected
    # JSON: the same pseudonym, as a string, whatever the value's type.
    assert await masked(conn, "hash", "integer", values, key=key, as_json=True) == expected


async def test_hash_is_the_same_for_the_same_value_and_differs_by_key(
    conn: asyncpg.Connection,
) -> None:
    first = await masked(conn, "hash", "email", ["a@x.test", "a@x.test", "b@x.test"])
    assert first[0] == first[1] != first[2]
    assert await masked(conn, "hash", "string", ["a@x.test"]) == first[:1]
    other = await masked(conn, "hash", "email", ["a@x.test"], key=b"another key")
    assert other[0] != first[0]
    assert re.fullmatch("[0-9a-f]{64}", first[0])


# Nulls


NULL_RULES: list[tuple[Any, list[str | None]]] = [
    ("redact", ["string", "integer", None]),
    ("hash", ["string", "integer", None]),
    ("fake", FAKE_TYPES),
    ({"rule": "truncate", "to": "month"}, ["date", "datetime", None]),
    ({"rule": "truncate", "keep": 2}, ["postcode", None]),
    ("truncate", ["ip_address", "ipv6"]),
    ({"rule": "truncate", "prefix": 8}, [None]),
]


@pytest.mark.parametrize(("mask", "kinds"), NULL_RULES)
@pytest.mark.parametrize("as_json", [False, True])
async def test_null_and_missing_values_stay_null(
    conn: asyncpg.Connection, mask: Any, kinds: list[str | None], as_json: bool
) -> None:
    for kind in kinds:
        assert await masked(conn, mask, kind, [None, MISSING], as_json=as_json) == [None, None]


async def test_redact_nulls_every_value(conn: asyncpg.Connection) -> None:
    values = ["text", 5, True, {"a": 1}]
    assert await masked(conn, "redact", None, values) == [None] * 4
    assert await masked(conn, "redact", None, values, as_json=True) == [None] * 4


# Fake


def in_networks(text: str, *networks: str) -> bool:
    address = ipaddress.ip_address(text)
    return any(address in ipaddress.ip_network(n) for n in networks)


DOC_V4 = ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
FIRST = set(locales.people("en-US").names("first").written.tolist())
LAST = set(locales.people("en-US").names("last").written.tolist())


def same_shape(original: str, fake: str) -> bool:
    """Digits where the original has digits, letters where it has letters, the rest kept."""
    if len(original) != len(fake):
        return False
    for a, b in zip(original, fake, strict=True):
        if a.isdigit() != b.isdigit() or a.isupper() != b.isupper() or a.islower() != b.islower():
            return False
        if not a.isalnum() and a != b:
            return False
    return True


def full_name(text: str) -> bool:
    first, _, last = text.partition(" ")
    return first in FIRST and last in LAST


def timestamp(text: str, form: str) -> bool:
    moment = dt.datetime.strptime(text, form)
    return dt.datetime(1970, 1, 1) <= moment < dt.datetime(2030, 1, 1)


FAKES: list[tuple[str, list[Any], Any]] = [
    ("email", ["ann@mail.test"], re.compile(r"user-[0-9a-f]{10}@example\.com").fullmatch),
    ("work_email", ["ann@corp.test"], re.compile(r"user-[0-9a-f]{10}@example\.com").fullmatch),
    ("first_name", ["Ann", "Émile"], FIRST.__contains__),
    ("last_name", ["Smith"], LAST.__contains__),
    ("full_name", ["Ann Smith"], full_name),
    ("phone", ["555"], re.compile(r"\+1-555-01[0-9]{2}").fullmatch),
    ("phone", ["+1-(202)-555-0143"], re.compile(r"\+1-555-01[0-9]{8}").fullmatch),
    ("ip_address", ["10.0.0.1"], lambda v: in_networks(v, *DOC_V4)),
    ("ip_address", ["fe80::1"], lambda v: in_networks(v, "2001:db8::/32")),
    ("ipv6", ["fe80::1"], lambda v: in_networks(v, "2001:db8::/32")),
    ("uuid", [str(uuid.uuid4())], lambda v: uuid.UUID(v).version == 4 and str(uuid.UUID(v)) == v),
    ("date", ["2024-05-17"], lambda v: timestamp(v, "%Y-%m-%d")),
    ("datetime", ["2024-05-17T10:11:12Z"], lambda v: timestamp(v, "%Y-%m-%dT%H:%M:%SZ")),
    ("naive_datetime", ["2024-05-17 10:11"], lambda v: timestamp(v, "%Y-%m-%dT%H:%M:%S")),
    ("city", ["Springfield"], set(locales.places("en-US").cities.tolist()).__contains__),
    ("street_address", ["12 Main St"], re.compile(r"[0-9]{1,3} \S.*").fullmatch),
    ("postcode", ["12345"], lambda v: same_shape("12345", v)),
    ("postcode", ["SW1A 1AA"], lambda v: same_shape("SW1A 1AA", v)),
    ("string", ["Hello, world!"], re.compile("[a-z]{13}").fullmatch),
    ("sentence", ["x" * 150], re.compile("[a-z]{150}").fullmatch),
    ("paragraph", ["y" * 5000], re.compile("[a-z]{5000}").fullmatch),
    ("string", [""], "".__eq__),
]


@pytest.mark.parametrize(("kind", "values", "fits"), FAKES, ids=lambda x: str(x)[:20])
async def test_fakes_look_like_the_type(
    conn: asyncpg.Connection, kind: str, values: list[Any], fits: Any
) -> None:
    fakes = await masked(conn, "fake", kind, values)
    for value, fake in zip(values, fakes, strict=True):
        assert fake != value or value == ""
        assert fits(fake), (kind, value, fake)
    # JSON writes the same text, as a string.
    assert await masked(conn, "fake", kind, values, as_json=True) == fakes


async def test_fakes_of_one_value_are_one_fake_and_depend_on_the_key(
    conn: asyncpg.Connection,
) -> None:
    names = [f"person{i}" for i in range(20)]
    for kind in ("email", "uuid", "first_name", "ip_address", "date", "integer"):
        values: list[Any] = list(range(1000, 1020)) if kind == "integer" else names
        fakes = await masked(conn, "fake", kind, [*values, *values])
        assert fakes[:20] == fakes[20:], kind
        assert len(set(fakes[:20])) > 10, kind
        assert await masked(conn, "fake", kind, values) == fakes[:20]
        others = await masked(conn, "fake", kind, values, key=b"another key")
        assert sum(a != b for a, b in zip(others, fakes, strict=False)) > 10, kind


@pytest.mark.parametrize(
    ("kind", "value", "shape"),
    [
        ("integer", 0, r"[1-9]"),
        ("integer", 42, r"[1-9][0-9]"),
        ("integer", -42, r"-[1-9][0-9]"),
        ("integer", "1234", r"[1-9][0-9]{3}"),  # an uploaded CSV's column: text
        ("integer", 2**62, r"[1-9][0-9]{17}"),
        ("sequence", 7, r"[1-9]"),
        ("float", 3.14, r"[1-9][.][0-9]{2}"),
        ("float", -0.001, r"-[1-9][.][0-9]{3}"),
        ("float", 12.0, r"[1-9][0-9][.][0-9]"),
        ("float", "1.5e3", r"[1-9][.][0-9]"),
        ("latitude", 52.52, r"[1-9][0-9][.][0-9]{2}"),
    ],
)
async def test_fake_numbers_keep_sign_and_digits_and_stay_numbers(
    conn: asyncpg.Connection, kind: str, value: Any, shape: str
) -> None:
    (text,) = await masked(conn, "fake", kind, [value])
    assert re.fullmatch(shape, text), text
    (number,) = await masked(conn, "fake", kind, [value], as_json=True)
    assert isinstance(number, int if "." not in shape else float)
    assert number == (int(text) if "." not in shape else float(text))


async def test_fake_booleans_stay_booleans(conn: asyncpg.Connection) -> None:
    values = [True, False, "true", "FALSE", *(f"{i}" for i in range(30))]
    texts = await masked(conn, "fake", "boolean", values)
    assert set(texts) == {"true", "false"}
    flags = await masked(conn, "fake", "boolean", values, as_json=True)
    assert flags == [t == "true" for t in texts]


async def test_fakes_of_an_unknown_type_keep_each_value_json_type(
    conn: asyncpg.Connection,
) -> None:
    values = ["hello", 12.5, -3, True, {"a": "b"}, [1, 2]]
    for kind in (None, "enum", "price"):
        fakes = await masked(conn, "fake", kind, values, as_json=True)
        assert re.fullmatch("[a-z]{5}", fakes[0])
        assert isinstance(fakes[1], float)
        assert re.fullmatch(r"[1-9][0-9][.][0-9]", str(fakes[1]))
        assert isinstance(fakes[2], int)
        assert -9 <= fakes[2] <= -1
        assert isinstance(fakes[3], bool)
        assert fakes[4:] == [None, None]
        texts = await masked(conn, "fake", kind, values)
        assert texts == [fakes[0], str(fakes[1]), str(fakes[2]), str(fakes[3]).lower(), None, None]
    assert await masked(conn, "fake", "object", [{"a": 1}], as_json=True) == [None]


async def test_fake_names_come_from_the_locale(conn: asyncpg.Connection) -> None:
    people = locales.people("hu")
    first = set(people.names("first").written.tolist())
    last = set(people.names("last").written.tolist())
    values = [f"name{i}" for i in range(10)]
    for fake in await masked(conn, "fake", "first_name", values, locale="hu"):
        assert fake in first
    # Hungarian names are written family name first.
    for fake in await masked(conn, "fake", "full_name", values, locale="hu"):
        family, given = fake.split(" ", 1)
        assert family in last
        assert given in first


# Truncate


@pytest.mark.parametrize(
    ("kind", "to", "value", "expected"),
    [
        ("date", "year", "2024-05-17", "2024-01-01"),
        ("date", "month", "2024-05-17", "2024-05-01"),
        ("date", "day", "2024-05-17", "2024-05-17"),
        ("date", "month", "not a date", None),
        ("date", "month", "17/05/2024", None),
        ("date", "month", "2024-05-17T10:11:12Z", None),
        ("date", "month", "", None),
        ("datetime", "month", "2024-05-17T10:11:12Z", "2024-05-01T00:00:00Z"),
        ("datetime", "year", "2024-05-17T10:11:12Z", "2024-01-01T00:00:00Z"),
        ("datetime", "day", "2024-05-17T10:11:12Z", "2024-05-17T00:00:00Z"),
        ("datetime", "month", "2024-05-17 10:11:12.1+02:00", "2024-05-01 00:00:00.0+02:00"),
        ("datetime", "day", "2024-05-17T23:59:59-0530", "2024-05-17T00:00:00-0530"),
        ("naive_datetime", "month", "2024-05-17T10:11", "2024-05-01T00:00"),
        ("datetime", "month", "2024-05-17T25", None),
        ("datetime", "month", "2024-05-17T10:11:12 UTC", None),
        ("datetime", "month", "May 17, 2024", None),
        (None, "month", "2024-05-17", "2024-05-01"),
        (None, "year", "1999-12-31T23:59:59Z", "1999-01-01T00:00:00Z"),
        (None, "year", "1999", None),
    ],
)  # fmt: skip
async def test_truncate_dates(
    conn: asyncpg.Connection, kind: str | None, to: str, value: str, expected: str | None
) -> None:
    mask = {"rule": "truncate", "to": to}
    assert await masked(conn, mask, kind, [value]) == [expected]
    assert await masked(conn, mask, kind, [value], as_json=True) == [expected]


async def test_truncate_dates_of_other_json_types_is_null(conn: asyncpg.Connection) -> None:
    mask = {"rule": "truncate", "to": "year"}
    assert await masked(conn, mask, None, [20240517, True, {"d": "2024-05-17"}]) == [None] * 3


async def test_truncate_keeps_a_prefix_of_text(conn: asyncpg.Connection) -> None:
    mask = {"rule": "truncate", "keep": 3}
    values = ["SW1A 1AA", "12345", "東京都千代田区", "ab", ""]
    expected = ["SW1", "123", "東京都", "ab", ""]
    assert await masked(conn, mask, "postcode", values) == expected
    assert await masked(conn, mask, "string", values, as_json=True) == expected


@pytest.mark.parametrize(
    ("mask", "value", "expected"),
    [
        ("truncate", "192.168.12.34", "192.168.12.0"),
        ({"rule": "truncate", "prefix": 16}, "192.168.12.34", "192.168.0.0"),
        ({"rule": "truncate", "prefix": 0}, "192.168.12.34", "0.0.0.0"),
        ({"rule": "truncate", "prefix": 32}, "192.168.12.34", "192.168.12.34"),
        ({"rule": "truncate", "prefix": 20}, "10.1.255.7", "10.1.240.0"),
        ("truncate", "2001:db8:85a3:1234:5678::1", "2001:db8:85a3::"),
        ({"rule": "truncate", "prefix6": 64}, "2001:DB8:85A3:1234:5678::1", "2001:db8:85a3:1234::"),
        ({"rule": "truncate", "prefix": 8}, "2001:db8:85a3:1234::1", "2001:db8:85a3::"),
        ("truncate", "::ffff:10.1.2.3", "::"),
    ],
)
async def test_truncate_ips_to_their_network(
    conn: asyncpg.Connection, mask: Any, value: str, expected: str
) -> None:
    assert await masked(conn, mask, "ip_address", [value]) == [expected]
    assert await masked(conn, mask, None if mask != "truncate" else "ip_address", [value]) == [
        expected
    ]


async def test_truncate_ips_of_values_that_are_no_ip_is_null(conn: asyncpg.Connection) -> None:
    values = [
        "999.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.4/24", " 1.2.3.4", "1.2.3.4\n",
        "hello", "", ":::", "1::2::3", "12345::", "fe80::1%eth0", "::g",
        "\u0661.\u0662.\u0663.\u0664", 1234, True, {"ip": "1.2.3.4"},
    ]  # fmt: skip
    assert await masked(conn, "truncate", "ip_address", values) == [None] * len(values)
    assert await masked(conn, "truncate", "ipv6", values, as_json=True) == [None] * len(values)


def ip_candidates(rng: random.Random) -> list[str]:
    """Addresses in every textual form, and near misses of them."""
    valid = []
    for _ in range(300):
        v4 = ipaddress.IPv4Address(rng.getrandbits(32))
        # Zero runs, so that "::" turns up in every position.
        groups = [
            0 if rng.random() < 0.4 else rng.getrandbits(rng.choice([4, 8, 16])) for _ in "12345678"
        ]
        v6 = ipaddress.IPv6Address(int("".join(f"{g:04x}" for g in groups), 16))
        valid += [str(v4), v6.compressed, v6.exploded, v6.compressed.upper()]
        valid.append(":".join(v6.exploded.split(":")[:6]) + ":" + str(v4))
        valid.append(f"::ffff:{v4}")
    misses = []
    for text in valid:
        at = rng.randrange(len(text) + 1)
        char = rng.choice("0123456789abcdefgG:.%/ -x")
        misses += [text[:at] + char + text[at:], text[:at] + text[at + 1 :], text + char]
    return valid + misses


async def test_truncate_takes_exactly_the_addresses_python_takes(
    conn: asyncpg.Connection,
) -> None:
    # The patterns are what keeps a bad value from failing the COPY at the inet cast: anything
    # they let through must cast, and they should not refuse real addresses.
    candidates = ip_candidates(random.Random(7))
    identity = {"rule": "truncate", "prefix": 32, "prefix6": 128}
    results = await masked(conn, identity, "ip_address", candidates)
    for text, result in zip(candidates, results, strict=True):
        try:
            address: ipaddress.IPv4Address | ipaddress.IPv6Address | None
            address = None if "%" in text else ipaddress.ip_address(text)
        except ValueError:
            address = None
        if address is None:
            assert result is None, text
        else:
            assert result is not None, text
            assert ipaddress.ip_address(result) == address, text
    assert sum(r is not None for r in results) > 1800


async def test_masked_cells_never_start_a_formula_where_safe(conn: asyncpg.Connection) -> None:
    values = ["=1+2", "+44 20", "-x", "@me", "\tx", 42, -42]
    for kind in ("string", "email", "first_name", "integer", None):
        assert formula_safe(rule("fake"), kind)
        for fake in await masked(conn, "fake", kind, values):
            if fake is not None and fake.startswith(FORMULA_START):
                assert re.fullmatch(r"-[0-9]+", fake), (kind, fake)
