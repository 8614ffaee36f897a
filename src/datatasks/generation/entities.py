"""One person, one address, one company per record: the draws their fields share.

The fields of a group (person, address, company) with the same entity name and locale read one
Entity, so a record's first name, gender, username and email describe one person, and its city,
region, coordinates and time zone one place. Each attribute (gender, city, street number...)
has its own random stream seeded by (seed, block, entity, attribute) and is drawn only when a
field asks for it: adding a field changes no other field's values.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any, ClassVar, Final

import numpy as np
from numpy.typing import NDArray

from datatasks.generation import locales, words
from datatasks.generation.locales import Table, fill_masks, table

# Entity streams sit beside field streams (which are keyed by small field positions).
_ENTITY_TAG: Final = 2**32
_EMAIL_DOMAINS: Final = table(list(words.EMAIL_DOMAINS))
_AT_DOMAINS: Final = table(["@" + d for d in words.EMAIL_DOMAINS])
# Locales that write the family name first, and what joins the two names.
_FAMILY_FIRST: Final = {"ja": " ", "zh": "", "ko": "", "hu": " "}
_GENDERS: Final = table(["female", "male"])
_LOGIN_SEPARATORS: Final = table([".", "", "", "_"])
# Login numbers 0-99, then none; and each of those followed by each email domain.
_NUMBERS: Final = table([*(str(i) for i in range(100)), ""])
_NUMBERED_DOMAINS: Final = table([n + d for n in _NUMBERS.tolist() for d in _AT_DOMAINS.tolist()])


# The simple attributes of each kind of entity: each is one row of the words an entity draws
# at once per block. New attributes go at the end, so the others keep their values.
_ATTRIBUTES: Final[dict[str, dict[str, int]]] = {
    group: {name: row for row, name in enumerate(names)}
    for group, names in {
        "person": (
            "gender", "first/index", "last/index", "username/style", "username/number",
            "email/domain",
        ),
        "address": ("city", "city/keep", "street", "street/suffix", "street/number"),
        "company": ("founder/1", "founder/2", "suffix", "style"),
    }.items()
}  # fmt: skip


class Entity:
    """The lazily drawn attributes of n things of one group, for one block of records.

    The simple attributes (indexes, shares) are rows of one draw of 64-bit words per entity
    and block (a generator per attribute would cost more than its draw); the others (phone
    numbers, postcodes, coordinates) get a generator of their own when asked for.
    """

    def __init__(self, stream: list[int], locale: str, n: int, group: str) -> None:
        self.locale = locale
        self.n = n
        self._stream = stream
        self._rows = _ATTRIBUTES[group]
        self._words: NDArray[np.uint64] | None = None
        self._cache: dict[str, Any] = {}

    def rng(self, attribute: str) -> np.random.Generator:
        key = [*self._stream, zlib.crc32(attribute.encode())]
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence(key)))

    def cached(self, attribute: str, draw: Callable[[np.random.Generator], Any]) -> Any:
        if attribute not in self._cache:
            self._cache[attribute] = draw(self.rng(attribute))
        return self._cache[attribute]

    def memo(self, name: str, compute: Callable[[], Any]) -> Any:
        """compute(), once per entity and block: a value made from other attributes."""
        if name not in self._cache:
            self._cache[name] = compute()
        return self._cache[name]

    def bits(self, attribute: str) -> NDArray[np.uint64]:
        """n pseudorandom 64-bit words, one per thing."""
        if self._words is None:
            generator = np.random.PCG64(np.random.SeedSequence(self._stream))
            self._words = np.asarray(
                generator.random_raw((len(self._rows), self.n)), dtype=np.uint64
            )
        words: NDArray[np.uint64] = self._words[self._rows[attribute]]
        return words

    def index(self, attribute: str, size: int) -> NDArray[np.int64]:
        """n indexes in [0, size), one per thing."""
        return (self.bits(attribute) % np.uint64(size)).astype(np.int64)

    def share(self, attribute: str) -> NDArray[np.float64]:
        """n numbers in [0, 1), one per thing."""
        return ((self.bits(attribute) >> np.uint64(11)) * 2.0**-53).astype(np.float64)


def entity_stream(prefix: list[int], group: str, entity: str | None) -> list[int]:
    """The seed of one entity: the block's prefix, then the entity's stable name."""
    name = f"{group}\x00{entity or ''}"
    return [*prefix, _ENTITY_TAG, zlib.crc32(name.encode())]


class Person:
    """The person attributes of one entity."""

    group: ClassVar = "person"

    def __init__(self, e: Entity) -> None:
        self.e = e
        self.data = locales.people(e.locale)

    @property
    def male(self) -> NDArray[np.bool_]:
        return self.e.share("gender") < 0.5

    def _index(self, part: str) -> NDArray[np.int64]:
        """Each record's given (part "first") or family ("last") name, as an index into the
        locale's names of that part (female ones, then male ones): one draw serves the name as
        written, in ASCII and as a login's lead."""
        names = self.data.names(part)
        key = f"{part}/index"

        def draw() -> NDArray[np.int64]:
            raw = (self.e.bits(key) >> np.uint64(2)).astype(np.int64)
            index: NDArray[np.int64] = np.where(
                self.male, names.female + raw % names.male, raw % names.female
            )
            return index

        return self.e.memo(key, draw)  # type: ignore[no-any-return]

    def first_name(self) -> list[str]:
        return self.data.names("first").written[self._index("first")].tolist()  # type: ignore[no-any-return]

    def last_name(self) -> list[str]:
        return self.data.names("last").written[self._index("last")].tolist()  # type: ignore[no-any-return]

    def _ascii(self, part: str) -> Table:
        return self.data.names(part).ascii[self._index(part)]

    def full_name(self) -> list[str]:
        first, last = self.first_name(), self.last_name()
        language = self.e.locale.split("-")[0]
        if language in _FAMILY_FIRST:
            sep = _FAMILY_FIRST[language]
            return [f"{b}{sep}{a}" for a, b in zip(first, last, strict=True)]
        return [f"{a} {b}" for a, b in zip(first, last, strict=True)]

    def gender(self) -> list[str]:
        return _GENDERS[self.male.astype(np.int64)].tolist()  # type: ignore[no-any-return]

    def _login(self, suffixes: list[int] | None, email: bool) -> list[str]:
        """Logins made from the names: first.last, firstlast42, flast or first_last42 (with
        `@domain` for an email); with suffixes (distinct numbers), first.lastN."""
        last = self._ascii("last").tolist()
        domain = self.e.index("email/domain", len(_AT_DOMAINS)) if email else None
        if suffixes is not None:
            first = self._ascii("first").tolist()
            ats = [""] * self.e.n if domain is None else _AT_DOMAINS[domain].tolist()
            return [f"{a}.{b}{n}{d}" for a, b, n, d in zip(first, last, suffixes, ats, strict=True)]
        # Each part is one lookup in a table made once: the first name or its initial, the
        # separator, and the number (or none) with the domain.
        style = self.e.index("username/style", 4)
        names = self.data.names("first")
        lead = names.lead[self._index("first") + (style == 2) * len(names.ascii)].tolist()
        seps = _LOGIN_SEPARATORS[style].tolist()
        number = np.where((style == 1) | (style == 3), self.e.index("username/number", 100), 100)
        if domain is None:
            tails = _NUMBERS[number].tolist()
        else:
            tails = _NUMBERED_DOMAINS[number * len(_AT_DOMAINS) + domain].tolist()
        return [f"{a}{s}{b}{t}" for a, s, b, t in zip(lead, seps, last, tails, strict=True)]

    def username(self, suffixes: list[int] | None = None) -> list[str]:
        """A login from the name; with suffixes (distinct numbers), distinct logins."""
        return self._login(suffixes, email=False)

    def email(self, suffixes: list[int] | None = None) -> list[str]:
        return self._login(suffixes, email=True)

    def work_email(self, company: Company) -> list[str]:
        first, last = self._ascii("first").tolist(), self._ascii("last").tolist()
        return [f"{a}.{b}@{d}" for a, b, d in zip(first, last, company.domain(), strict=True)]

    def phone(self) -> list[str]:
        return self.e.cached(  # type: ignore[no-any-return]
            "phone", lambda rng: fill_masks(self.data.phone_masks, rng, self.e.n)
        )


