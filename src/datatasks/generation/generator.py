"""Fast, deterministic generation of JSON records from field specs.

Records are produced in blocks of BLOCK_SIZE whose random streams are seeded from
(seed, block, field position) alone, so any record's content is independent of how a
dataset is split into chunks, and adding a field leaves the other fields unchanged.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, Final, TypeVar, cast

import numpy as np
import orjson
from anyascii import anyascii
from numpy.typing import NDArray

from datatasks.generation import entities, unique, words
from datatasks.generation import fields as kinds
from datatasks.generation.base import Drawn
from datatasks.generation.fields import FieldSpec
from datatasks.generation.locales import DEFAULT_LOCALE, ascii_slug, pick, table
from datatasks.generation.sizing import BLOCK_SIZE, PARAGRAPH_SENTENCE_WORDS

_SEED_LIMIT: Final = 2**63

_EPOCH_DATE: Final = dt.date(1970, 1, 1)
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


_TLDS = table(words.TLDS)
_WORDS = table(words.WORDS)

_HEX_DIGITS: Final = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
# Columns of the 36-char canonical UUID that hold hex digits (the rest are hyphens).
_UUID_HEX_COLUMNS: Final = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])


def _ints(rng: np.random.Generator, low: int, high: int, n: int) -> list[int]:
    """n integers in [low, high] inclusive as Python ints."""
    return rng.integers(low, high, n, endpoint=True, dtype=np.int64).tolist()  # type: ignore[no-any-return]


def _split_fixed(text: str, width: int, n: int) -> list[str]:
    return [text[i : i + width] for i in range(0, width * n, width)]


def _uuids(
    rng: np.random.Generator, n: int, distinct: NDArray[np.uint64] | None = None
) -> list[str]:
    raw = np.frombuffer(rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    if distinct is not None:
        # The low 62 bits hold distinct numbers, so the UUIDs are distinct by construction.
        raw[:, 8:] = distinct.astype(">u8").view(np.uint8).reshape(n, 8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    nibbles = np.empty((n, 32), dtype=np.uint8)
    nibbles[:, 0::2] = raw >> 4
    nibbles[:, 1::2] = raw & 0x0F
    chars = np.full((n, 36), ord("-"), dtype=np.uint8)
    chars[:, _UUID_HEX_COLUMNS] = _HEX_DIGITS[nibbles]
    return _split_fixed(chars.tobytes().decode("ascii"), 36, n)


def _drawn(
    distribution: kinds.Distribution | None,
    low: float,
    high: float,
    rng: np.random.Generator,
    n: int,
) -> NDArray[np.float64]:
    """n draws of a distribution, not yet clipped to [low, high]."""
    match distribution:
        case None | kinds.Uniform():
            return rng.uniform(low, high, n)
        case kinds.Normal(mean=mean, stddev=stddev):
            return rng.normal(mean, stddev, n)
        case kinds.Lognormal(mu=mu, sigma=sigma):
            with np.errstate(over="ignore"):
                return rng.lognormal(mu, sigma, n)
        case kinds.Exponential(mean=mean):
            return low + rng.exponential(mean, n)
        case kinds.Poisson(lam=lam):
            return low + rng.poisson(lam, n).astype(np.float64)
        case kinds.Zipf(s=s):
            return low - 1 + rng.zipf(s, n).astype(np.float64)
        case kinds.Quantiles(p=ps, values=values):
            # Inverse transform sampling: a uniform p through the piecewise linear inverse CDF.
            drawn: NDArray[np.float64] = np.interp(rng.random(n), ps, values)
            return drawn
    raise TypeError(f"unsupported distribution: {distribution!r}")


def _integers(
    spec: kinds.IntegerField, rng: np.random.Generator, first: int, n: int, ctx: _Context
) -> list[int]:
    if spec.unique:
        domain = spec.max - spec.min + 1
        perm = unique.permute(np.arange(first, first + n), domain, ctx.key(spec))
        return [spec.min + v for v in perm.tolist()]
    if isinstance(spec.distribution, None | kinds.Uniform):
        return _ints(rng, spec.min, spec.max, n)
    raw = _drawn(spec.distribution, spec.min, spec.max, rng, n)
    with np.errstate(invalid="ignore"):
        clipped = np.clip(np.rint(raw), float(spec.min), float(spec.max))
    clipped = np.nan_to_num(clipped, nan=float(spec.min))
    if spec.min >= -(2**53) and spec.max <= 2**53:
        # Every integer in the bounds is exact in float64: the clipped values are too.
        return clipped.astype(np.int64).tolist()  # type: ignore[no-any-return]
    # Bounds near 2**63 do not survive float64: clip again as integers.
    return [min(max(int(v), spec.min), spec.max) for v in clipped.tolist()]


def _floats(spec: kinds.FloatField, rng: np.random.Generator, n: int) -> list[float]:
    raw = _drawn(spec.distribution, spec.min, spec.max, rng, n)
    raw = np.nan_to_num(np.clip(raw, spec.min, spec.max), nan=spec.min)
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


def _strings(
    spec: kinds.StringField, rng: np.random.Generator, first: int, n: int, ctx: _Context
) -> list[str]:
    width = spec.max_length
    tail = unique.digit_count(ctx.count, len(spec.alphabet)) if spec.unique else 0
    lengths = rng.integers(max(spec.min_length, tail), width, n, endpoint=True).tolist()
    if width == 0:
        return [""] * n
    # Always draw max_length characters per record so the draw count is fixed.
    codes = np.array([ord(c) for c in spec.alphabet], dtype="<u4")
    picks = rng.integers(0, len(codes), (n, width))
    if tail:
        # A unique string ends with its distinct number written in the alphabet's digits.
        perm = unique.permute(np.arange(first, first + n), ctx.count, ctx.key(spec))
        number = unique.digits(perm, len(codes), tail)
        ends = np.asarray(lengths)[:, None] - tail + np.arange(tail)
        np.put_along_axis(picks, ends, number, axis=1)
    chars = codes[picks.reshape(-1)]
    text = chars.tobytes().decode("utf-32-le")
    return [text[o : o + k] for o, k in zip(range(0, n * width, width), lengths, strict=True)]


_DAY: Final = 86_400
# Days from 0001-01-01 and 9999-12-31 to the epoch: what both date formats can write.
_MIN_DAY: Final = (dt.date.min - _EPOCH_DATE).days
_MAX_DAY: Final = (dt.date.max - _EPOCH_DATE).days


def _seconds(
    spec: kinds.DateField | kinds.DatetimeField, rng: np.random.Generator, n: int, ctx: _Context
) -> NDArray[np.int64]:
    """Seconds since the epoch: between start and end, or a gap after the `after` field."""
    per = _DAY if isinstance(spec, kinds.DateField) else 1
    if spec.after is not None:
        gap = rng.integers(0, int(spec.max_gap_days * _DAY) // per, n, endpoint=True)
        base = ctx.seconds[spec.after]
        if per == _DAY:
            base = base // _DAY
        steps = np.clip(base + gap, _MIN_DAY * _DAY // per, (_MAX_DAY * _DAY + _DAY - 1) // per)
        return steps * per  # type: ignore[no-any-return]
    if isinstance(spec, kinds.DateField):
        low = (spec.start - _EPOCH_DATE).days
        high = (spec.end - _EPOCH_DATE).days
        return rng.integers(low, high, n, endpoint=True, dtype=np.int64) * _DAY
    second = dt.timedelta(seconds=1)
    # Ceil the start and floor the end so sub-second bounds are never exceeded.
    low = -((_EPOCH - spec.start) // second)
    high = (spec.end - _EPOCH) // second
    return rng.integers(low, high, n, endpoint=True, dtype=np.int64)


def _date_text(
    spec: kinds.DateField | kinds.DatetimeField, seconds: NDArray[np.int64]
) -> list[str]:
    if isinstance(spec, kinds.DateField):
        days = (seconds // _DAY).astype("datetime64[D]")
        return np.datetime_as_string(days).tolist()  # type: ignore[no-any-return]
    secs = seconds.astype("datetime64[s]")
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
    return table(plain + caps + [w + "." for w in plain] + [w + "." for w in caps])


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


@dataclass(frozen=True)
class Source:
    """The values a reference field draws from: one field of an existing dataset's records."""

    values: NDArray[np.object_]
    # Cumulative probabilities for zipf (a record's rank is its position in values).
    cdf: NDArray[np.float64] | None = None

    @classmethod
    def of(cls, spec: kinds.ReferenceField, values: Sequence[Any]) -> Source:
        if not values:
            raise ValueError(f"dataset {spec.dataset_id} has no records to refer to")
        table = np.empty(len(values), dtype=object)
        table[:] = list(values)
        if spec.distribution == "uniform":
            return cls(table)
        weights = np.arange(1, len(values) + 1, dtype=np.float64) ** -spec.s
        cdf = np.cumsum(weights / weights.sum())
        cdf[-1] = 1.0
        return cls(table, cdf)

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        if self.cdf is None:
            index = rng.integers(0, len(self.values), n)
        else:
            index = np.searchsorted(self.cdf, rng.random(n), side="right")
        return self.values[index].tolist()  # type: ignore[no-any-return]


