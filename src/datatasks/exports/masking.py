"""Masking rules for exported PII, applied by Postgres inside the export's COPY query.

Exports are written by `COPY (SELECT ...) TO STDOUT`, so a mask has to be SQL too: masking in
Python would mean parsing every row back out of the stream. Each rule here becomes one SQL
expression per masked field, over `data->>name` (the cell as text) or `data->name` (jsonb).

Pseudonyms are keyed: `hash` is HMAC-SHA256 with a key from the settings and `fake` values are
picked by the same HMAC's bytes, so a value masks the same way in every export (joins still
work) while nobody without the key can map a pseudonym or a fake back by hashing candidates.
The HMAC is built from Postgres's own `sha256(bytea)` (pgcrypto may not be installed): the key's
two pads are computed here and bound as bytea parameters, so the key never reaches the SQL text
or the file. Null and missing values stay null under every rule.
"""

from __future__ import annotations

import functools
import hashlib
import random
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from datatasks.generation import locales
from datatasks.generation.entities import _FAMILY_FIRST
from datatasks.generation.locales import DEFAULT_LOCALE

if TYPE_CHECKING:
    from datatasks.exports.query import Select

RuleName = Literal["redact", "hash", "fake", "truncate"]
TruncateTo = Literal["day", "month", "year"]
DEFAULT_PREFIX = 24
DEFAULT_PREFIX6 = 48


class MaskError(ValueError):
    """A rule that does not fit its field's type."""


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Redact(_Rule):
    """The value is written as null."""

    rule: Literal["redact"] = Field(description="null instead of the value")


class Hash(_Rule):
    """A pseudonym: HMAC-SHA256 of the value's text under the service's key, as 64 lowercase hex
    digits. The same value gives the same pseudonym in every export, so joins on it still work;
    the key is never written anywhere."""

    rule: Literal["hash"] = Field(description="keyed HMAC-SHA256 of the value, lowercase hex")


class Fake(_Rule):
    """A made-up value of the field's type, the same for the same original value (picked by the
    value's HMAC): names from the locale's name lists, emails at example.com, phone numbers in
    +1-555-01.., IP addresses in the documentation ranges, numbers with as many digits, dates
    in 1970-2029, other text as letters of the same length. Objects and arrays become null."""

    rule: Literal["fake"] = Field(description="a deterministic fake of the field's type")


class Truncate(_Rule):
    """Less precision: a date or datetime to its day, month or year (`to`); text to its first
    `keep` characters; an IP address to its network (`prefix` bits for IPv4, `prefix6` for
    IPv6, by default /24 and /48). A value the option does not fit (a text that is no date or
    no IP address) becomes null."""

    rule: Literal["truncate"] = Field(description="keep a prefix of the value")
    to: TruncateTo | None = Field(
        default=None,
        description="dates and datetimes: the first day of the month or year, or the day "
        "(a datetime keeps its form and zone, at midnight: 2024-05-17T10:11:12Z to month is "
        "2024-05-01T00:00:00Z)",
    )
    keep: int | None = Field(
        default=None, ge=1, le=10_000, description="text: how many leading characters stay"
    )
    prefix: int | None = Field(
        default=None,
        ge=0,
        le=32,
        description=f"IP addresses: network bits kept of an IPv4 address (default "
        f"{DEFAULT_PREFIX}); the rest become zero, written without a /length",
    )
    prefix6: int | None = Field(
        default=None,
        ge=0,
        le=128,
        description=f"IP addresses: network bits kept of an IPv6 address (default "
        f"{DEFAULT_PREFIX6})",
    )

    @model_validator(mode="after")
    def _one_kind_of_option(self) -> Self:
        given = [
            option
            for option, present in (
                ("to", self.to is not None),
                ("keep", self.keep is not None),
                ("prefix", self.prefix is not None or self.prefix6 is not None),
            )
            if present
        ]
        if len(given) > 1:
            raise ValueError(f"truncate takes one of to, keep or prefix/prefix6, not {given}")
        return self

    @property
    def by_network(self) -> bool:
        return self.to is None and self.keep is None


Rule = Redact | Hash | Fake | Truncate


def _shorthand(value: Any) -> Any:
    return {"rule": value} if isinstance(value, str) else value