class Address:
    """The address attributes of one entity."""

    group: ClassVar = "address"

    def __init__(self, e: Entity) -> None:
        self.e = e
        self.data = locales.places(e.locale)

    @property
    def city_index(self) -> NDArray[np.int64]:
        d = self.data

        def draw() -> NDArray[np.int64]:
            index = self.e.index("city", len(d.cities))
            keep = self.e.share("city/keep") < d.city_keep[index]
            chosen: NDArray[np.int64] = np.where(keep, index, d.city_alias[index])
            return chosen

        return self.e.memo("city/index", draw)  # type: ignore[no-any-return]

    def city(self) -> list[str]:
        return self.data.cities[self.city_index].tolist()  # type: ignore[no-any-return]

    def region(self) -> list[str]:
        return self.data.city_regions[self.city_index].tolist()  # type: ignore[no-any-return]

    def street_address(self) -> list[str]:
        d = self.data
        names = d.streets[self.e.index("street", len(d.streets))].tolist()
        suffixes = d.street_suffixes[self.e.index("street/suffix", len(d.street_suffixes))].tolist()
        numbers = (self.e.index("street/number", 199) + 1).tolist()
        fmt = d.street_format
        return [
            fmt.format(st_name=a, st_num=b, st_sfx=c).strip()
            for a, b, c in zip(names, numbers, suffixes, strict=True)
        ]

    def postcode(self) -> list[str]:
        return self.e.cached(  # type: ignore[no-any-return]
            "postcode", lambda rng: fill_masks(self.data.postcode_masks, rng, self.e.n)
        )

    def country(self) -> list[str]:
        return [self.data.country_name] * self.e.n

    def country_code(self, alpha3: bool) -> list[str]:
        return [self.data.alpha3 if alpha3 else self.data.country] * self.e.n

    def _jitter(self, name: str) -> NDArray[np.float64]:
        jitter = locales.COORDINATE_JITTER
        return self.e.cached(  # type: ignore[no-any-return]
            name, lambda rng: rng.uniform(-jitter, jitter, self.e.n)
        )

    def latitude(self, decimals: int) -> list[float]:
        lat = self.data.latitudes[self.city_index] + self._jitter("latitude")
        return np.round(np.clip(lat, -90, 90), decimals).tolist()  # type: ignore[no-any-return]

    def longitude(self, decimals: int) -> list[float]:
        lon = self.data.longitudes[self.city_index] + self._jitter("longitude")
        return np.round(np.clip(lon, -180, 180), decimals).tolist()  # type: ignore[no-any-return]

    def timezone(self) -> list[str]:
        return self.data.time_zones[self.city_index].tolist()  # type: ignore[no-any-return]