@dataclass
class _Context:
    """What the fields of one block (or of one nested object in it) share."""

    prefix: list[int]  # [seed, block, *(_NESTED, position) of each enclosing object]
    n: int
    locale: str
    count: int
    sources: Mapping[str, Source]
    entities: dict[tuple[str, str | None], Any] = dataclass_field(default_factory=dict)
    # An entity's locale, where one of its fields names one (the request checks they agree).
    entity_locales: dict[tuple[str, str | None], str] = dataclass_field(default_factory=dict)
    columns: dict[str, list[Any]] = dataclass_field(default_factory=dict)
    seconds: dict[str, NDArray[np.int64]] = dataclass_field(default_factory=dict)
    nulls: dict[str, NDArray[np.bool_]] = dataclass_field(default_factory=dict)
    positions: dict[str, int] = dataclass_field(default_factory=dict)

    def key(self, spec: FieldSpec) -> tuple[int, ...]:
        """The permutation key of a unique field: its seed and position alone (not the block).
        A person's unique username and email share their entity's, so they share a suffix."""
        if isinstance(spec, kinds._Person):
            return (self.prefix[0], *entities.entity_stream([], "person", spec.entity))
        return (self.prefix[0], *self.prefix[2:], self.positions[spec.name])

    def entity(self, cls: type[_E], spec: kinds._Described, entity: str | None = None) -> _E:
        name = spec.entity if entity is None else entity
        key = (cls.group, name)
        if key not in self.entities:
            locale = self.entity_locales.get(key, self.locale)
            stream = entities.entity_stream(self.prefix, cls.group, name)
            self.entities[key] = cls(entities.Entity(stream, locale, self.n, cls.group))
        return self.entities[key]  # type: ignore[no-any-return]