MaskRule = Annotated[
    Rule,
    Field(discriminator="rule"),
    # "hash" is short for {"rule": "hash"}; the OpenAPI document shows both forms.
    BeforeValidator(_shorthand, json_schema_input_type=RuleName | Rule),
]


# How types are masked. Types not named here are masked by the JSON type of each value.
_EMAIL_TYPES = frozenset({"email", "work_email"})
_INTEGER_TYPES = frozenset({"integer", "sequence", "port", "http_status", "epoch"})
_NUMBER_TYPES = _INTEGER_TYPES | {"float", "latitude", "longitude"}
_DATE_TYPES = frozenset({"date"})
_DATETIME_TYPES = frozenset({"datetime", "naive_datetime"})
_IP_TYPES = frozenset({"ip_address", "ipv6"})
_NESTED_TYPES = frozenset({"object", "array"})
_TEXT_TYPES = frozenset({"string", "sentence", "paragraph", "template", "pattern"})


def check_rule(name: str, rule: Rule, kind: str | None) -> None:
    """Raise MaskError when `rule` does not fit a field of type `kind` (None: unknown, where
    only a truncate without options is refused, having no default to fall back on)."""
    if not isinstance(rule, Truncate):
        return
    if rule.to is not None:
        if kind is not None and kind not in _DATE_TYPES | _DATETIME_TYPES:
            raise MaskError(f"{name}: truncate to applies to dates and datetimes, not {kind}")
    elif rule.keep is not None:
        if kind in _NUMBER_TYPES | _NESTED_TYPES | {"boolean"}:
            raise MaskError(f"{name}: truncate keep applies to text, not {kind}")
    elif kind is None or kind in _IP_TYPES:
        if kind is None and rule.prefix is None and rule.prefix6 is None:
            raise MaskError(
                f"{name}: the field's type is unknown: truncate needs to (dates), keep (text) "
                "or prefix/prefix6 (IP addresses)"
            )
        if kind == "ipv6" and rule.prefix is not None:
            raise MaskError(f"{name}: holds IPv6 addresses: truncate takes prefix6, not prefix")
    elif rule.prefix is not None or rule.prefix6 is not None:
        raise MaskError(f"{name}: truncate prefix applies to IP addresses, not {kind}")
    else:
        hint = {"date": "to", "datetime": "to", "naive_datetime": "to"}.get(kind, "keep")
        raise MaskError(f"{name}: truncate of a {kind} needs an option, such as {hint}")


def check_mask(mask: Mapping[str, Rule], types: Mapping[str, str]) -> None:
    """Raise MaskError naming every masked field whose rule does not fit its known type."""
    problems = []
    for name, rule in mask.items():
        try:
            check_rule(name, rule, types.get(name))
        except MaskError as exc:
            problems.append(str(exc))
    if problems:
        raise MaskError("; ".join(problems))


