"""Standalone field types: every type's values have the properties they promise, through the
public parse and generate API, and bad options fail validation naming the option."""

from __future__ import annotations

import datetime as dt
import ipaddress
import mimetypes
import re
import subprocess
import sys
import unicodedata
from typing import Any, get_args

import orjson
import pytest
from pydantic import ValidationError
from stdnum import ean, iban, isbn, luhn

from datatasks.generation.fields import FIELD_MODELS, catalogue, parse_field
from datatasks.generation.generator import generate_json_rows
from datatasks.generation.sizing import record_bytes
from datatasks.generation.standalone import StandaloneSpec

STANDALONE_TYPES = [
    get_args(model.model_fields["type"].annotation)[0] for model in get_args(StandaloneSpec)
]
ROWS = 3000


def values(type_name: str, seed: int = 7, count: int = ROWS, **options: Any) -> list[Any]:
    spec = parse_field({"name": "f", "type": type_name, **options})
    return [orjson.loads(row)["f"] for row in generate_json_rows([spec], seed, 0, count)]


def test_the_new_types_are_in_the_catalogue() -> None:
    listed = [entry["type"] for entry in catalogue()]
    assert set(STANDALONE_TYPES) <= set(listed)
    assert len(STANDALONE_TYPES) == len(set(STANDALONE_TYPES)) >= 37
    assert all(model in FIELD_MODELS for model in get_args(StandaloneSpec))


@pytest.mark.parametrize("type_name", STANDALONE_TYPES)
def test_every_type_is_deterministic_chunk_independent_and_within_its_size_bound(
    type_name: str,
) -> None:
    spec = parse_field({"name": "f", "type": type_name})
    whole = generate_json_rows([spec], 11, 0, ROWS)
    assert whole == generate_json_rows([spec], 11, 0, 1500) + generate_json_rows(
        [spec], 11, 1500, ROWS
    )
    assert whole == generate_json_rows([spec], 11, 0, ROWS)
    assert whole != generate_json_rows([spec], 12, 0, ROWS)
    assert max(len(row.encode()) for row in whole) <= record_bytes([spec])
    drawn = [orjson.loads(row)["f"] for row in whole]
    assert None not in drawn
    assert len(set(map(str, drawn))) > 1, "values vary"


@pytest.mark.parametrize("type_name", STANDALONE_TYPES)
def test_nulls_come_at_the_null_rate(type_name: str) -> None:
    drawn = values(type_name, null_rate=0.5)
    assert 0.4 < drawn.count(None) / len(drawn) < 0.6


# --- credentials and payment ---------------------------------------------------------------


def test_bcrypt_hashes_look_like_bcrypt() -> None:
    for value in values("password_hash"):
        assert re.fullmatch(r"\$2b\$12\$[./A-Za-z0-9]{53}", value)
        # 16 salt bytes in 22 characters: the last one carries 2 bits, so it's one of four.
        assert value[28] in ".Oeu"
    assert all(v.startswith("$2b$04$") for v in values("password_hash", rounds=4))


def test_argon2id_and_pbkdf2_hashes_follow_their_formats() -> None:
    for value in values("password_hash", algorithm="argon2id", rounds=2):
        assert re.fullmatch(
            r"\$argon2id\$v=19\$m=65536,t=2,p=4\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}", value
        )
    for value in values("password_hash", algorithm="pbkdf2_sha256"):
        assert re.fullmatch(r"pbkdf2_sha256\$870000\$[A-Za-z0-9]{22}\$[A-Za-z0-9+/]{43}=", value)


TEST_PREFIXES = {
    "visa": ("411111", "401288", "424242", "400005"),
    "mastercard": ("555555", "510510", "222300", "520082"),
    "amex": ("378282", "371449", "378734"),
    "discover": ("601111", "601100", "601198"),
}


@pytest.mark.parametrize("network", [*TEST_PREFIXES, None])
def test_card_numbers_are_luhn_valid_in_test_ranges(network: str | None) -> None:
    drawn = values("credit_card_number", network=network)
    prefixes = TEST_PREFIXES[network] if network else sum(TEST_PREFIXES.values(), ())
    for number in drawn:
        assert number.isdigit()
        assert luhn.is_valid(number)
        assert number[:6] in prefixes
        assert len(number) == (15 if number[:2] in ("34", "37") else 16)
    assert {n[:6] for n in drawn} == set(prefixes)