class Company:
    """The company attributes of one entity: founders' family names and a legal form."""

    group: ClassVar = "company"

    def __init__(self, e: Entity) -> None:
        self.e = e
        self.people = locales.people(e.locale)
        self.data = locales.companies(e.locale)

    def _parts(self) -> tuple[list[Any], ...]:
        def draw() -> tuple[list[Any], ...]:
            last, last_ascii = self.people.last[1], self.people.last_ascii[1]
            a = self.e.index("founder/1", len(last))
            b = self.e.index("founder/2", len(last))
            suffix = self.e.index("suffix", len(self.data.suffixes))
            two = (self.e.index("style", 3) == 0).tolist()
            return (
                last[a].tolist(),
                last[b].tolist(),
                last_ascii[a].tolist(),
                last_ascii[b].tolist(),
                self.data.suffixes[suffix].tolist(),
                two,
            )

        return self.e.memo("parts", draw)  # type: ignore[no-any-return]

    def name(self) -> list[str]:
        a, b, _, _, suffix, two = self._parts()
        return [
            f"{x} & {y} {s}" if t else f"{x} {s}"
            for x, y, s, t in zip(a, b, suffix, two, strict=True)
        ]

    def domain(self) -> list[str]:
        def draw() -> list[str]:
            a, b, two = self._parts()[2], self._parts()[3], self._parts()[5]
            return [
                f"{x}-{y}.example" if t else f"{x}.example"
                for x, y, t in zip(a, b, two, strict=True)
            ]

        return self.e.memo("domain", draw)  # type: ignore[no-any-return]