def describe_mask(
    mask: Mapping[str, Rule], types: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """The rules as applied, for the export's result: one entry per masked field, in the mask's
    order, with the options in effect (an IP truncation's default prefixes included)."""
    described = []
    for name, rule in mask.items():
        entry: dict[str, Any] = {"field": name, "rule": rule.rule}
        if isinstance(rule, Hash):
            entry["algorithm"] = "hmac-sha256"
        if isinstance(rule, Truncate):
            entry.update(rule.model_dump(exclude={"rule"}, exclude_none=True))
            if rule.by_network:
                if (types or {}).get(name) != "ipv6":
                    entry["prefix"] = DEFAULT_PREFIX if rule.prefix is None else rule.prefix
                entry["prefix6"] = DEFAULT_PREFIX6 if rule.prefix6 is None else rule.prefix6
        described.append(entry)
    return described


def masked_type(rule: Rule, kind: str | None) -> str | None:
    """The type of the masked values, for what types a column (Parquet's schema, JSON's casts
    of uploaded text): a pseudonym or a kept prefix is a string; other rules keep the type."""
    if isinstance(rule, Hash) or (isinstance(rule, Truncate) and rule.keep is not None):
        return "string"
    return kind


def formula_safe(rule: Rule, kind: str | None) -> bool:
    """Whether the masked CSV cell can never start like a spreadsheet formula (= + - @ tab
    CR), other than as a number, so the export may skip the formula escape for it."""
    if isinstance(rule, Redact | Hash):
        return True
    if isinstance(rule, Fake):
        return kind != "phone"
    return rule.keep is None


def masked_text(
    select: Select,
    name: str,
    rule: Rule,
    kind: str | None,
    key: bytes,
    *,
    locale: str = DEFAULT_LOCALE,
) -> str:
    """A SQL text expression of the masked cell (SQL NULL for null), for CSV and Parquet: the
    same text `data->>name` would be for an unmasked value of the type."""
    check_rule(name, rule, kind)
    return _assemble(select, name, key, _expression(select, rule, kind, locale, as_json=False))


def masked_jsonb(
    select: Select,
    name: str,
    rule: Rule,
    kind: str | None,
    key: bytes,
    *,
    locale: str = DEFAULT_LOCALE,
) -> str:
    """A SQL jsonb expression of the masked value for JSON and NDJSON, or SQL NULL for null
    (as `data->name` is for a missing one). Numbers stay numbers and booleans booleans, as the
    field's type has them (an uploaded CSV's integer column, stored as text, gives numbers)."""
    check_rule(name, rule, kind)
    return _assemble(select, name, key, _expression(select, rule, kind, locale, as_json=True))


# The expressions below are written over placeholders for the value's text, its HMAC (bytea)
# and its JSON type; _assemble puts in the real expressions. Alternatives of which a row takes
# one (CASE branches) are separated by _OR, so an HMAC in each counts once.
_V, _H, _T, _OR = "\x01v", "\x01h", "\x01t", "\x02"
_X = f"encode({_H}, 'hex')"
# Reading a value again costs a fifth of what the sub-select that spares it does.
_INLINE_MOST = {_V: 4, _H: 1, _T: 1}


def _hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """HMAC's inner and outer key pads (RFC 2104), for SHA-256's 64-byte blocks."""
    if not key:
        raise ValueError("the masking key is empty")
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    padded = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in padded), bytes(b ^ 0x5C for b in padded)


def _hmac(select: Select, key: bytes, value: str) -> str:
    inner, outer = _hmac_pads(key)
    return (
        f"sha256({select.bind(outer)}::bytea || "
        f"sha256({select.bind(inner)}::bytea || convert_to({value}, 'UTF8')))"
    )


def _assemble(select: Select, name: str, key: bytes, expression: str) -> str:
    """`expression` with its placeholders filled in. The HMAC (two sha256 calls: most of a
    masked cell's cost) is computed once per cell: an expression that would compute it more
    than once (or read the value too often) gets it as a column of a sub-select, which OFFSET 0
    keeps the planner from inlining into every reference."""
    pieces = expression.split(_OR)
    expression = "".join(pieces)
    used = {
        token: max(piece.count(token) for piece in pieces)
        for token in (_V, _H, _T)
        if token in expression
    }
    if not used:
        return expression
    field = select.text(name)
    value = f"(data->>{field})"
    sources = {
        _V: lambda: value,
        _H: lambda: _hmac(select, key, value),
        _T: lambda: f"jsonb_typeof(data->{field})",
    }
    if all(count <= _INLINE_MOST[token] for token, count in used.items()):
        for token in used:
            expression = expression.replace(token, sources[token]())
        return expression
    columns = []
    for token in used:
        alias = "m" + token[1:]
        columns.append(f"{sources[token]()} AS {alias}")
        expression = expression.replace(token, f"m.{alias}")
    return f"(SELECT {expression} FROM (SELECT {', '.join(columns)} OFFSET 0) m)"  # noqa: S608


def _expression(select: Select, rule: Rule, kind: str | None, locale: str, *, as_json: bool) -> str:
    if isinstance(rule, Redact):
        return "NULL::jsonb" if as_json else "NULL::text"
    if isinstance(rule, Hash):
        return _as(_X, "string", as_json)
    if isinstance(rule, Truncate):
        return _as(_truncated(rule, kind), "string", as_json)
    return _fake(select, kind, locale, as_json=as_json)


JsonType = Literal["string", "number", "boolean"]


def _as(text: str, json_type: JsonType, as_json: bool) -> str:
    """`text` (a SQL text expression), or for JSON a jsonb value of that JSON type."""
    if not as_json:
        return text
    cast = {"string": "", "number": "::numeric", "boolean": "::boolean"}[json_type]
    return f"to_jsonb(({text}){cast})"


