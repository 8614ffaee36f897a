"""Profiles of a dataset's records: what each field holds, in a form safe to show anyone.

A profile describes each field's shape (kind, null rate, quantiles, category frequencies,
lengths) well enough for lookalike.py to generate a dataset like it, but names no value that
could point at a person: personal fields (emails, phones, names, addresses, IPs) list no values
at all, and no field lists a value seen fewer than MIN_COUNT times. Each field's sample is
counted once with C-level tools (Counter, map, compiled patterns) and the rest of the work is
per distinct value, so 50k records of 20 fields take well under a second.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import json
import math
import operator
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from itertools import islice
from typing import Any, Final, Literal, get_args

import numpy as np
import orjson
from pydantic import BaseModel, Field

from datatasks.datasets import lookalike
from datatasks.generation.base import INT64_MAX, INT64_MIN, MAX_ENUM_STRING
from datatasks.generation.fields import TYPE_NAMES

Kind = Literal[
    "integer", "float", "boolean", "date", "datetime", "uuid", "email", "phone", "name",
    "address", "ip", "category", "text",
]  # fmt: skip
Personal = Literal["email", "phone", "name", "address", "ip"]
PERSONAL_KINDS: Final[frozenset[str]] = frozenset(get_args(Personal))
Scalar = str | bool | int | float

# A value is listed (top values, categories) only when seen at least this often.
MIN_COUNT: Final = 5
TOP_VALUES: Final = 10
# A field's common values are those seen MIN_COUNT times. A text field is a category, made
# again as an enum of its common values, when they are at most MAX_CATEGORIES (what an enum
# holds) and make COMMON_SHARE of its values (the enum leaves out the rest); so is a number,
# date or datetime field with at most MAX_DISCRETE distinct values.
MAX_CATEGORIES: Final = 1000
COMMON_SHARE: Final = 0.95
MAX_DISCRETE: Final = 50
QUANTILES: Final = (0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0)
# A value pattern for emails, phones and IPs needs to fit this share of the distinct values:
# a few placeholders ("n/a", "unknown") must not hide a column of emails.
_PERSONAL_SHARE: Final = 0.9


class Quantile(BaseModel):
    """The value below which a share p of the field's non-null values lie."""

    p: float = Field(ge=0.0, le=1.0, description="cumulative share, 0 (min) to 1 (max)")
    value: float = Field(description="linear interpolation between the two nearest values")


class ValueCount(BaseModel):
    """A value and how many sampled records hold it."""

    value: Scalar
    count: int = Field(ge=MIN_COUNT)


class FieldProfile(BaseModel):
    """What one field holds, measured on the sample. Options that do not apply to the field's
    kind are null."""

    name: str
    kind: Kind = Field(
        description="integer, float, boolean, date, datetime, uuid; email, phone, name, address"
        " and ip (the personal kinds); category (few distinct values, each repeated) or text"
    )
    personal: Personal | None = Field(
        description="the kind of personal data the field holds (its kind); such fields list no"
        " values"
    )
    declared_type: str | None = Field(
        description="the type the dataset's schema gives it: a generation type, or an upload's"
    )
    null_rate: float = Field(ge=0.0, le=1.0, description="share of nulls and missing values")
    distinct: int = Field(ge=0, description="distinct non-null values in the sample")
    min: int | float | None = Field(default=None, description="integer and float: the smallest")
    max: int | float | None = Field(default=None, description="integer and float: the largest")
    mean: float | None = Field(default=None, description="integer and float")
    quantiles: list[Quantile] | None = Field(
        default=None, description=f"integer and float: at p = {', '.join(map(str, QUANTILES))}"
    )
    decimals: int | None = Field(
        default=None, description="float: the most decimal places a value is written with"
    )
    earliest: str | None = Field(
        default=None, description="date (YYYY-MM-DD) and datetime (UTC, with Z): the first"
    )
    latest: str | None = Field(default=None, description="date and datetime: the last")
    true_rate: float | None = Field(default=None, description="boolean: share of true values")
    min_length: int | None = Field(
        default=None, description="text-like kinds: the fewest characters of a value"
    )
    max_length: int | None = Field(
        default=None, description="text-like kinds: the most characters of a value"
    )
    min_words: int | None = Field(default=None, description="text: the fewest words of a value")
    max_words: int | None = Field(default=None, description="text: the most words of a value")
    ip_version: Literal[4, 6] | None = Field(
        default=None, description="ip: the version most values have"
    )
    top: list[ValueCount] | None = Field(
        default=None,
        description=f"the {TOP_VALUES} most common values seen at least {MIN_COUNT} times, most"
        " common first; null for personal fields",
    )
    categories: list[ValueCount] | None = Field(
        default=None,
        description=f"the values seen at least {MIN_COUNT} times, most common first, when they"
        f" make {COMMON_SHARE:.0%} of the values: of a category, or of a number, date or datetime"
        f" field with at most {MAX_DISCRETE} distinct values (a declared enum's: always)",
    )