_E = TypeVar("_E", entities.Person, entities.Address, entities.Company)
# Streams of a nested object's fields sit apart from the object's own stream [seed, block,
# position] (SeedSequence pads entropy with zeros, so [.., position, 0] would be the same).
_NESTED: Final = 2**32 + 1


def entity_locales(fields: Sequence[FieldSpec]) -> dict[tuple[str, str | None], str]:
    """The locale each entity's fields name, by (group, entity name)."""
    found: dict[tuple[str, str | None], str] = {}
    for spec in fields:
        if isinstance(spec, kinds._Described) and spec.locale is not None:
            found.setdefault((spec.group, spec.entity), spec.locale)
    return found


def _apply(text: str, filters: tuple[str, ...]) -> str:
    for name in filters:
        if name == "lower":
            text = text.lower()
        elif name == "upper":
            text = text.upper()
        elif name == "title":
            text = text.title()
        elif name == "slug":
            text = ascii_slug(text, "-")
        else:
            text = anyascii(text)
    return text


def _template(spec: kinds.TemplateField, ctx: _Context) -> list[str]:
    pieces: list[list[str]] = []
    for part in spec.parts():
        if isinstance(part, str):
            pieces.append([part] * ctx.n)
            continue
        name, filters = part
        # Names and cities repeat a lot: filter each distinct value once.
        memo: dict[tuple[type, Any], str] = {}
        column = []
        for value in ctx.columns[name]:
            if isinstance(value, dict | list):
                column.append(_apply(orjson.dumps(value).decode(), filters))
                continue
            # Keyed by type too: 1, 1.0 and True are equal keys but not the same text.
            key = (type(value), value)
            text = memo.get(key)
            if text is None:
                raw = (
                    ""
                    if value is None
                    else value
                    if isinstance(value, str)
                    else orjson.dumps(value).decode()
                )
                text = memo[key] = _apply(raw, filters)
            column.append(text)
        pieces.append(column)
    return ["".join(parts) for parts in zip(*pieces, strict=True)]


