"""Generation fields that make a dataset like a profiled one, from its profile alone.

A profile holds shapes, not records, so the fields made here reproduce each field's null rate,
range, quantiles and category frequencies without any source value reaching the generated
data, except a non-personal category value seen at least MIN_COUNT times (an enum needs its
values, and a value that common names no one). Personal fields get fake values of the matching
generation type, free text gets sentences of common words.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from typing import TYPE_CHECKING, Any, Final

from anyascii import anyascii
from pydantic import ValidationError

from datatasks.generation.fields import TYPE_NAMES, parse_field
from datatasks.generation.sizing import PARAGRAPH_SENTENCE_WORDS

if TYPE_CHECKING:
    from datatasks.datasets.profile import DatasetProfile, FieldProfile

# Words of a field's name that ask for one generation type of a name or an address (the
# profile's name hints use the same words).
_FIRST: Final = frozenset(
    {"first", "given", "fore", "firstname", "givenname", "forename", "middle", "middlename"}
)
_LAST: Final = frozenset(
    {"last", "family", "sur", "surname", "lastname", "familyname", "maiden", "maidenname"}
)
_LOGIN: Final = frozenset({"user", "username", "login", "nick", "nickname", "handle"})
NAME_WORDS: Final = frozenset(
    {"name", "firstname", "givenname", "forename", "middlename", "lastname", "surname",
     "familyname", "maidenname", "fullname", "username", "login", "nickname"}
)  # fmt: skip
_CITY: Final = frozenset({"city", "town"})
_POSTCODE: Final = frozenset({"zip", "zipcode", "postcode", "postal", "postalcode"})
_STREET: Final = frozenset({"address", "addr", "street", "streetaddress"})
ADDRESS_WORDS: Final = _CITY | _POSTCODE | _STREET

_FIELD_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
# Generation types a personal field keeps when its schema declares one.
_PERSONAL_TYPES: Final = frozenset(
    {"email", "work_email", "username", "first_name", "last_name", "full_name", "phone",
     "street_address", "city", "postcode", "ipv6"}
)  # fmt: skip
# Generation types a text field is not simply made again with: their options are measured.
_MEASURED_TYPES: Final = frozenset({"string", "sentence", "paragraph"})
_MAX_STRING: Final = 1000  # StringField's longest
_MAX_SENTENCE_WORDS: Final = 200  # SentenceField's
_MAX_SENTENCES: Final = 50  # ParagraphField's


def name_words(name: str) -> frozenset[str]:
    """The lower-case words of a field name: `customerEmail` and `customer_email` alike."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return frozenset(w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w)


def address_type(name: str) -> str | None:
    """The address generation type a field's name asks for, if any."""
    words = name_words(name)
    if not words.isdisjoint(_CITY):
        return "city"
    if not words.isdisjoint(_POSTCODE):
        return "postcode"
    if not words.isdisjoint(_STREET):
        return "street_address"
    return None


def name_type(name: str) -> str:
    """The person's name generation type a field's name asks for: full_name by default."""
    words = name_words(name)
    if not words.isdisjoint(_FIRST):
        return "first_name"
    if not words.isdisjoint(_LAST):
        return "last_name"
    if not words.isdisjoint(_LOGIN):
        return "username"
    return "full_name"


def lookalike_fields(profile: DatasetProfile) -> list[dict[str, Any]]:
    """Field definitions for POST /generate, one per profiled field in order, that make records
    shaped like the profiled ones. A name generation does not allow (`bill length (mm)`) is
    spelt with underscores (`bill_length_mm`), made distinct by a suffix where need be."""
    names = _generation_names([f.name for f in profile.fields])
    specs = []
    for field, name in zip(profile.fields, names, strict=True):
        spec: dict[str, Any] = {"name": name, **_shape(field, profile.sampled)}
        if field.null_rate > 0:
            spec["null_rate"] = field.null_rate
        specs.append(spec)
    return specs


def _generation_names(names: list[str]) -> list[str]:
    taken = {n for n in names if _FIELD_NAME.fullmatch(n)}
    out = []
    for name in names:
        if _FIELD_NAME.fullmatch(name):
            out.append(name)
            continue
        base = re.sub(r"[^A-Za-z0-9_]+", "_", anyascii(name)).strip("_") or "field"
        if base[0].isdigit():
            base = "_" + base
        base = base[:64]
        candidate, suffix = base, 1
        while candidate in taken:
            suffix += 1
            candidate = f"{base[: 63 - len(str(suffix))]}_{suffix}"
        taken.add(candidate)
        out.append(candidate)
    return out