class DatasetProfile(BaseModel):
    """A dataset's fields as measured on a sample of its records, and the fields of a
    generation request that makes a dataset like it."""

    rows: int = Field(ge=0, description="records in the dataset")
    sampled: int = Field(ge=0, description="records the profile looked at")
    fields: list[FieldProfile]
    generate_fields: list[dict[str, Any]] = Field(
        description="field definitions POST /generate accepts as they are: same fields, same"
        " order (a name generation does not allow is spelt with underscores), same null rates,"
        " ranges and frequencies, and fake values for personal fields"
    )


def profile_rows(
    rows: Iterable[dict[str, Any]],
    *,
    fields: list[str],
    types: dict[str, str],
    total_rows: int,
) -> DatasetProfile:
    """Profile `fields` over the sampled `rows` (records as stored: JSON objects; an absent key
    counts as null); `types` are the declared types by field name (any may be missing) and
    `total_rows` the dataset's size."""
    sample = rows if isinstance(rows, list) else list(rows)
    with _collector_paused():
        columns = _columns(sample, fields)
        profiles = [
            _profile_field(name, column, types.get(name))
            for name, column in zip(fields, columns, strict=True)
        ]
    profile = DatasetProfile(
        rows=total_rows, sampled=len(sample), fields=profiles, generate_fields=[]
    )
    profile.generate_fields = lookalike.lookalike_fields(profile)
    return profile


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: the columns and counts are a million new objects
    and no cycles, and each collection they set off would walk every sampled record again
    (a third of the time with 50k records)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _columns(rows: list[dict[str, Any]], fields: list[str]) -> list[Sequence[Any]]:
    """Each field's values over the rows, null where a record lacks it: one C-level pass."""
    if not fields:
        return []
    if not rows:
        return [[] for _ in fields]
    getter = operator.itemgetter(*fields)
    try:
        cells = list(map(getter, rows))
    except KeyError:
        blank: dict[str, Any] = dict.fromkeys(fields)
        cells = list(map(getter, map(blank.__or__, rows)))
    if len(fields) == 1:
        return [cells]
    return list(zip(*cells, strict=True))


# --------------------------------------------------------------------------------------------
# What a field's declared type says


# Types that say what a field holds: uploads' typed-ingest types (uploads/types.py) and the
# generation types the kinds stand for. Values that do not fit are inferred afresh.
_DECLARED_KINDS: Final[dict[str, Kind]] = {
    "integer": "integer", "sequence": "integer", "float": "float", "boolean": "boolean",
    "date": "date", "datetime": "datetime", "naive_datetime": "datetime", "uuid": "uuid",
    "enum": "category", "email": "email", "work_email": "email", "first_name": "name",
    "last_name": "name", "full_name": "name", "username": "name", "phone": "phone",
    "street_address": "address", "city": "address", "postcode": "address", "ip_address": "ip",
    "ipv6": "ip",
}  # fmt: skip
# Text of unknown content: an upload's string (or JSON) column, or generation types whose
# values come from elsewhere. Numbers written as text stay text, but personal data is looked for.
_TEXTUAL: Final = frozenset(
    {"string", "json", "null", "template", "reference", "constant", "object", "array", "pattern"}
)
# Every other generation type (company, sku, iban, ...) says what it is: not personal, its
# strings a category or text.
_DESCRIBED: Final = frozenset(TYPE_NAMES) - _DECLARED_KINDS.keys() - _TEXTUAL

