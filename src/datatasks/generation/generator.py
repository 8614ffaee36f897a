"""Fast, deterministic generation of JSON records from field specs.

Records are produced in blocks of BLOCK_SIZE whose random streams are seeded from
(seed, block, field position) alone, so any record's content is independent of how a
dataset is split into chunks, and adding a field leaves the other fields unchanged.
"""

import datetime as dt
import itertools
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import orjson
from numpy.typing import NDArray

from datatasks.generation import fields as kinds
from datatasks.generation import words
from datatasks.generation.fields import FieldSpec
from datatasks.generation.sizing import BLOCK_SIZE, PARAGRAPH_SENTENCE_WORDS

_SEED_LIMIT: Final = 2**63

_EPOCH_DATE: Final = dt.date(1970, 1, 1)
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _table(items: Sequence[str]) -> NDArray[np.object_]:
    # Object arrays let numpy fancy-index a whole column at once and hand back the
    # original str objects via tolist(), without per-record Python work.
    arr = np.empty(len(items), dtype=object)
    arr[:] = list(items)
    return arr


_FIRST = _table(words.FIRST_NAMES)
_LAST = _table(words.LAST_NAMES)
_FIRST_LOWER = _table([w.lower() for w in words.FIRST_NAMES])
_LAST_LOWER = _table([w.lower() for w in words.LAST_NAMES])
_COMPANY_PARTS = _table(words.COMPANY_PARTS)
_COMPANY_SUFFIXES = _table(words.COMPANY_SUFFIXES)
_STREETS = _table(words.STREET_NAMES)
_STREET_SUFFIXES = _table(words.STREET_SUFFIXES)
_CITIES = _table(words.CITIES)
_COUNTRIES = _table(words.COUNTRIES)
_DOMAINS = _table(words.EMAIL_DOMAINS)
_TLDS = _table(words.TLDS)
_WORDS = _table(words.WORDS)

_HEX_DIGITS: Final = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
# Columns of the 36-char canonical UUID that hold hex digits (the rest are hyphens).
_UUID_HEX_COLUMNS: Final = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])


def _pick(table: NDArray[np.object_], rng: np.random.Generator, n: int) -> list[Any]:
    return table[rng.integers(0, len(table), n)].tolist()  # type: ignore[no-any-return]


def _ints(rng: np.random.Generator, low: int, high: int, n: int) -> list[int]:
    """n integers in [low, high] inclusive as Python ints."""
    return rng.integers(low, high, n, endpoint=True, dtype=np.int64).tolist()  # type: ignore[no-any-return]


def _split_fixed(text: str, width: int, n: int) -> list[str]:
    return [text[i : i + width] for i in range(0, width * n, width)]