def _person(spec: kinds._Person, ctx: _Context, first: int, n: int) -> list[Any]:
    person = ctx.entity(entities.Person, spec)
    match spec:
        case kinds.FirstNameField():
            return person.first_name()
        case kinds.LastNameField():
            return person.last_name()
        case kinds.FullNameField():
            return person.full_name()
        case kinds.GenderField():
            return person.gender()
        case kinds.UsernameField() | kinds.EmailField():
            suffixes = None
            if spec.unique:
                perm = unique.permute(np.arange(first, first + n), ctx.count, ctx.key(spec))
                suffixes = (perm + 1).tolist()
            if isinstance(spec, kinds.UsernameField):
                return person.username(suffixes)
            return person.email(suffixes)
        case kinds.PhoneField():
            return person.phone()
        case kinds.WorkEmailField():
            company = ctx.entity(entities.Company, spec, spec.company_entity)
            return person.work_email(company)
    raise TypeError(f"unsupported person field: {type(spec).__name__}")


def _address(spec: kinds._Address, ctx: _Context) -> list[Any]:
    address = ctx.entity(entities.Address, spec)
    match spec:
        case kinds.StreetAddressField():
            return address.street_address()
        case kinds.CityField():
            return address.city()
        case kinds.RegionField():
            return address.region()
        case kinds.PostcodeField():
            return address.postcode()
        case kinds.CountryField():
            return address.country()
        case kinds.CountryCodeField():
            return address.country_code(spec.format == "alpha3")
        case kinds.LatitudeField():
            return address.latitude(spec.decimals)
        case kinds.LongitudeField():
            return address.longitude(spec.decimals)
        case kinds.TimezoneField():
            return address.timezone()
    raise TypeError(f"unsupported address field: {type(spec).__name__}")


def _company(spec: kinds._Company, ctx: _Context) -> list[Any]:
    company = ctx.entity(entities.Company, spec)
    if isinstance(spec, kinds.CompanyDomainField):
        return company.domain()
    return company.name()


def _nested(spec: kinds.ObjectField, ctx: _Context, first: int, n: int) -> list[Any]:
    position = ctx.positions[spec.name]
    inner = _Context([*ctx.prefix, _NESTED, position], n, ctx.locale, ctx.count, ctx.sources)
    columns = _columns(spec.fields, inner, first)
    names = [f.name for f in spec.fields]
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


def _array(
    spec: kinds.ArrayField, rng: np.random.Generator, ctx: _Context, first: int, n: int
) -> list[Any]:
    lengths = rng.integers(spec.min_items, spec.max_items, n, endpoint=True).tolist()
    width = spec.max_items
    if width == 0:
        return [[] for _ in range(n)]
    position = ctx.positions[spec.name]
    prefix = [*ctx.prefix, _NESTED, position]
    inner = _Context(prefix, n * width, ctx.locale, ctx.count, ctx.sources)
    (items,) = _columns([spec.of], inner, first * width)
    return [items[o : o + k] for o, k in zip(range(0, n * width, width), lengths, strict=True)]