# --------------------------------------------------------------------------------------------
# Text forms (what a CSV upload stores; JSON strings)

_INTEGER: Final = re.compile(r"-?(0|[1-9][0-9]{0,17})")  # no leading zero: postcodes stay text
_FLOAT: Final = re.compile(r"-?((0|[1-9][0-9]*)(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_BOOLEAN: Final = re.compile(r"true|false|True|False|TRUE|FALSE")
_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)?"
)
_UUID: Final = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_EMAIL: Final = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_OCTET: Final = r"(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_IPV4: Final = re.compile(rf"({_OCTET}\.){{3}}{_OCTET}")
_IPV6: Final = re.compile(
    r"([0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}"  # all eight groups
    r"|(?=[0-9a-fA-F:]{2,39}$)(?=.*::)(?!.*::.*::)[0-9a-fA-F:]+"  # compressed: one ::
)
_PHONE: Final = re.compile(
    r"(?=([^0-9]*[0-9]){7,15}[^0-9]*$)"  # 7 to 15 digits in all
    r"(?!-?[0-9]*\.[0-9]*$)(?![0-9]{4}-[0-9]{2}-[0-9]{2}$)"  # not a decimal number, nor a date
    r"\+?([0-9]+|\([0-9]{1,5}\))"  # the first group
    r"([ .\-/]?\([0-9]{1,5}\)|[ .\-/][0-9]+)*"  # the others, each after a separator
)


def _all(pattern: re.Pattern[str], texts: Sequence[str]) -> bool:
    return all(map(pattern.fullmatch, texts))