def _uuids(rng: np.random.Generator, n: int) -> list[str]:
    raw = np.frombuffer(rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    nibbles = np.empty((n, 32), dtype=np.uint8)
    nibbles[:, 0::2] = raw >> 4
    nibbles[:, 1::2] = raw & 0x0F
    chars = np.full((n, 36), ord("-"), dtype=np.uint8)
    chars[:, _UUID_HEX_COLUMNS] = _HEX_DIGITS[nibbles]
    return _split_fixed(chars.tobytes().decode("ascii"), 36, n)


def _floats(spec: kinds.FloatField, rng: np.random.Generator, n: int) -> list[float]:
    raw = rng.uniform(spec.min, spec.max, n)
    # np.round scales by 10**decimals, which overflows for huge values; those have no
    # fractional digits worth rounding anyway, so keep them as drawn.
    with np.errstate(over="ignore", invalid="ignore"):
        rounded = np.round(raw, spec.decimals)
    rounded = np.where(np.isfinite(rounded), rounded, raw)
    # Clipping keeps rounding from stepping outside [min, max]; adding 0.0 turns -0.0
    # into 0.0 so output doesn't show a surprising "-0.0".
    return (np.clip(rounded, spec.min, spec.max) + 0.0).tolist()  # type: ignore[no-any-return]


def _enum(spec: kinds.EnumField, rng: np.random.Generator, n: int) -> list[Any]:
    values = np.empty(len(spec.values), dtype=object)
    values[:] = spec.values
    if spec.weights is None:
        idx = rng.integers(0, len(spec.values), n)
    else:
        weights = np.asarray(spec.weights, dtype=np.float64)
        idx = rng.choice(len(spec.values), size=n, p=weights / weights.sum())
    return values[idx].tolist()  # type: ignore[no-any-return]


def _sequence(spec: kinds.SequenceField, first_index: int, n: int) -> list[int]:
    if spec.step == 0:
        return [spec.start] * n
    first = spec.start + spec.step * first_index
    return list(range(first, first + spec.step * n, spec.step))


def _strings(spec: kinds.StringField, rng: np.random.Generator, n: int) -> list[str]:
    width = spec.max_length
    lengths = rng.integers(spec.min_length, width, n, endpoint=True).tolist()
    if width == 0:
        return [""] * n
    # Always draw max_length characters per record so the draw count is fixed.
    codes = np.array([ord(c) for c in spec.alphabet], dtype="<u4")
    chars = codes[rng.integers(0, len(codes), n * width)]
    text = chars.tobytes().decode("utf-32-le")
    return [text[o : o + k] for o, k in zip(range(0, n * width, width), lengths, strict=True)]


def _dates(spec: kinds.DateField, rng: np.random.Generator, n: int) -> list[str]:
    low = (spec.start - _EPOCH_DATE).days
    high = (spec.end - _EPOCH_DATE).days
    days = rng.integers(low, high, n, endpoint=True, dtype=np.int64)
    return np.datetime_as_string(days.astype("datetime64[D]")).tolist()  # type: ignore[no-any-return]


def _datetimes(spec: kinds.DatetimeField, rng: np.random.Generator, n: int) -> list[str]:
    second = dt.timedelta(seconds=1)
    # Ceil the start and floor the end so sub-second bounds are never exceeded.
    low = -((_EPOCH - spec.start) // second)
    high = (spec.end - _EPOCH) // second
    secs = rng.integers(low, high, n, endpoint=True, dtype=np.int64).astype("datetime64[s]")
    return np.datetime_as_string(secs, unit="s", timezone="UTC").tolist()  # type: ignore[no-any-return]


def _ip_addresses(spec: kinds.IpAddressField, rng: np.random.Generator, n: int) -> list[str]:
    if spec.version == 4:
        octets = np.frombuffer(rng.bytes(4 * n), dtype=np.uint8).reshape(n, 4).tolist()
        return [f"{a}.{b}.{c}.{d}" for a, b, c, d in octets]
    # hex(":", 2) inserts a colon every two bytes across the whole buffer, so each
    # address is 39 chars followed by one separator.
    text = rng.bytes(16 * n).hex(":", 2)
    return [text[i : i + 39] for i in range(0, 40 * n, 40)]


def _word_forms() -> NDArray[np.object_]:
    # Each word in four spellings (plain, capitalised, with full stop, both), so whole
    # sentences are assembled by indexing rather than per-sentence string fixes.
    plain = list(words.WORDS)
    caps = [w.capitalize() for w in plain]
    return _table(plain + caps + [w + "." for w in plain] + [w + "." for w in caps])


_WORD_FORMS = _word_forms()


def _sentence_words(word_idx: NDArray[np.int64], lengths: NDArray[np.int64]) -> list[str]:
    """Words of consecutive sentences; sentence i is the first lengths[i] of row i."""
    position = np.arange(word_idx.shape[1])
    first = position == 0
    last = position == lengths[:, None] - 1
    forms = word_idx + len(words.WORDS) * (first + 2 * last)
    return _WORD_FORMS[forms[position < lengths[:, None]]].tolist()  # type: ignore[no-any-return]


def _join_runs(items: list[str], run_lengths: NDArray[np.int64]) -> list[str]:
    bounds = np.concatenate(([0], np.cumsum(run_lengths))).tolist()
    return [" ".join(items[a:b]) for a, b in itertools.pairwise(bounds)]


def _sentences(spec: kinds.SentenceField, rng: np.random.Generator, n: int) -> list[str]:
    lengths = rng.integers(spec.min_words, spec.max_words, n, endpoint=True)
    word_idx = rng.integers(0, len(words.WORDS), (n, spec.max_words))
    return _join_runs(_sentence_words(word_idx, lengths), lengths)


def _paragraphs(spec: kinds.ParagraphField, rng: np.random.Generator, n: int) -> list[str]:
    top = spec.max_sentences
    min_words, max_words = PARAGRAPH_SENTENCE_WORDS
    counts = rng.integers(spec.min_sentences, top, n, endpoint=True)
    lengths = rng.integers(min_words, max_words, (n, top), endpoint=True)
    word_idx = rng.integers(0, len(words.WORDS), (n, top, max_words))
    # Everything is drawn for max_sentences (fixed draw count) but only the sentences
    # a paragraph uses are turned into words.
    used = np.arange(top) < counts[:, None]
    paragraph_words = _sentence_words(word_idx[used], lengths[used])
    return _join_runs(paragraph_words, (lengths * used).sum(axis=1))


def _values(spec: FieldSpec, rng: np.random.Generator, first_index: int, n: int) -> list[Any]:
    """One column of n values for records first_index .. first_index + n - 1."""
    match spec:
        case kinds.UuidField():
            return _uuids(rng, n)
        case kinds.IntegerField():
            return _ints(rng, spec.min, spec.max, n)
        case kinds.FloatField():
            return _floats(spec, rng, n)
        case kinds.BooleanField():
            return (rng.random(n) < spec.probability).tolist()  # type: ignore[no-any-return]
        case kinds.EnumField():
            return _enum(spec, rng, n)
        case kinds.SequenceField():
            return _sequence(spec, first_index, n)
        case kinds.ConstantField():
            return [spec.value] * n
        case kinds.StringField():
            return _strings(spec, rng, n)
        case kinds.FirstNameField():
            return _pick(_FIRST, rng, n)
        case kinds.LastNameField():
            return _pick(_LAST, rng, n)
        case kinds.FullNameField():
            first, last = _pick(_FIRST, rng, n), _pick(_LAST, rng, n)
            return [f"{a} {b}" for a, b in zip(first, last, strict=True)]
        case kinds.EmailField():
            emails = zip(
                _pick(_FIRST_LOWER, rng, n),
                _pick(_LAST_LOWER, rng, n),
                _ints(rng, 1, 999, n),
                _pick(_DOMAINS, rng, n),
                strict=True,
            )
            return [f"{a}.{b}{c}@{d}" for a, b, c, d in emails]
        case kinds.PhoneField():
            exchanges, lines = _ints(rng, 100, 999, n), _ints(rng, 0, 9999, n)
            return [f"+1-555-{a}-{b:04d}" for a, b in zip(exchanges, lines, strict=True)]
        case kinds.CompanyField():
            companies = zip(
                _pick(_LAST, rng, n),
                _pick(_COMPANY_PARTS, rng, n),
                _pick(_COMPANY_SUFFIXES, rng, n),
                strict=True,
            )
            return [f"{a} {b} {c}" for a, b, c in companies]
        case kinds.StreetAddressField():
            addresses = zip(
                _ints(rng, 1, 9999, n),
                _pick(_STREETS, rng, n),
                _pick(_STREET_SUFFIXES, rng, n),
                strict=True,
            )
            return [f"{a} {b} {c}" for a, b, c in addresses]
        case kinds.CityField():
            return _pick(_CITIES, rng, n)
        case kinds.CountryField():
            return _pick(_COUNTRIES, rng, n)
        case kinds.PostcodeField():
            return [f"{x:05d}" for x in _ints(rng, 0, 99_999, n)]
        case kinds.DateField():
            return _dates(spec, rng, n)
        case kinds.DatetimeField():
            return _datetimes(spec, rng, n)
        case kinds.IpAddressField():
            return _ip_addresses(spec, rng, n)
        case kinds.UrlField():
            urls = zip(
                _pick(_WORDS, rng, n),
                _pick(_WORDS, rng, n),
                _pick(_TLDS, rng, n),
                _pick(_WORDS, rng, n),
                strict=True,
            )
            return [f"https://www.{a}{b}.{t}/{c}" for a, b, t, c in urls]
        case kinds.SentenceField():
            return _sentences(spec, rng, n)
        case kinds.ParagraphField():
            return _paragraphs(spec, rng, n)
    raise TypeError(f"unsupported field spec: {type(spec).__name__}")


def _block_column(spec: FieldSpec, seed: int, block: int, position: int) -> list[Any]:
    # A child stream per (seed, block, field) keeps each field's draws independent of
    # the block's other fields and of how the dataset is chunked.
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, block, position])))
    # The null mask is drawn first and only depends on null_rate, so the value draws
    # that follow are the same whatever share of them ends up null.
    nulls = rng.random(BLOCK_SIZE) < spec.null_rate if spec.null_rate > 0 else None
    values = _values(spec, rng, block * BLOCK_SIZE, BLOCK_SIZE)
    if nulls is not None:
        for i in np.flatnonzero(nulls).tolist():
            values[i] = None
    return values


