"""How large a generated record can get, so a schema cannot ask for more memory than a worker
has: it bounds the request (MAX_RECORD_BYTES) and sizes the worker's chunks."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Final

import orjson
from anyascii import anyascii

from datatasks.generation import fields as kinds
from datatasks.generation import locales, words
from datatasks.generation.base import Drawn
from datatasks.generation.fields import FieldSpec
from datatasks.generation.locales import DEFAULT_LOCALE

# The generator's shape, here rather than in generator.py so that validating a request needs
# no numpy: records come in blocks of BLOCK_SIZE (a chunk is whole blocks), and a paragraph's
# sentences have this many words.
BLOCK_SIZE: Final = 1024
PARAGRAPH_SENTENCE_WORDS: Final = (4, 12)

# A record (its JSON text) may take at most this much; a typical one takes a few hundred bytes.
MAX_RECORD_BYTES: Final = 64 * 1024


def _longest(*tables: Iterable[str]) -> int:
    return max(len(w.encode()) for table in tables for w in table)


_INT = 20  # -9223372036854775808
_WORD = _longest(words.WORDS)
_EMAIL_DOMAIN = _longest(words.EMAIL_DOMAINS)
# A referenced value's JSON may take at most this much (the worker checks what it loads), and
# a reference draws from at most this many records (a worker holds them all in memory).
REFERENCE_VALUE_BYTES: Final = 1024
REFERENCE_MAX_VALUES: Final = 2_000_000
_FIXED: Final[dict[type[object], int]] = {
    kinds.UuidField: 36,
    kinds.IntegerField: _INT,
    kinds.FloatField: 24,
    kinds.BooleanField: 5,
    kinds.SequenceField: _INT,
    kinds.GenderField: 6,
    kinds.CountryCodeField: 3,
    kinds.LatitudeField: 24,
    kinds.LongitudeField: 24,
    kinds.DateField: 10,
    kinds.DatetimeField: 20,
    kinds.IpAddressField: 39,
    kinds.UrlField: 14 + 3 * _WORD + _longest(words.TLDS),
    kinds.ReferenceField: REFERENCE_VALUE_BYTES,
}


@functools.cache
def _locale_bytes(locale: str, transliterated: bool = False) -> dict[type[object], int]:
    """The longest value of each entity type in locale, as generated or transliterated to ASCII
    (what a template's ascii and slug filters make of it)."""

    def longest(*tables: Iterable[str]) -> int:
        if transliterated:
            return max(len(anyascii(w)) for table in tables for w in table)
        return _longest(*tables)

    people, places = locales.people(locale), locales.places(locale)
    suffixes = locales.companies(locale).suffixes
    first, last = longest(*people.first), longest(*people.last)
    first_ascii, last_ascii = _longest(*people.first_ascii), _longest(*people.last_ascii)
    username = first_ascii + last_ascii + 1 + _INT
    domain = 2 * last_ascii + 9
    return {
        kinds.FirstNameField: first,
        kinds.LastNameField: last,
        kinds.FullNameField: first + 1 + last,
        kinds.UsernameField: username,
        kinds.EmailField: username + 1 + _EMAIL_DOMAIN,
        kinds.PhoneField: longest(people.phone_masks),
        kinds.CompanyField: 2 * last + 4 + longest(suffixes),
        kinds.CompanyDomainField: domain,
        kinds.WorkEmailField: first_ascii + last_ascii + 2 + domain,
        kinds.StreetAddressField: len(places.street_format)
        + longest(places.streets)
        + longest(places.street_suffixes)
        + 4,
        kinds.CityField: longest(places.cities),
        kinds.RegionField: longest(places.city_regions),
        kinds.PostcodeField: longest(places.postcode_masks),
        kinds.CountryField: longest([places.country_name]),
        kinds.TimezoneField: longest(places.time_zones),
    }


# The most characters anyascii writes for one code point (U+1FAF0 as
# ":hand_with_index_finger_and_thumb_crossed:"), and that case mapping writes for one ("ΐ").
_MAX_TRANSLITERATION: Final = 42
_MAX_CASE_EXPANSION: Final = 3


def _ascii_bytes(spec: FieldSpec, siblings: dict[str, FieldSpec], locales_here: set[str]) -> int:
    """Upper bound of a value's JSON text once transliterated to ASCII (escapes doubled)."""
    match spec:
        case kinds._Described() if type(spec) not in _FIXED:
            return 2 + max(_locale_bytes(lo, True)[type(spec)] for lo in locales_here)
        case kinds.StringField():
            widest = max(len(anyascii(c)) for c in spec.alphabet)
            return 2 + 2 * widest * spec.max_length
        case kinds.EnumField():
            return 2 + max(2 * len(anyascii(str(v))) for v in spec.values)
        case kinds.ConstantField():
            return 2 + 2 * len(anyascii(orjson.dumps(spec.value).decode()))
    return _MAX_TRANSLITERATION * _value_bytes(spec, siblings, locales_here)


def _template_bytes(
    spec: kinds.TemplateField, siblings: dict[str, FieldSpec], locales_here: set[str]
) -> int:
    total = 2
    for part in spec.parts():
        if isinstance(part, str):
            total += 6 * len(part)
            continue
        name, filters = part
        if name not in siblings:
            continue
        source = siblings[name]
        cased = any(f in ("lower", "upper", "title") for f in filters)
        if "ascii" in filters or "slug" in filters:
            size = _ascii_bytes(source, siblings, locales_here)
            total += size * (_MAX_CASE_EXPANSION if cased else 1)
        else:
            size = _value_bytes(source, siblings, locales_here)
            total += size * (_MAX_CASE_EXPANSION if cased else 1)
    return total


def _value_bytes(spec: FieldSpec, siblings: dict[str, FieldSpec], locales_here: set[str]) -> int:
    """Upper bound of one value's JSON text, quotes included (at least a null's 4 bytes)."""
    return max(4, _bytes(spec, siblings, locales_here))


def _bytes(spec: FieldSpec, siblings: dict[str, FieldSpec], locales_here: set[str]) -> int:
    if (fixed := _FIXED.get(type(spec))) is not None:
        return 2 + fixed
    match spec:
        case Drawn():
            return spec.value_bytes()
        case kinds._Described():
            # An entity takes the locale one of its fields names: bound by every one named.
            if len(locales_here) == 1:
                (only,) = locales_here
                return 2 + _locale_bytes(only)[type(spec)]
            return 2 + max(_locale_bytes(lo)[type(spec)] for lo in locales_here)
        case kinds.EnumField():
            return max(len(orjson.dumps(v)) for v in spec.values)
        case kinds.ConstantField():
            return len(orjson.dumps(spec.value))
        case kinds.StringField():
            # \\uXXXX is the longest JSON spelling of one character.
            return 2 + 6 * spec.max_length
        case kinds.SentenceField():
            return 2 + spec.max_words * (_WORD + 1)
        case kinds.ParagraphField():
            return 2 + spec.max_sentences * (PARAGRAPH_SENTENCE_WORDS[1] * (_WORD + 1) + 1)
        case kinds.TemplateField():
            return _template_bytes(spec, siblings, locales_here)
        case kinds.ObjectField():
            return _record_bytes(spec.fields, locales_here)
        case kinds.ArrayField():
            return 2 + spec.max_items * (_value_bytes(spec.of, {}, locales_here) + 1)
    return 2 + _FIXED[type(spec)]


def _record_bytes(fields: Sequence[FieldSpec], outer: set[str]) -> int:
    total = 2
    siblings: dict[str, FieldSpec] | None = None
    here = outer
    for f in fields:
        fixed = _FIXED.get(type(f))
        if fixed is not None:
            # The common case, without the lookups a derived or entity field needs.
            total += len(f.name) + 4 + max(4, 2 + fixed)
            continue
        if siblings is None:
            siblings = {g.name: g for g in fields}
            named = {g.locale for g in fields if isinstance(g, kinds._Described) and g.locale}
            here = outer | named
        total += len(f.name) + 4 + _value_bytes(f, siblings, here)
    return total


def record_bytes(fields: Sequence[FieldSpec], locale: str = DEFAULT_LOCALE) -> int:
    """Upper bound of one record's JSON text, for a request in locale."""
    return _record_bytes(fields, {locale})


def chunk_rows(
    fields: Sequence[FieldSpec], *, max_rows: int, max_bytes: int, locale: str = DEFAULT_LOCALE
) -> int:
    """Records per chunk: at most `max_rows` and about `max_bytes` of JSON, in whole blocks
    (a chunk boundary inside a block would make that block twice)."""
    rows = min(max_rows, max_bytes // record_bytes(fields, locale))
    return max(BLOCK_SIZE, rows // BLOCK_SIZE * BLOCK_SIZE)