def _mostly(pattern: re.Pattern[str], texts: Sequence[str]) -> bool:
    """Whether _PERSONAL_SHARE of texts fit, judged by the first 200 and then by 2000 spread
    over them all (a share, unlike all of them, is well measured on a sample)."""
    for sample in (texts[:200], texts[:: max(1, len(texts) // 2000)]):
        if len(list(filter(pattern.fullmatch, sample))) < _PERSONAL_SHARE * len(sample):
            return False
    return True


def _dates(texts: Sequence[str]) -> list[dt.date] | None:
    if not _all(_DATE, texts):
        return None
    try:
        return list(map(dt.date.fromisoformat, texts))
    except ValueError:  # 2026-02-31
        return None


def _utc(value: dt.datetime) -> dt.datetime:
    # A naive datetime (an upload's naive_datetime) is read as UTC, as generation writes it.
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _datetimes(texts: Sequence[str]) -> list[dt.datetime] | None:
    if not _all(_DATETIME, texts):
        return None
    try:
        return list(map(dt.datetime.fromisoformat, texts))
    except ValueError:
        return None


def _range(parsed: list[dt.date]) -> tuple[dt.date, dt.date]:
    try:
        return min(parsed), max(parsed)
    except TypeError:  # naive and aware datetimes: compared once all are in UTC
        moments = [_utc(v) for v in parsed if isinstance(v, dt.datetime)]
        return min(moments), max(moments)


def _text_of(value: Any) -> str:
    """A value as JSON text, the way a CSV would hold it: `true`, `12`, `{"a":1}`."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)  # orjson refuses integers past 64 bits
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, default=str)


def _text_or_none(value: Any) -> str | None:
    return None if value is None else _text_of(value)


# --------------------------------------------------------------------------------------------
# Name hints

_NOT_PERSONAL: Final = frozenset(
    {"id", "ids", "uuid", "key", "count", "type", "kind", "domain", "country", "provider",
     "format", "valid", "verified", "status", "is", "has", "hash", "version", "consent", "opt",
     "company", "product", "file", "host", "brand", "species", "item", "app", "business",
     "org", "project", "team", "department", "category", "tag", "label", "event", "server",
     "model", "role", "job", "title", "course", "school", "shop", "store", "site", "pet"}
)  # fmt: skip
_PERSON_WORDS: Final = frozenset(
    {"first", "last", "full", "given", "family", "middle", "sur", "fore", "maiden", "nick",
     "display", "user", "customer", "client", "contact", "person", "employee", "patient",
     "member", "owner", "author", "student", "passenger", "guest", "buyer", "seller", "holder",
     "account", "legal", "real", "my", "your", "his", "her", "their", "the", "of"}
)  # fmt: skip
_HINTS: Final[tuple[tuple[Personal, frozenset[str]], ...]] = (
    ("email", frozenset({"email", "mail", "emailaddress"})),
    ("phone", frozenset({"phone", "telephone", "tel", "mobile", "cell", "cellphone", "fax"})),
    ("ip", frozenset({"ip", "ipv4", "ipv6", "ipaddress", "ipaddr"})),
    ("address", lookalike.ADDRESS_WORDS),
    ("name", lookalike.NAME_WORDS),
)


def _hinted(name: str) -> Personal | None:
    """The personal kind a field's name suggests (`zip`, `customerEmail`, `last_name`)."""
    words = lookalike.name_words(name)
    if not words or not words.isdisjoint(_NOT_PERSONAL):
        return None
    for personal, hints in _HINTS:
        if not words.isdisjoint(hints):
            # `name` alone or said of a person (`first_name`, `customerName`), not `studyName`.
            if personal == "name" and not words - hints <= _PERSON_WORDS:
                continue
            return personal
    return None


# --------------------------------------------------------------------------------------------
# Inference


class _Column:
    """One field's sample, counted: values (native, or text forms) and their counts."""

    def __init__(self, values: Sequence[Any]) -> None:
        self.native: Literal["bool", "number"] | None = None
        counts: Counter[Any] | None
        try:
            counts = Counter(values)
        except TypeError:  # objects or arrays
            counts = None
        if counts is not None:
            # The types of the distinct values: a few, however many records.
            present = set(map(type, counts))
            present.discard(type(None))
            if present == {bool}:
                self.native = "bool"
            elif present and present <= {int, float}:
                self.native = "number"
            elif not present <= {str}:
                counts = None
        if counts is None:
            # Mixed or nested values are judged by their JSON text (True and 1 must not merge).
            counts = Counter(map(_text_or_none, values))
        self.nulls = counts.pop(None, 0)
        self.size = len(values)
        self.counts = counts
        self.keys: list[Any] = list(counts)
        self.present = self.size - self.nulls

    @functools.cached_property
    def common(self) -> list[ValueCount] | None:
        """The common values, if they make the field a category (see COMMON_SHARE)."""
        return _common(self.counts, self.present)

    def texts(self) -> list[str]:
        return self.keys if self.native is None else list(map(_text_of, self.keys))


def _numbers(column: _Column, integral: bool) -> list[int | float] | None:
    """The distinct values as numbers (in key order), or None if some are not numbers of the
    kind (integers: within 64 bits; floats: finite)."""
    keys = column.keys
    if column.native == "number":
        if integral and not all(type(k) is int for k in keys):
            return None
        numbers: list[int | float] = keys
    elif column.native is None:
        if not _all(_INTEGER if integral else _FLOAT, keys):
            return None
        numbers = list(map(int if integral else float, keys))
    else:
        return None
    low, high = min(numbers), max(numbers)
    if integral and not (low >= INT64_MIN and high <= INT64_MAX):
        return None
    # A float field's range (and numpy's interpolation in it) must be finite.
    if not integral and not math.isfinite(float(high) - float(low)):
        return None
    return numbers


def _booleans(column: _Column) -> list[bool] | None:
    if column.native == "bool":
        return list(column.keys)
    if column.native is None and _all(_BOOLEAN, column.keys):
        return [k.lower() == "true" for k in column.keys]
    return None


# What inference found: the kind and the distinct values parsed for it (None: as they are).
_Parsed = tuple[Kind, list[Any] | None]


def _check(kind: Kind, column: _Column) -> _Parsed | None:
    """The values parsed as `kind`, or None when they do not all fit it."""
    parsed: list[Any] | None
    match kind:
        case "integer" | "float":
            parsed = _numbers(column, integral=kind == "integer")
            if parsed is None and kind == "integer":
                floats = _numbers(column, integral=False)
                return None if floats is None else ("float", floats)
        case "boolean":
            parsed = _booleans(column)
        case "date":
            parsed = None if column.native else _dates(column.keys)
        case "datetime":
            parsed = None if column.native else _datetimes(column.keys)
        case "uuid":
            return (kind, None) if not column.native and _all(_UUID, column.keys) else None
        case "category" if column.native == "number":
            # An enum of numbers or dates (a discrete field's lookalike) is numbers or dates.
            return _check("integer", column)
        case "category" if column.native is None:
            return _check("date", column) or _check("datetime", column) or (kind, None)
        case _:
            return kind, None
    return None if parsed is None else (kind, parsed)


def _personal_by_values(texts: Sequence[str]) -> Personal | None:
    if _mostly(_IPV4, texts) or _mostly(_IPV6, texts):
        return "ip"
    if _mostly(_EMAIL, texts):
        return "email"
    if _mostly(_PHONE, texts):
        return "phone"
    return None


def _category_or_text(column: _Column) -> Kind:
    return "category" if column.common is not None else "text"


def _common(counts: Counter[Any], present: int) -> list[ValueCount] | None:
    """The common values, most common first, if an enum of them makes the field like it."""
    listed = _value_counts(counts, MAX_CATEGORIES + 1)
    if not listed or len(listed) > MAX_CATEGORIES:
        return None
    if sum(c.count for c in listed) < COMMON_SHARE * present:
        return None
    if any(isinstance(c.value, str) and len(c.value) > MAX_ENUM_STRING for c in listed):
        return None
    return listed


# Kinds whose values text forms can be read as, in the order they are tried.
_WRITTEN_NUMBERS: Final[tuple[Kind, ...]] = ("integer", "float", "boolean")
_WRITTEN_SHAPES: Final[tuple[Kind, ...]] = ("date", "datetime", "uuid")


def _number_hinted(name: str, declared: str | None, fitting: _Parsed) -> _Parsed:
    """Integers that the field's name says are phones or postcodes (`zip`: 10115) are those."""
    if fitting[0] != "integer" or not (declared is None or declared in _TEXTUAL):
        return fitting
    hint = _hinted(name)
    if hint == "phone" or (hint == "address" and lookalike.address_type(name) == "postcode"):
        return hint, None
    return fitting


def _infer(name: str, declared: str | None, column: _Column) -> _Parsed:
    if not column.keys:
        return _DECLARED_KINDS.get(declared or "", "text"), None
    if declared in _DECLARED_KINDS:
        fitting = _check(_DECLARED_KINDS[declared], column)
        if fitting is not None:
            return fitting
        declared = None  # the values are not what the schema says: look at them afresh
    # Natively typed JSON values are what they are.
    if column.native == "bool":
        return "boolean", list(column.keys)
    if column.native == "number":
        fitting = _check("integer", column) or _check("float", column)
        if fitting is not None:
            return _number_hinted(name, declared, fitting)
    if declared in _DESCRIBED:
        return _category_or_text(column), None
    texts = column.texts()
    if declared is None and column.native is None:
        # Text forms of an upload whose types are unknown: numbers and flags as CSV has them.
        for kind in _WRITTEN_NUMBERS:
            fitting = _check(kind, column)
            if fitting is not None:
                return _number_hinted(name, declared, fitting)
    if column.native is None:
        for kind in _WRITTEN_SHAPES:
            fitting = _check(kind, column)
            if fitting is not None:
                return fitting
    personal = _personal_by_values(texts) or _hinted(name)
    if personal is not None:
        return personal, None
    return _category_or_text(column), None


# --------------------------------------------------------------------------------------------
# Statistics


def _round(value: float) -> float:
    # 12 significant digits: what a profile can show without float noise (0.30000000000000004).
    return float(f"{value:.12g}")


def _decimals(numbers: list[int | float]) -> int:
    """The most decimal places a value needs (of the first 1000 distinct): its shortest repr,
    so the float noise of 9.2671500000000009 counts as the 5 places of 9.26715."""
    places = 0
    for number in islice(numbers, 1000):
        exponent = Decimal(repr(float(number))).normalize().as_tuple().exponent
        if isinstance(exponent, int):
            places = max(places, -exponent)
    return min(places, 15)


def _value_counts(counts: Counter[Any], limit: int) -> list[ValueCount]:
    out: list[ValueCount] = []
    if not counts or max(counts.values()) < MIN_COUNT:
        return out  # saves sorting a field of distinct values
    for value, count in counts.most_common(limit):
        if count < MIN_COUNT:
            break
        out.append(ValueCount(value=value, count=count))
    return out


def _numeric_stats(
    profile: dict[str, Any], column: _Column, numbers: list[int | float], kind: Kind
) -> Counter[Any]:
    counts: Counter[Any]
    if column.native == "number":
        counts = column.counts
    else:
        counts = Counter(dict(zip(numbers, column.counts.values(), strict=True)))
        if len(counts) < len(numbers):  # "1.0" and "1.00" are one number
            counts = Counter()
            for number, count in zip(numbers, column.counts.values(), strict=True):
                counts[number] += count
    values = np.array(list(counts), dtype=np.float64)
    weights = np.fromiter(counts.values(), dtype=np.int64, count=len(counts))
    every = np.repeat(values, weights)
    quantiles = np.maximum.accumulate(np.quantile(every, QUANTILES))
    profile.update(
        distinct=len(counts),
        min=min(counts),
        max=max(counts),
        mean=_round(float(np.mean(every))),
        quantiles=[
            Quantile(p=p, value=_round(float(q)))
            for p, q in zip(QUANTILES, quantiles.tolist(), strict=True)
        ],
    )
    if kind == "float":
        profile["decimals"] = _decimals(numbers)
    if len(counts) <= MAX_DISCRETE:
        profile["categories"] = _common(counts, column.present)
    return counts


def _text_stats(profile: dict[str, Any], texts: list[str], kind: Kind) -> None:
    lengths = list(map(len, texts))
    profile.update(min_length=min(lengths), max_length=max(lengths))
    if kind == "text":
        words = list(map(len, map(str.split, texts)))
        profile.update(min_words=min(words), max_words=max(words))
    elif kind == "ip":
        sample = texts[:: max(1, len(texts) // 2000)]
        six = sum(":" in t for t in sample)
        profile["ip_version"] = 6 if 2 * six > len(sample) else 4


def _iso(value: dt.date) -> str:
    if isinstance(value, dt.datetime):
        return _utc(value).isoformat().replace("+00:00", "Z")
    return value.isoformat()


def _profile_field(name: str, values: Sequence[Any], declared: str | None) -> FieldProfile:
    column = _Column(values)
    kind, parsed = _infer(name, declared, column)
    personal = kind if kind in PERSONAL_KINDS else None
    profile: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "personal": personal,
        "declared_type": declared,
        "null_rate": column.nulls / column.size if column.size else 0.0,
        "distinct": len(column.keys),
    }
    counts: Counter[Any] = column.counts
    if column.keys:
        if kind in ("integer", "float") and parsed is not None:
            counts = _numeric_stats(profile, column, parsed, kind)
        elif kind == "boolean" and parsed is not None:
            flags: Counter[Any] = Counter()
            for flag, count in zip(parsed, column.counts.values(), strict=True):
                flags[flag] += count
            counts = flags
            profile.update(distinct=len(flags), true_rate=flags[True] / column.present)
        elif kind in ("date", "datetime") and parsed is not None:
            earliest, latest = _range(parsed)
            profile.update(earliest=_iso(earliest), latest=_iso(latest))
            if len(counts) <= MAX_DISCRETE:
                profile["categories"] = column.common
        else:
            texts = column.texts()
            _text_stats(profile, texts, kind)
            if kind == "category":
                # A declared enum is a category whatever its share of common values.
                profile["categories"] = column.common or [
                    c
                    for c in _value_counts(counts, MAX_CATEGORIES)
                    if not isinstance(c.value, str) or len(c.value) <= MAX_ENUM_STRING
                ]
        if personal is None:
            profile["top"] = _value_counts(counts, TOP_VALUES)
    return FieldProfile(**profile)