def generate_json_rows(fields: Sequence[FieldSpec], seed: int, start: int, stop: int) -> list[str]:
    """JSON text (one object per record, keys in field order) for records start..stop-1.

    Record i depends only on (fields, seed, i), so any split of a range into chunks
    yields the same rows. Raises ValueError for a bad seed or range, duplicate field
    names, or values that don't fit JSON's 64-bit integers (a long sequence).
    """
    if not 0 <= seed < _SEED_LIMIT:
        raise ValueError(f"seed must be in [0, 2**63), got {seed}")
    if not 0 <= start <= stop:
        raise ValueError(f"need 0 <= start <= stop, got start={start}, stop={stop}")
    names = [spec.name for spec in fields]
    if len(set(names)) != len(names):
        raise ValueError("field names must be unique")
    if not fields:
        return ["{}"] * (stop - start)

    dumps = orjson.dumps
    rows: list[str] = []
    for block in range(start // BLOCK_SIZE, -(-stop // BLOCK_SIZE)):
        base = block * BLOCK_SIZE
        lo, hi = max(start, base) - base, min(stop, base + BLOCK_SIZE) - base
        columns = [_block_column(spec, seed, block, pos)[lo:hi] for pos, spec in enumerate(fields)]
        # Every column has hi - lo values and every record one value per name, so the
        # unchecked zips are safe, and measurably cheaper than strict=True here.
        records = zip(*columns)  # noqa: B905
        try:
            rows.extend([dumps(dict(zip(names, rec))).decode() for rec in records])  # noqa: B905
        except orjson.JSONEncodeError as exc:
            raise ValueError(f"generated value is not representable as JSON: {exc}") from exc
    return rows