# What a truncation takes: a datetime is an ISO one (a value that is not becomes null rather
# than a garbled prefix); an IP address is one Postgres's inet takes (anything else would fail
# the COPY at the cast). Bracketed dots keep backslashes out of the SQL, whatever
# standard_conforming_strings says.
_ISO_MOMENT = (
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?"
    "(Z|[+-][0-9]{2}(:?[0-9]{2})?)?)?$"
)
_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4_PATTERN = f"^{_OCTET}([.]{_OCTET}){{3}}$"


def _ipv6_pattern() -> str:
    # RFC 3986's IPv6address, one alternative per position of the "::".
    h16, v4 = "[0-9A-Fa-f]{1,4}", f"{_OCTET}([.]{_OCTET}){{3}}"
    ls32 = f"({h16}:{h16}|{v4})"
    tails = [f"({h16}:){{4}}{ls32}", f"({h16}:){{3}}{ls32}", f"({h16}:){{2}}{ls32}"]
    tails += [f"{h16}:{ls32}", ls32, h16, ""]
    forms = [f"({h16}:){{6}}{ls32}", f"::({h16}:){{5}}{ls32}"]
    for before, tail in enumerate(tails):
        head = f"({h16})?" if before == 0 else f"(({h16}:){{0,{before}}}{h16})?"
        forms.append(f"{head}::{tail}")
    return "^(" + "|".join(forms) + ")$"


_IPV6_PATTERN = _ipv6_pattern()
_DATE_FILL = {"year": (4, "-01-01"), "month": (7, "-01"), "day": (10, "")}


def _truncated(rule: Truncate, kind: str | None) -> str:
    if rule.keep is not None:
        return f"left({_V}, {rule.keep})"
    if rule.to is not None:
        length, fill = _DATE_FILL[rule.to]
        date = f"left({_V}, {length}) || '{fill}'"
        if kind in _DATE_TYPES:
            # The schema vouches for the values: a shape check (LIKE costs a tenth of a regex,
            # and this runs for every cell) is enough never to garble another text.
            return f"CASE WHEN {_V} LIKE '____-__-__' THEN {date} END"
        # A datetime keeps its form and zone, its time set to zero: the time is what follows
        # the date up to the zone (Z, +hh:mm or -hh:mm).
        time = f"substring(substr({_V}, 11) from '^[T ]?[0-9:.]*')"
        zeroed = f"translate({time}, '123456789', '000000000') || substr({_V}, 11 + length({time}))"
        return f"CASE WHEN {_V} ~ '{_ISO_MOMENT}' THEN {date} || {zeroed} END"
    prefix = DEFAULT_PREFIX if rule.prefix is None else rule.prefix
    prefix6 = DEFAULT_PREFIX6 if rule.prefix6 is None else rule.prefix6
    # Without a colon a value can only be IPv4, with one only IPv6: one pattern is tried.
    return (
        f"CASE WHEN strpos({_V}, ':') = 0 THEN CASE WHEN {_V} ~ '{_IPV4_PATTERN}' "
        f"THEN host(network(set_masklen({_V}::inet, {prefix}))) END {_OR}"
        f"WHEN {_V} ~ '{_IPV6_PATTERN}' THEN host(network(set_masklen({_V}::inet, {prefix6}))) END"
    )


def _bits(size: int, offset: int = 0) -> str:
    """A non-negative integer of `size` (1 to 8) of the HMAC's bytes, from byte `offset`."""
    if size == 1:
        return f"get_byte({_H}, {offset})"
    bits = f"('x' || encode(substr({_H}, {offset + 1}, {size}), 'hex'))::bit({8 * size})"
    if size < 4:
        return f"{bits}::int"
    return f"{bits}::bigint" if size < 8 else f"({bits}::bigint & {2**63 - 1})"


@dataclass(frozen=True)
class _Slots:
    """Texts packed into one bytea in slots of one width (padded with spaces), so a pick costs
    the same for the last as for the first: an array subscript walks the elements before it,
    which for a few thousand names costs more than the rest of the export."""

    data: bytes
    width: int
    count: int


@functools.cache
def _slots(items: tuple[str, ...]) -> _Slots:
    encoded = [item.strip().encode() for item in items]
    width = max([1, *(len(e) for e in encoded)])
    return _Slots(b"".join(e.ljust(width, b" ") for e in encoded), width, len(encoded))


