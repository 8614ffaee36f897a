"""How large a generated record can get, so a schema cannot ask for more memory than a worker
has: it bounds the request (MAX_RECORD_BYTES) and sizes the worker's chunks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

import orjson

from datatasks.generation import fields as kinds
from datatasks.generation import words
from datatasks.generation.fields import FieldSpec

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
_FIXED: Final[dict[type[object], int]] = {
    kinds.UuidField: 36,
    kinds.IntegerField: _INT,
    kinds.FloatField: 24,
    kinds.BooleanField: 5,
    kinds.SequenceField: _INT,
    kinds.FirstNameField: _longest(words.FIRST_NAMES),
    kinds.LastNameField: _longest(words.LAST_NAMES),
    kinds.FullNameField: _longest(words.FIRST_NAMES) + 1 + _longest(words.LAST_NAMES),
    kinds.EmailField: _longest(words.FIRST_NAMES)
    + _longest(words.LAST_NAMES)
    + _longest(words.EMAIL_DOMAINS)
    + 5,
    kinds.PhoneField: 15,
    kinds.CompanyField: _longest(words.LAST_NAMES)
    + _longest(words.COMPANY_PARTS)
    + _longest(words.COMPANY_SUFFIXES)
    + 2,
    kinds.StreetAddressField: 5 + _longest(words.STREET_NAMES) + _longest(words.STREET_SUFFIXES),
    kinds.CityField: _longest(words.CITIES),
    kinds.CountryField: _longest(words.COUNTRIES),
    kinds.PostcodeField: 5,
    kinds.DateField: 10,
    kinds.DatetimeField: 20,
    kinds.IpAddressField: 39,
    kinds.UrlField: 13 + 3 * _WORD + _longest(words.TLDS),
}


def _value_bytes(spec: FieldSpec) -> int:
    """Upper bound of one value's JSON text, quotes included."""
    match spec:
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
    return 2 + _FIXED[type(spec)]


def record_bytes(fields: Sequence[FieldSpec]) -> int:
    """Upper bound of one record's JSON text."""
    return 2 + sum(len(f.name) + 4 + _value_bytes(f) for f in fields)


def chunk_rows(fields: Sequence[FieldSpec], *, max_rows: int, max_bytes: int) -> int:
    """Records per chunk: at most `max_rows` and about `max_bytes` of JSON, in whole blocks
    (a chunk boundary inside a block would make that block twice)."""
    rows = min(max_rows, max_bytes // record_bytes(fields))
    return max(BLOCK_SIZE, rows // BLOCK_SIZE * BLOCK_SIZE)