def test_grouped_card_numbers() -> None:
    for number in values("credit_card_number", grouped=True):
        digits = number.replace(" ", "")
        assert luhn.is_valid(digits)
        groups = [len(g) for g in number.split(" ")]
        assert groups == ([4, 6, 5] if len(digits) == 15 else [4, 4, 4, 4])


def test_cvv_and_expiry() -> None:
    assert all(re.fullmatch(r"[0-9]{3}", v) for v in values("credit_card_cvv"))
    assert all(re.fullmatch(r"[0-9]{4}", v) for v in values("credit_card_cvv", digits=4))
    drawn = values("credit_card_expiry", start="2027-03-15", end="2028-02-01")
    months = {dt.date(2000 + int(v[3:]), int(v[:2]), 1) for v in drawn}
    assert all(re.fullmatch(r"(0[1-9]|1[0-2])/[0-9]{2}", v) for v in drawn)
    assert min(months) == dt.date(2027, 3, 1)
    assert max(months) == dt.date(2028, 2, 1)
    assert len(months) == 12


def mod97(value: str) -> int:
    moved = value[4:] + value[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97


@pytest.mark.parametrize("country", ["DE", "gb", "FR", "NL", "BR", "MT"])
def test_ibans_have_valid_check_digits_and_the_country_format(country: str) -> None:
    drawn = values("iban", country=country)
    for value in drawn:
        assert value.startswith(country.upper())
        assert mod97(value) == 1
        # stdnum checks the length and BBAN format from the registry too.
        assert iban.validate(value, check_country=False) == value
    assert len({v[2:4] for v in drawn}) > 50


def test_formatted_ibans_are_groups_of_four() -> None:
    for value in values("iban", formatted=True, country="DE"):
        assert re.fullmatch(r"DE[0-9]{2}( [0-9]{4}){4} [0-9]{2}", value)
        assert mod97(value.replace(" ", "")) == 1


def test_bics() -> None:
    assert all(re.fullmatch(r"[A-Z]{4}[A-Z]{2}[A-Z2-9]{2}", v) for v in values("bic"))
    for value in values("bic", country="ch", branch=True):
        assert re.fullmatch(r"[A-Z]{4}CH[A-Z2-9]{2}[A-Z0-9]{3}", value)


def test_currency_codes_are_iso_4217() -> None:
    import pycountry

    drawn = set(values("currency_code"))
    assert {"EUR", "USD", "JPY"} <= drawn
    assert all(pycountry.currencies.get(alpha_3=c) is not None for c in drawn)
    assert not drawn & {"XAU", "XTS", "XXX"}


def test_prices_are_numbers_within_bounds_with_their_decimals() -> None:
    drawn = values("price", min=5, max=6, decimals=1)
    assert all(isinstance(v, float) and 5 <= v <= 6 for v in drawn)
    assert all(round(v, 1) == v for v in drawn)
    assert set(values("price", min=3, max=9, decimals=0)) <= {float(i) for i in range(3, 10)}
    tagged = values("price", min=1, max=10, currency="eur", currency_position="prefix")
    assert all(re.fullmatch(r"EUR ([1-9]|10)\.[0-9]{2}", v) for v in tagged)
    assert all(re.fullmatch(r"[0-9.]+ USD", v) for v in values("price", currency="USD"))


# --- internet -----------------------------------------------------------------------------


def test_user_agents_look_like_browsers() -> None:
    drawn = values("user_agent")
    assert all(v.startswith("Mozilla/5.0 (") for v in drawn)
    assert len(set(drawn)) > 500
    mobile = re.compile(r"Mobile|Android|iPhone|iPad")
    assert all(mobile.search(v) for v in values("user_agent", device="mobile"))
    assert not any(mobile.search(v) for v in values("user_agent", device="desktop"))


def test_mac_addresses_are_unicast() -> None:
    for value in values("mac_address"):
        assert re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", value)
        assert int(value[:2], 16) & 0b11 == 0
    for value in values("mac_address", separator="-", upper=True, locally_administered=True):
        assert re.fullmatch(r"([0-9A-F]{2}-){5}[0-9A-F]{2}", value)
        assert int(value[:2], 16) & 0b11 == 0b10
    assert all(re.fullmatch(r"[0-9a-f]{12}", v) for v in values("mac_address", separator=""))


@pytest.mark.parametrize("network", ["2001:db8::/32", "fd00::/8", "2001:db8:0:1::/64", "::/0"])
def test_ipv6_addresses_are_compressed_and_in_the_network(network: str) -> None:
    net = ipaddress.IPv6Network(network)
    drawn = values("ipv6", network=network)
    for value in drawn:
        address = ipaddress.IPv6Address(value)
        assert address in net
        assert value == str(address), "RFC 5952 form, as ipaddress prints it"
    assert len(set(drawn)) == len(drawn)


def test_ipv6_in_a_network_with_zero_groups_uses_double_colon() -> None:
    assert all(v.startswith("2001:db8:0:1:") for v in values("ipv6", network="2001:db8:0:1::/64"))
    assert all(v.startswith("2001:db8::") for v in values("ipv6", network="2001:db8::/96"))


def test_ports_within_bounds() -> None:
    drawn = values("port", min=1024, max=1030)
    assert set(drawn) == set(range(1024, 1031))
    assert all(1 <= p <= 65535 for p in values("port"))


def test_domain_names_http_methods_and_statuses() -> None:
    label = r"[a-z]+"
    assert all(re.fullmatch(rf"{label}\.{label}", v) for v in values("domain_name"))
    assert all(v.startswith("www.") for v in values("domain_name", subdomain=True))
    assert set(values("http_method")) == {
        "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
    }  # fmt: skip
    statuses = values("http_status")
    assert {200, 404, 500} <= set(statuses)
    assert all(isinstance(s, int) and 100 <= s <= 599 for s in statuses)
    assert {s // 100 for s in values("http_status", classes=[4, 5])} == {4, 5}


# --- files ---------------------------------------------------------------------------------


def test_file_names_extensions_and_mime_types() -> None:
    assert all(re.fullmatch(r"[a-z]+_[a-z]+\.[a-z0-9.]+", v) for v in values("file_name"))
    images = values("file_name", category="image")
    guessed = {mimetypes.MimeTypes().guess_type(v)[0] for v in images}
    assert all(t is not None and t.startswith("image/") for t in guessed)
    assert all(re.fullmatch(r"[a-z0-9.]+", v) for v in values("file_extension"))
    assert all(v.startswith(".") for v in values("file_extension", leading_dot=True))
    known = set(mimetypes.MimeTypes().types_map[1].values())
    drawn = values("mime_type")
    assert set(drawn) <= known
    assert "application/json" in drawn
    assert all(v.startswith("image/") for v in values("mime_type", top_level="image"))


# --- business ------------------------------------------------------------------------------


def test_job_titles_departments_and_products() -> None:
    jobs = values("job_title")
    assert len(set(jobs)) > 500
    assert all(v[0].isupper() for v in jobs)
    assert "Human Resources" in values("department")
    assert all(
        re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+ [A-Z][a-z]+", v) for v in values("product_name")
    )


def test_skus() -> None:
    assert all(re.fullmatch(r"[A-Z]{3}-[0-9]{5}", v) for v in values("sku"))
    assert all(re.fullmatch(r"SHOE1-[0-9]{8}", v) for v in values("sku", prefix="SHOE1", digits=8))


def test_isbns_are_valid_and_hyphenated_like_the_agency_ranges() -> None:
    drawn = values("isbn")
    assert {v[:3] for v in drawn} == {"978", "979"}
    assert all(len(v) == 13 and isbn.is_valid(v) for v in drawn)
    for value in values("isbn", hyphens=True, prefix="979"):
        assert value.startswith("979-")
        # stdnum hyphenates by the International ISBN Agency's ranges: the same split.
        assert isbn.format(value.replace("-", "")) == value
    assert all(v.startswith("978") for v in values("isbn", prefix="978"))


def test_ean13_check_digits() -> None:
    drawn = values("ean13")
    assert all(len(v) == 13 and ean.is_valid(v) for v in drawn)
    assert all(v.startswith("400") and ean.is_valid(v) for v in values("ean13", prefix="400"))


# --- text ----------------------------------------------------------------------------------

SEMVER = re.compile(
    r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-(alpha|beta|rc)\.[1-9][0-9]*)?"
)


def test_semver() -> None:
    drawn = values("semver", max_major=2, prerelease_rate=0.5)
    assert all(SEMVER.fullmatch(v) for v in drawn)
    assert {int(v.split(".")[0]) for v in drawn} == {0, 1, 2}
    assert 0.4 < sum("-" in v for v in drawn) / len(drawn) < 0.6
    assert not any("-" in v for v in values("semver"))


def test_slugs_and_words() -> None:
    drawn = values("slug", min_words=2, max_words=3)
    assert all(re.fullmatch(r"[a-z]+(-[a-z]+){1,2}", v) for v in drawn)
    assert {v.count("-") for v in drawn} == {1, 2}
    assert all(re.fullmatch(r"[a-z]+", v) for v in values("word"))


# --- time ----------------------------------------------------------------------------------


def test_epochs_within_bounds_in_seconds_and_milliseconds() -> None:
    start, end = dt.datetime(2024, 1, 1, tzinfo=dt.UTC), dt.datetime(2024, 1, 2, tzinfo=dt.UTC)
    seconds = values("epoch", start=start.isoformat(), end=end.isoformat())
    assert all(isinstance(s, int) and start.timestamp() <= s <= end.timestamp() for s in seconds)
    millis = values("epoch", start="2024-01-01T00:00:00.0005Z", end=end.isoformat(), unit="ms")
    assert all(start.timestamp() * 1000 < m <= end.timestamp() * 1000 for m in millis)
    assert min(millis) > 1_700_000_000_000


def test_times_of_day_within_bounds() -> None:
    drawn = values("time", start="09:00:00.5", end="09:00:03")
    assert set(drawn) == {"09:00:01", "09:00:02", "09:00:03"}
    assert all(re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]", v) for v in values("time"))


CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def test_ulids_are_crockford_base32_with_the_time_in_range() -> None:
    start = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    end = dt.datetime(2025, 6, 2, tzinfo=dt.UTC)
    drawn = values("ulid", start=start.isoformat(), end=end.isoformat())
    for value in drawn:
        assert re.fullmatch(f"[0-7][{CROCKFORD}]{{25}}", value)
        millis = 0
        for char in value[:10]:
            millis = millis * 32 + CROCKFORD.index(char)
        assert start.timestamp() * 1000 <= millis <= end.timestamp() * 1000
    assert len(set(drawn)) == len(drawn)


# --- patterns ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "regex",
    [
        r"[A-Z]{3}-[0-9]{4}",
        r"(foo|ba[rz]){1,3}\d{2,4}",
        r"^[a-f0-9]{8}-[a-f0-9]{4}$",
        r"[^a-z\s]{5}\.x?",
        r"\w{1,10}@example\.(com|org)",
        r"(?i)[a-c]{2}|Z{0,2}",
        r"(?P<n>[0-9]{2})\W",
    ],
)
def test_pattern_values_fully_match_the_regex(regex: str) -> None:
    drawn = values("pattern", regex=regex)
    assert all(re.fullmatch(regex, v) for v in drawn)
    assert len(set(drawn)) > 1