def _all_distinct(field: FieldProfile, sampled: int) -> bool:
    # Every sampled value distinct: most likely an identifier, generated unique too.
    return sampled > 1 and field.null_rate == 0 and field.distinct == sampled


def _shape(field: FieldProfile, sampled: int) -> dict[str, Any]:
    """The field's generation type and options, without name and null rate."""
    match field.kind:
        case "integer" | "float":
            return _number(field)
        case "boolean":
            return {"type": "boolean", "probability": field.true_rate or 0.0}
        case "date":
            if field.earliest is None:
                return {"type": "date"}
            return _enum(field) or {"type": "date", "start": field.earliest, "end": field.latest}
        case "datetime":
            return _enum(field) or _datetime(field)
        case "uuid":
            return {"type": "uuid", "unique": _all_distinct(field, sampled)}
        case "category":
            return _enum(field) or _text(field)
        case "text":
            return _text(field)
    return _personal(field, sampled)


def _enum(field: FieldProfile) -> dict[str, Any] | None:
    if not field.categories:
        return None
    return {
        "type": "enum",
        "values": [c.value for c in field.categories],
        "weights": [c.count for c in field.categories],
    }


def _number(field: FieldProfile) -> dict[str, Any]:
    discrete = _enum(field)
    if discrete is not None:
        return discrete
    kind = field.kind
    if field.min is None or field.max is None:
        return {"type": kind}
    low, high = (int(field.min), int(field.max)) if kind == "integer" else (field.min, field.max)
    spec: dict[str, Any] = {"type": kind, "min": low, "max": high}
    if kind == "float":
        spec["decimals"] = 2 if field.decimals is None else field.decimals
    if field.quantiles and high > low:
        spec["distribution"] = {
            "type": "quantiles",
            "p": [q.p for q in field.quantiles],
            "values": [q.value for q in field.quantiles],
        }
    return spec


def _datetime(field: FieldProfile) -> dict[str, Any]:
    if field.earliest is None or field.latest is None:
        return {"type": "datetime"}
    start = dt.datetime.fromisoformat(field.earliest)
    end = dt.datetime.fromisoformat(field.latest)
    # Generation makes whole seconds from start ceiled to end floored; a range without a whole
    # second in it (one sub-second value) widens to the second before.
    if start.microsecond and start.replace(microsecond=0) >= end.replace(microsecond=0):
        start = start.replace(microsecond=0)
    return {"type": "datetime", "start": _iso(start), "end": _iso(end)}


def _iso(value: dt.datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


@functools.cache
def _made_again(declared: str | None) -> bool:
    """Whether a declared generation type makes a field like this one with its defaults."""
    if declared not in TYPE_NAMES or declared in _MEASURED_TYPES:
        return False
    try:
        parse_field({"name": "f", "type": declared})
    except ValidationError:  # it needs options (enum, template, reference, ...)
        return False
    return True


def _text(field: FieldProfile) -> dict[str, Any]:
    if _made_again(field.declared_type):
        return {"type": field.declared_type}
    if field.max_length is None:
        return {"type": "string"}
    low_words, high_words = field.min_words, field.max_words
    if low_words is None or high_words is None or high_words <= 1:
        # Codes, identifiers, single words: characters of the same lengths.
        high = min(field.max_length, _MAX_STRING)
        low = min(field.min_length or 0, high)
        return {"type": "string", "min_length": low, "max_length": high}
    if high_words <= _MAX_SENTENCE_WORDS:
        return {"type": "sentence", "min_words": max(low_words, 1), "max_words": high_words}
    per_sentence = sum(PARAGRAPH_SENTENCE_WORDS) / 2
    most = min(math.ceil(high_words / per_sentence), _MAX_SENTENCES)
    least = min(max(round(low_words / per_sentence), 1), most)
    return {"type": "paragraph", "min_sentences": least, "max_sentences": most}


def _personal(field: FieldProfile, sampled: int) -> dict[str, Any]:
    declared = field.declared_type
    spec: dict[str, Any]
    if declared in _PERSONAL_TYPES:
        spec = {"type": declared}
    elif field.kind == "email":
        spec = {"type": "email"}
    elif field.kind == "phone":
        spec = {"type": "phone"}
    elif field.kind == "name":
        spec = {"type": name_type(field.name)}
    elif field.kind == "address":
        spec = {"type": address_type(field.name) or "street_address"}
    else:
        spec = {"type": "ip_address", "version": field.ip_version or 4}
    if spec["type"] in ("email", "username") and _all_distinct(field, sampled):
        spec["unique"] = True
    return spec