def _pick(select: Select, items: Sequence[str], offset: int = 0) -> str:
    """One of `items`, by three of the HMAC's bytes from byte `offset`."""
    slots = _slots(tuple(items))
    data = select.bind(slots.data)
    start = f"({_bits(3, offset)} % {slots.count}) * {slots.width} + 1"
    return f"rtrim(convert_from(substr({data}::bytea, {start}, {slots.width}), 'UTF8'))"


def _names(locale: str, part: str) -> list[str]:
    names: list[str] = locales.people(locale).names(part).written.tolist()
    return names


def _full_name(select: Select, locale: str) -> str:
    first = _pick(select, _names(locale, "first"))
    last = _pick(select, _names(locale, "last"), 3)
    language = locale.split("-")[0]
    if language in _FAMILY_FIRST:
        return f"{last} || {select.text(_FAMILY_FIRST[language])} || {first}"
    return f"{first} || ' ' || {last}"


def _street_address(select: Select, locale: str) -> str:
    places = locales.places(locale)
    parts = {
        "st_num": f"(1 + {_bits(1, 6)} % 199)::text",
        "st_name": _pick(select, places.streets.tolist()),
        "st_sfx": _pick(select, places.street_suffixes.tolist(), 3),
    }
    pieces = []
    for literal, field, _, _ in string.Formatter().parse(places.street_format):
        if literal:
            pieces.append(select.text(literal))
        if field:
            pieces.append(parts[field])
    return f"trim({' || '.join(pieces)})"


# 18 digits, the first not 0, from eight of the HMAC's bytes.
_DIGITS = f"(100000000000000000 + {_bits(8)} % 900000000000000000)::text"


def _integer() -> str:
    """An integer with the value's sign and as many digits (at most 18, the first not 0)."""
    return (
        f"CASE WHEN left({_V}, 1) = '-' THEN '-' ELSE '' END || "
        f"left({_DIGITS}, length({_V}) - (left({_V}, 1) = '-')::int)"
    )


def _number() -> str:
    """A number written like the value: its sign and as many digits before the point and
    after it (at most 18 in all, the first not 0). An exponent (in uploaded text) is dropped."""
    mantissa = f"split_part(ltrim(lower({_V}), '-'), 'e', 1)"
    digits = f"left({_DIGITS}, length({mantissa}) - (strpos({mantissa}, '.') > 0)::int)"
    return (
        f"CASE WHEN left({_V}, 1) = '-' THEN '-' ELSE '' END || "
        f"CASE WHEN strpos({_V}, '.') > 0 "
        f"THEN overlay({digits} placing '.' from strpos({mantissa}, '.') for 0) {_OR}"
        f"ELSE {digits} END"
    )


_BOOLEAN = f"CASE {_bits(1)} % 2 WHEN 1 THEN 'true' WHEN 0 THEN 'false' END"


@functools.cache
def _pool(alphabet: str, size: int) -> bytes:
    """`size` characters drawn from `alphabet` (ASCII), the same in every process."""
    rng = random.Random(f"masking {alphabet}")
    return "".join(rng.choices(alphabet, k=size)).encode()


def _chars(select: Select, alphabet: str, length: str) -> str:
    """`length` (at most 4096) characters of `alphabet`, from a place in a bound pool of them
    that two of the HMAC's bytes choose: a slice costs the same for any place, where turning
    the HMAC's hex into letters with translate() costs more than the rest of the row."""
    pool = select.bind(_pool(alphabet, 65_536 + 4_096))
    return f"convert_from(substr({pool}::bytea, 1 + {_bits(2)}, {length}), 'UTF8')"


def _text(select: Select) -> str:
    """Letters, as many as the value has characters (beyond 4096, a fixed alphabet's)."""
    letters = _chars(select, string.ascii_lowercase, f"least(length({_V}), 4096)")
    return f"rpad({letters}, length({_V}), '{string.ascii_lowercase}')"