def _values(spec: FieldSpec, rng: np.random.Generator, ctx: _Context, first: int) -> list[Any]:
    """One column of n values for records first .. first + n - 1."""
    n = ctx.n
    match spec:
        case Drawn():
            return spec.draw(rng, n)
        case kinds._Person():
            return _person(spec, ctx, first, n)
        case kinds._Address():
            return _address(spec, ctx)
        case kinds._Company():
            return _company(spec, ctx)
        case kinds.UuidField():
            distinct = None
            if spec.unique:
                distinct = unique.permute(np.arange(first, first + n), 2**62, ctx.key(spec))
                distinct |= np.uint64(0x8000000000000000)  # RFC 4122 variant
            return _uuids(rng, n, distinct)
        case kinds.IntegerField():
            return _integers(spec, rng, first, n, ctx)
        case kinds.FloatField():
            return _floats(spec, rng, n)
        case kinds.BooleanField():
            return (rng.random(n) < spec.probability).tolist()  # type: ignore[no-any-return]
        case kinds.EnumField():
            return _enum(spec, rng, n)
        case kinds.SequenceField():
            return _sequence(spec, first, n)
        case kinds.ConstantField():
            return [spec.value] * n
        case kinds.StringField():
            return _strings(spec, rng, first, n, ctx)
        case kinds.DateField() | kinds.DatetimeField():
            seconds = _seconds(spec, rng, n, ctx)
            ctx.seconds[spec.name] = seconds
            return _date_text(spec, seconds)
        case kinds.IpAddressField():
            return _ip_addresses(spec, rng, n)
        case kinds.UrlField():
            urls = zip(
                pick(_WORDS, rng, n),
                pick(_WORDS, rng, n),
                pick(_TLDS, rng, n),
                pick(_WORDS, rng, n),
                strict=True,
            )
            return [f"https://www.{a}{b}.{t}/{c}" for a, b, t, c in urls]
        case kinds.SentenceField():
            return _sentences(spec, rng, n)
        case kinds.ParagraphField():
            return _paragraphs(spec, rng, n)
        case kinds.TemplateField():
            return _template(spec, ctx)
        case kinds.ReferenceField():
            return ctx.sources[spec.name].draw(rng, n)
        case kinds.ObjectField():
            return _nested(spec, ctx, first, n)
        case kinds.ArrayField():
            return _array(spec, rng, ctx, first, n)
    raise TypeError(f"unsupported field spec: {type(spec).__name__}")