def test_pattern_default_and_output_is_the_same_whatever_the_hash_seed() -> None:
    assert all(re.fullmatch(r"[A-Z]{3}-[0-9]{4}", v) for v in values("pattern"))
    code = (
        "from datatasks.generation.fields import parse_field;"
        "from datatasks.generation.generator import generate_json_rows;"
        "s = parse_field({'name': 'f', 'type': 'pattern', 'regex': r'[^a-z]{3}[^0-9].\\W\\S\\s'});"
        "print(generate_json_rows([s], 3, 0, 50))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={"PYTHONHASHSEED": hash_seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for hash_seed in ("1", "2", "3")
    }
    assert len(outputs) == 1


# --- digests, codes, symbols ----------------------------------------------------------------


def test_digests() -> None:
    assert all(re.fullmatch(r"[0-9a-f]{32}", v) for v in values("md5"))
    assert all(re.fullmatch(r"[0-9a-f]{64}", v) for v in values("sha256"))


def test_language_codes_colour_names_and_emoji() -> None:
    import pycountry

    languages = set(values("language_code"))
    assert {"en", "de"} <= languages
    assert all(pycountry.languages.get(alpha_2=v) is not None for v in languages)
    assert "Blue" in values("color_name")
    assert "cornflowerblue" in values("color_name", palette="css")
    faces = values("emoji", category="smileys_and_emotion")
    # Unicode 15's new faces are unassigned in Python 3.11's unicodedata, so only check the rest.
    assert all(unicodedata.category(v[0]) in ("So", "Cn") for v in faces)
    assert not any(v.isascii() for v in values("emoji"))
    flags = values("emoji", category="flags")
    assert any(all(0x1F1E6 <= ord(c) <= 0x1F1FF for c in v) and len(v) == 2 for v in flags)