def _postcode(select: Select) -> str:
    """Each digit and letter replaced by one the HMAC picks: the postcode keeps its country's
    shape, whatever the locale."""
    blocks = select.bind(_postcode_blocks())
    size = len(_POSTCODE_FROM)
    target = (
        f"convert_from(substr({blocks}::bytea, 1 + ({_bits(2)} % 1024) * {size}, {size}), 'UTF8')"
    )
    return f"translate({_V}, '{_POSTCODE_FROM}', {target})"


_POSTCODE_FROM = string.digits + string.ascii_uppercase + string.ascii_lowercase


@functools.cache
def _postcode_blocks() -> bytes:
    """1024 replacements of _POSTCODE_FROM: a digit for each digit, a letter for each letter."""
    rng = random.Random("masking postcodes")
    alphabets = [string.digits] * 10 + [string.ascii_uppercase] * 26 + [string.ascii_lowercase] * 26
    return "".join(rng.choice(a) for _ in range(1024) for a in alphabets).encode()


# The documentation networks (RFC 5737, RFC 3849).
_IPV4_ADDRESSES = tuple(
    f"{network}{host}"
    for network in ("192.0.2.", "198.51.100.", "203.0.113.")
    for host in range(1, 255)
)
_IPV6 = f"host(inet '2001:db8::' + {_bits(8)})"
_UUID = f"overlay(overlay(left({_X}, 32) placing '4' from 13 for 1) placing '8' from 17 for 1)"
# Days from 1970-01-01 to 2029-12-31, and seconds.
_DAYS = 21_915
_DATETIME = (
    f"to_char(TIMESTAMP '1970-01-01' + ({_bits(4)} % {_DAYS * 86_400}) * INTERVAL '1 second', "
)


def _fake(select: Select, kind: str | None, locale: str, *, as_json: bool) -> str:
    if kind in _NESTED_TYPES:
        return "NULL::jsonb" if as_json else "NULL::text"
    if kind in _INTEGER_TYPES:
        return _as(_integer(), "number", as_json)
    if kind in _NUMBER_TYPES:
        return _as(_number(), "number", as_json)
    if kind == "boolean":
        return _as(_BOOLEAN, "boolean", as_json)
    if kind in _TEXT_TYPES:
        return _as(_text(select), "string", as_json)
    if kind is not None and kind in _FAKE_TEXT:
        return _as(_FAKE_TEXT[kind](select, locale), "string", as_json)
    # Any other type: as the value's JSON type has it.
    branches: list[tuple[JsonType, str]] = [
        ("string", _text(select)),
        ("number", _number()),
        ("boolean", _BOOLEAN),
    ]
    cases = _OR.join(
        f"WHEN '{json_type}' THEN {_as(text, json_type, as_json)} " for json_type, text in branches
    )
    return f"CASE {_T} {cases}END"


_FAKE_TEXT: dict[str, Callable[[Select, str], str]] = {
    **dict.fromkeys(
        _EMAIL_TYPES,
        lambda s, lo: f"'user-' || encode(substr({_H}, 1, 5), 'hex') || '@example.com'",
    ),
    "first_name": lambda s, lo: _pick(s, _names(lo, "first")),
    "last_name": lambda s, lo: _pick(s, _names(lo, "last")),
    "full_name": _full_name,
    # NANP's 555-01xx numbers are fictional: +1-555-01 and digits, as long as the value.
    "phone": lambda s, lo: (
        f"'+1-555-01' || {_chars(s, string.digits, f'greatest(2, length({_V}) - 9)')}"
    ),
    "ip_address": lambda s, lo: (
        f"CASE WHEN strpos({_V}, ':') > 0 THEN {_IPV6} {_OR}ELSE {_pick(s, _IPV4_ADDRESSES)} END"
    ),
    "ipv6": lambda s, lo: _IPV6,
    "uuid": lambda s, lo: f"({_UUID})::uuid::text",
    "date": lambda s, lo: f"to_char(DATE '1970-01-01' + {_bits(3)} % {_DAYS}, 'YYYY-MM-DD')",
    "datetime": lambda s, lo: _DATETIME + '\'YYYY-MM-DD"T"HH24:MI:SS"Z"\')',
    "naive_datetime": lambda s, lo: _DATETIME + "'YYYY-MM-DD\"T\"HH24:MI:SS')",
    "city": lambda s, lo: _pick(s, locales.places(lo).cities.tolist()),
    "street_address": _street_address,
    "postcode": lambda s, lo: _postcode(s),
}