class _Unused:
    """Stands for the stream of a field that must not draw from one: using it is a bug."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"this field has no random stream of its own (asked for {name})")


_NO_STREAM: Final = cast(np.random.Generator, _Unused())


def dependencies(spec: FieldSpec) -> list[str]:
    """The fields of the same record (or object) this one is made from."""
    if isinstance(spec, kinds.TemplateField):
        return spec.references()
    if isinstance(spec, kinds.DateField | kinds.DatetimeField) and spec.after is not None:
        return [spec.after]
    return []


class DependencyCycle(ValueError):
    """Fields that read each other, in the order they do."""

    def __init__(self, names: tuple[str, ...]) -> None:
        super().__init__(f"fields depend on each other in a cycle: {' -> '.join(names)}")
        self.names = names


def evaluation_order(fields: Sequence[FieldSpec]) -> list[int]:
    """Positions of fields, each after the fields it is made from. Raises ValueError for a
    dependency on a missing field or a cycle."""
    by_name = {spec.name: i for i, spec in enumerate(fields)}
    order: list[int] = []
    state: dict[int, str] = {}

    def visit(i: int, path: tuple[str, ...]) -> None:
        if state.get(i) == "done":
            return
        if state.get(i) == "visiting":
            raise DependencyCycle(path)
        state[i] = "visiting"
        for name in dependencies(fields[i]):
            if name not in by_name:
                raise ValueError(
                    f"field {fields[i].name!r} reads {name!r}, which is not a field here"
                )
            visit(by_name[name], (*path, name))
        state[i] = "done"
        order.append(i)

    for i, spec in enumerate(fields):
        visit(i, (spec.name,))
    return order


def _columns(fields: Sequence[FieldSpec], ctx: _Context, first: int) -> list[list[Any]]:
    ctx.positions = {spec.name: pos for pos, spec in enumerate(fields)}
    ctx.entity_locales = entity_locales(fields)
    columns: list[list[Any]] = [[] for _ in fields]
    for pos in evaluation_order(fields):
        spec = fields[pos]
        # A child stream per (seed, block, field) keeps each field's draws independent of
        # the block's other fields and of how the dataset is chunked. Fields that draw nothing
        # of their own (an entity's, a template) need none unless they have nulls.
        if spec.null_rate == 0 and isinstance(spec, kinds._Described | kinds.TemplateField):
            rng = _NO_STREAM
        else:
            rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([*ctx.prefix, pos])))
        # The null mask is drawn first and only depends on null_rate, so the value draws
        # that follow are the same whatever share of them ends up null.
        nulls = rng.random(ctx.n) < spec.null_rate if spec.null_rate > 0 else None
        values = _values(spec, rng, ctx, first)
        for name in dependencies(spec):
            # What is made from a missing value (a null `after` base) is missing too.
            if isinstance(spec, kinds.DateField | kinds.DatetimeField) and name in ctx.nulls:
                nulls = ctx.nulls[name] if nulls is None else nulls | ctx.nulls[name]
        if nulls is not None:
            ctx.nulls[spec.name] = nulls
            for i in np.flatnonzero(nulls).tolist():
                values[i] = None
        ctx.columns[spec.name] = values
        columns[pos] = values
    return columns


def generate_json_rows(
    fields: Sequence[FieldSpec],
    seed: int,
    start: int,
    stop: int,
    *,
    locale: str = DEFAULT_LOCALE,
    count: int | None = None,
    sources: Mapping[str, Source] | None = None,
) -> list[str]:
    """JSON text (one object per record, keys in field order) for records start..stop-1.

    Record i depends only on (fields, seed, locale, count, sources, i), so any split of a range
    into chunks yields the same rows. `count` is the dataset's size (unique fields permute it;
    default: stop), `sources` the values of each reference field by its name. Raises ValueError
    for a bad seed or range, duplicate field names, or values that don't fit JSON's 64-bit
    integers (a long sequence).
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
    total = stop if count is None else count
    if stop > total:
        raise ValueError(f"records up to {stop} asked of a dataset of {total}")
    missing = [
        spec.name
        for spec in fields
        if isinstance(spec, kinds.ReferenceField) and spec.name not in (sources or {})
    ]
    if missing:
        raise ValueError(f"no source values for reference fields {missing}")

    dumps = orjson.dumps
    rows: list[str] = []
    for block in range(start // BLOCK_SIZE, -(-stop // BLOCK_SIZE)):
        base = block * BLOCK_SIZE
        lo, hi = max(start, base) - base, min(stop, base + BLOCK_SIZE) - base
        ctx = _Context([seed, block], BLOCK_SIZE, locale, max(total, 1), sources or {})
        columns = [column[lo:hi] for column in _columns(fields, ctx, base)]
        # Every column has hi - lo values and every record one value per name, so the
        # unchecked zips are safe, and measurably cheaper than strict=True here.
        records = zip(*columns)  # noqa: B905
        try:
            rows.extend([dumps(dict(zip(names, rec))).decode() for rec in records])  # noqa: B905
        except orjson.JSONEncodeError as exc:
            raise ValueError(f"generated value is not representable as JSON: {exc}") from exc
    return rows