# --- bad options ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_name", "options", "option"),
    [
        ("password_hash", {"algorithm": "md5crypt"}, "algorithm"),
        ("password_hash", {"rounds": 3}, "rounds"),
        ("password_hash", {"algorithm": "argon2id", "rounds": 1000}, "rounds"),
        ("credit_card_number", {"network": "jcb"}, "network"),
        ("credit_card_cvv", {"digits": 5}, "digits"),
        ("credit_card_expiry", {"start": "2030-01-01", "end": "2029-01-01"}, "start"),
        ("iban", {"country": "US"}, "country"),
        ("bic", {"country": "ZZ"}, "country"),
        ("price", {"min": 10, "max": 5}, "min"),
        ("price", {"decimals": 9}, "decimals"),
        ("price", {"min": -1}, "min"),
        ("price", {"currency": "DOLLARS"}, "currency"),
        ("mac_address", {"separator": "/"}, "separator"),
        ("ipv6", {"network": "10.0.0.0/8"}, "network"),
        ("ipv6", {"network": "2001:db8::1/32"}, "network"),
        ("port", {"max": 70000}, "max"),
        ("http_status", {"classes": []}, "classes"),
        ("http_status", {"classes": [6]}, "classes"),
        ("file_name", {"category": "spreadsheet"}, "category"),
        ("mime_type", {"top_level": "chemical"}, "top_level"),
        ("sku", {"prefix": "ab c"}, "prefix"),
        ("sku", {"digits": 0}, "digits"),
        ("isbn", {"prefix": "977"}, "prefix"),
        ("ean13", {"prefix": "12a"}, "prefix"),
        ("semver", {"prerelease_rate": 2}, "prerelease_rate"),
        ("slug", {"min_words": 5, "max_words": 2}, "min_words"),
        ("epoch", {"unit": "us"}, "unit"),
        ("epoch", {"start": "2024-01-02T00:00:00Z", "end": "2024-01-01T00:00:00Z"}, "start"),
        ("epoch", {"start": "2024-01-01T00:00:00.2Z", "end": "2024-01-01T00:00:00.7Z"}, "whole"),
        ("time", {"start": "10:00:00", "end": "09:00:00"}, "start"),
        ("time", {"start": "10:00:00+02:00"}, "time zone"),
        ("ulid", {"start": "1969-12-31T00:00:00Z"}, "start"),
        ("pattern", {"regex": "[a-z"}, "regex"),
        ("pattern", {"regex": "a+"}, "regex"),
        ("pattern", {"regex": "a*b"}, "regex"),
        ("pattern", {"regex": "x{2,}"}, "regex"),
        ("pattern", {"regex": "[a-z]{1000}[0-9]{5}"}, "regex"),
        ("pattern", {"regex": "(a)\\1"}, "regex"),
        ("pattern", {"regex": "a(?=b)b"}, "regex"),
        ("pattern", {"regex": "\\bword\\b"}, "regex"),
        ("color_name", {"palette": "x11"}, "palette"),
        ("emoji", {"category": "faces"}, "category"),
        ("language_code", {"region": "US"}, "region"),
        ("user_agent", {"device": "tv"}, "device"),
    ],
)
def test_bad_options_fail_naming_the_option(
    type_name: str, options: dict[str, Any], option: str
) -> None:
    with pytest.raises(ValidationError) as info:
        parse_field({"name": "f", "type": type_name, **options})
    assert option in str(info.value)


def test_pattern_rejects_unbounded_repetition_with_a_hint() -> None:
    with pytest.raises(ValidationError, match=r"bounded repetition.*\{m,n\}"):
        parse_field({"name": "f", "type": "pattern", "regex": "[0-9]+"})
