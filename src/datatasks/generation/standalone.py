"""Field types whose values are drawn on their own, from the record's random stream alone.

Each model validates its options and draws a whole column at once with numpy (see Drawn in
base.py); none reads another field of the record. Word lists and registries come from
libraries' data (Mimesis, pycountry, python-stdnum, Python's own tables), loaded once at
import as numpy object arrays; only short fixed lists are written here.
"""

from __future__ import annotations

import base64
import datetime as dt
import http
import importlib.resources
import ipaddress
import itertools
import json
import mimetypes
import random
import re
import re._parser as _sre_parse  # type: ignore[import-not-found]  # rstr parses with it too
import string
from collections.abc import Iterable
from typing import Annotated, Any, Final, Literal, Self

import numpy as np
import orjson
import pycountry
from mimesis.datasets.int.file import EXTENSIONS as _MIMESIS_EXTENSIONS
from mimesis.datasets.int.file import FILENAMES as _MIMESIS_FILENAMES
from mimesis.datasets.int.internet import USER_AGENTS as _MIMESIS_USER_AGENTS
from numpy.typing import NDArray
from pydantic import Field, field_validator, model_validator
from pydantic.color import COLORS_BY_NAME
from rstr.xeger import Xeger
from stdnum import numdb

from datatasks.generation import words
from datatasks.generation.base import Drawn, FiniteFloat, UtcDatetime
from datatasks.generation.locales import pick, table

# --------------------------------------------------------------------------------------------
# Shared helpers


def _longest(table: Iterable[Any]) -> int:
    """Longest JSON text of a table's values, quotes included."""
    return max(len(orjson.dumps(v)) for v in table)


def _rows(chars: NDArray[np.uint8]) -> list[str]:
    """One ASCII string per row of an (n, width) array of character codes."""
    n, width = chars.shape
    text = np.ascontiguousarray(chars).tobytes().decode("ascii")
    return [text[i : i + width] for i in range(0, n * width, width)]


def _digit_chars(rng: np.random.Generator, n: int, width: int) -> NDArray[np.uint8]:
    return rng.integers(0, 10, (n, width), dtype=np.uint8)


def _luhn_check(digits: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Luhn check digit for each row of payload digits (without the check digit)."""
    # From the right of the payload, every other digit (starting with the last) is doubled.
    doubled = np.zeros(digits.shape[1], dtype=bool)
    doubled[::-1][::2] = True
    values = digits.astype(np.int64)
    values = np.where(doubled, values * 2, values)
    values = np.where(values > 9, values - 9, values)
    total: NDArray[np.int64] = values.sum(axis=1)
    return ((10 - total % 10) % 10).astype(np.uint8)


def _ean_check(digits: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """GS1 check digit for rows of 12 digits (EAN-13 and ISBN-13): weights 1, 3, 1, ..."""
    weights = np.tile(np.array([1, 3], dtype=np.int64), 6)
    total: NDArray[np.int64] = digits.astype(np.int64) @ weights
    return ((10 - total % 10) % 10).astype(np.uint8)


def _crockford(values: NDArray[np.uint64], chars: int) -> NDArray[np.uint8]:
    """(n, chars) Crockford base32 codes of the low 5 * chars bits, most significant first."""
    shifts = np.arange(chars - 1, -1, -1, dtype=np.uint64) * np.uint64(5)
    codes: NDArray[np.uint8] = _CROCKFORD[
        ((values[:, None] >> shifts) & np.uint64(31)).astype(np.intp)
    ]
    return codes


_HEX: Final = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_DIGITS: Final = np.frombuffer(b"0123456789", dtype=np.uint8)
_UPPER: Final = np.frombuffer(string.ascii_uppercase.encode(), dtype=np.uint8)
# Digits then letters: a character's index is also its value in IBAN's mod-97 arithmetic.
_ALNUM: Final = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)
_CROCKFORD: Final = np.frombuffer(b"0123456789ABCDEFGHJKMNPQRSTVWXYZ", dtype=np.uint8)
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _hex_strings(rng: np.random.Generator, n: int, nbytes: int) -> list[str]:
    text = rng.bytes(nbytes * n).hex()
    width = 2 * nbytes
    return [text[i : i + width] for i in range(0, width * n, width)]


# --------------------------------------------------------------------------------------------
# Credentials and payment


_BCRYPT_ALPHABET: Final = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_STD_B64_ALPHABET: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_TO_BCRYPT: Final = bytes.maketrans(_STD_B64_ALPHABET, _BCRYPT_ALPHABET)
_SALT_CHARS: Final = np.frombuffer((string.ascii_letters + string.digits).encode(), dtype=np.uint8)

# algorithm: (lowest, highest, default) of its `rounds` option, the work factor in its own unit.
_ROUNDS: Final[dict[str, tuple[int, int, int]]] = {
    "bcrypt": (4, 31, 12),  # log2 of the key expansion rounds, as in $2b$12$
    "argon2id": (1, 100, 3),  # passes over memory (t); argon2-cffi's default is 3
    "pbkdf2_sha256": (1, 100_000_000, 870_000),  # iterations; Django 5.1's default
}


def _b64_columns(raw: NDArray[np.uint8], chars: int) -> NDArray[np.uint8]:
    """Unpadded base64 of each row of raw bytes, its first `chars` characters.

    Rows are zero-padded to a multiple of 3 bytes so the whole block encodes in one call; the
    characters before the padding are those of encoding the row alone.
    """
    n, width = raw.shape
    padded = np.zeros((n, -(-width // 3) * 3), dtype=np.uint8)
    padded[:, :width] = raw
    encoded = np.frombuffer(base64.b64encode(padded.tobytes()), dtype=np.uint8)
    return encoded.reshape(n, -1)[:, :chars]


class PasswordHashField(Drawn):
    """Password hash in bcrypt, argon2id or Django PBKDF2 format (random, not of a password)."""

    type: Literal["password_hash"]
    algorithm: Literal["bcrypt", "argon2id", "pbkdf2_sha256"] = "bcrypt"
    rounds: int | None = Field(
        default=None,
        description="Work factor: bcrypt cost 4-31 (12), argon2id passes 1-100 (3), "
        "PBKDF2 iterations 1-100000000 (870000); null for the default.",
    )

    @model_validator(mode="after")
    def _check_rounds(self) -> Self:
        low, high, _ = _ROUNDS[self.algorithm]
        if self.rounds is not None and not low <= self.rounds <= high:
            raise ValueError(f"rounds must be between {low} and {high} for {self.algorithm}")
        return self

    def _prefix(self) -> str:
        rounds = _ROUNDS[self.algorithm][2] if self.rounds is None else self.rounds
        if self.algorithm == "bcrypt":
            return f"$2b${rounds:02d}$"
        if self.algorithm == "argon2id":
            return f"$argon2id$v=19$m=65536,t={rounds},p=4$"
        return f"pbkdf2_sha256${rounds}$"

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        prefix = self._prefix()
        if self.algorithm == "pbkdf2_sha256":
            # Django: a 22-character alphanumeric salt, then base64 of the 32-byte key.
            salts = _rows(_SALT_CHARS[rng.integers(0, len(_SALT_CHARS), (n, 22))])
            keys = np.frombuffer(rng.bytes(32 * n), dtype=np.uint8).reshape(n, 32)
            padded = np.zeros((n, 33), dtype=np.uint8)
            padded[:, :32] = keys
            text = base64.b64encode(padded.tobytes()).decode("ascii")
            # 33 bytes encode to 44 chars; the key alone is 43 chars plus one "=" of padding.
            hashes = [text[i : i + 43] + "=" for i in range(0, 44 * n, 44)]
            return [f"{prefix}{s}${h}" for s, h in zip(salts, hashes, strict=True)]
        if self.algorithm == "bcrypt":
            # 16-byte salt (22 chars) then 23-byte hash (31 chars), bcrypt's base64 alphabet.
            salt = _b64_columns(np.frombuffer(rng.bytes(16 * n), np.uint8).reshape(n, 16), 22)
            digest = _b64_columns(np.frombuffer(rng.bytes(23 * n), np.uint8).reshape(n, 23), 31)
            text = np.hstack([salt, digest]).tobytes().translate(_TO_BCRYPT).decode("ascii")
            return [prefix + text[i : i + 53] for i in range(0, 53 * n, 53)]
        # argon2id (PHC string): 16-byte salt and 32-byte hash, unpadded standard base64.
        salt = _b64_columns(np.frombuffer(rng.bytes(16 * n), np.uint8).reshape(n, 16), 22)
        digest = _b64_columns(np.frombuffer(rng.bytes(32 * n), np.uint8).reshape(n, 32), 43)
        sep = np.full((n, 1), ord("$"), dtype=np.uint8)
        return [prefix + row for row in _rows(np.hstack([salt, sep, digest]))]

    def value_bytes(self) -> int:
        body = {"bcrypt": 53, "argon2id": 22 + 1 + 43, "pbkdf2_sha256": 22 + 1 + 44}
        return 2 + len(self._prefix()) + body[self.algorithm]


# The first six digits (BIN) of the test card numbers that the networks' and the big payment
# processors' sandboxes publish (Visa 4111 1111 1111 1111, Mastercard 5555 5555 5555 4444,
# Amex 3782 822463 10005, Discover 6011 1111 1111 1117, ...): random account digits and a
# Luhn check digit follow, so numbers look real but stay in test ranges.
_CARD_PREFIXES: Final[dict[str, tuple[tuple[str, ...], int]]] = {
    "visa": (("411111", "401288", "424242", "400005"), 16),
    "mastercard": (("555555", "510510", "222300", "520082"), 16),
    "amex": (("378282", "371449", "378734"), 15),
    "discover": (("601111", "601100", "601198"), 16),
}
CardNetwork = Literal["visa", "mastercard", "amex", "discover"]


def _cardtable(network: str | None) -> list[tuple[str, int]]:
    chosen = _CARD_PREFIXES if network is None else {network: _CARD_PREFIXES[network]}
    return [(p, length) for prefixes, length in chosen.values() for p in prefixes]


class CreditCardNumberField(Drawn):
    """Luhn-valid card number in the networks' published test ranges."""

    type: Literal["credit_card_number"]
    network: CardNetwork | None = Field(default=None, description="null for any network.")
    grouped: bool = Field(default=False, description="Digits in space-separated groups.")

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        table = _cardtable(self.network)
        rows = rng.integers(0, len(table), n)
        body = _digit_chars(rng, n, 9)
        prefix_digits = np.array([[int(c) for c in p] for p, _ in table], dtype=np.uint8)
        lengths = np.array([length for _, length in table])[rows]
        digits = np.zeros((n, 16), dtype=np.uint8)
        digits[:, :6] = prefix_digits[rows]
        digits[:, 6:15] = body
        short = lengths == 15
        # A 15-digit number uses 8 account digits; its check digit sits in column 14.
        digits[:, 15] = _luhn_check(digits[:, :15])
        digits[short, 14] = _luhn_check(digits[short, :14])
        text = _rows(_DIGITS[digits])
        numbers = [t[:length] for t, length in zip(text, lengths.tolist(), strict=True)]
        if not self.grouped:
            return numbers
        return [
            f"{x[:4]} {x[4:10]} {x[10:]}"
            if len(x) == 15
            else f"{x[:4]} {x[4:8]} {x[8:12]} {x[12:]}"
            for x in numbers
        ]

    def value_bytes(self) -> int:
        return 2 + 16 + (3 if self.grouped else 0)


class CreditCardCvvField(Drawn):
    """Card verification code of 3 digits (4 for American Express)."""

    type: Literal["credit_card_cvv"]
    digits: Literal[3, 4] = 3

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        return _rows(_DIGITS[_digit_chars(rng, n, self.digits)])

    def value_bytes(self) -> int:
        return 2 + self.digits


class CreditCardExpiryField(Drawn):
    """Card expiry month as MM/YY, uniform over the months from start to end inclusive."""

    type: Literal["credit_card_expiry"]
    start: dt.date = dt.date(2026, 1, 1)
    end: dt.date = dt.date(2031, 12, 31)
    _ordered = (("start", "end"),)

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        low = self.start.year * 12 + self.start.month - 1
        high = self.end.year * 12 + self.end.month - 1
        months = rng.integers(low, high, n, endpoint=True).tolist()
        return [f"{m % 12 + 1:02d}/{m // 12 % 100:02d}" for m in months]

    def value_bytes(self) -> int:
        return 2 + 5


def _iban_formats() -> dict[str, list[tuple[int, str]]]:
    # python-stdnum's copy of SWIFT's IBAN registry: "8!n10!n" = 8 digits then 10 digits.
    formats: dict[str, list[tuple[int, str]]] = {}
    for _, country, _, props, _ in numdb.get("iban").prefixes:
        parts = re.findall(r"(\d+)(!?)([nac])", props["bban"])
        formats[country] = [(int(count), kind) for count, _, kind in parts]
    return formats


_IBAN_FORMATS: Final = _iban_formats()
# Per BBAN character kind: offset and size of its alphabet within _ALNUM.
_IBAN_KINDS: Final = {"n": (0, 10), "a": (10, 26), "c": (0, 36)}


class IbanField(Drawn):
    """IBAN with valid mod-97 check digits and the country's BBAN format (SWIFT registry)."""

    type: Literal["iban"]
    country: str = Field(default="DE", description="ISO 3166 alpha-2 code of an IBAN country.")
    formatted: bool = Field(default=False, description="Print form: groups of four, spaces.")

    @field_validator("country")
    @classmethod
    def _check_country(cls, value: str) -> str:
        value = value.upper()
        if value not in _IBAN_FORMATS:
            raise ValueError(
                f"country {value!r} has no IBAN format; one of {sorted(_IBAN_FORMATS)}"
            )
        return value

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        offsets = np.concatenate(
            [[_IBAN_KINDS[k][0]] * count for count, k in _IBAN_FORMATS[self.country]]
        ).astype(np.int64)
        sizes = np.concatenate(
            [[_IBAN_KINDS[k][1]] * count for count, k in _IBAN_FORMATS[self.country]]
        ).astype(np.int64)
        bban = offsets + rng.integers(0, sizes, (n, len(sizes)))
        # ISO 13616: move country + "00" behind the BBAN, read letters as 10..35, mod 97.
        tail = [int(c, 36) for c in self.country] + [0, 0]
        remainder = np.zeros(n, dtype=np.int64)
        for column in [bban[:, i] for i in range(bban.shape[1])] + [np.full(n, v) for v in tail]:
            remainder = (
                np.where(column < 10, remainder * 10 + column, remainder * 100 + column) % 97
            )
        check = 98 - remainder
        head = np.empty((n, 4), dtype=np.uint8)
        head[:, 0], head[:, 1] = ord(self.country[0]), ord(self.country[1])
        head[:, 2], head[:, 3] = _DIGITS[check // 10], _DIGITS[check % 10]
        ibans = _rows(np.hstack([head, _ALNUM[bban]]))
        if not self.formatted:
            return ibans
        return [" ".join(x[i : i + 4] for i in range(0, len(x), 4)) for x in ibans]

    def value_bytes(self) -> int:
        length = 4 + sum(count for count, _ in _IBAN_FORMATS[self.country])
        return 2 + length + (length - 1) // 4 * self.formatted


_COUNTRY_CODES: Final = table(sorted(c.alpha_2 for c in pycountry.countries))
_BIC_LOCATION: Final = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ23456789", dtype=np.uint8)


class BicField(Drawn):
    """SWIFT BIC: bank code, country, location and optionally a branch code."""

    type: Literal["bic"]
    country: str | None = Field(default=None, description="ISO 3166 alpha-2; null for any.")
    branch: bool = Field(default=False, description="11 characters with a branch code.")

    @field_validator("country")
    @classmethod
    def _check_country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.upper()
        if pycountry.countries.get(alpha_2=value) is None:
            raise ValueError(f"country {value!r} is not an ISO 3166 alpha-2 code")
        return value

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        bank = _UPPER[rng.integers(0, 26, (n, 4))]
        countries = pick(_COUNTRY_CODES, rng, n)
        location = _BIC_LOCATION[rng.integers(0, len(_BIC_LOCATION), (n, 2))]
        branch = _ALNUM[rng.integers(0, 36, (n, 3))]
        banks, locations = _rows(bank), _rows(location)
        if self.country is not None:
            countries = [self.country] * n
        if not self.branch:
            return [f"{b}{c}{x}" for b, c, x in zip(banks, countries, locations, strict=True)]
        branches = _rows(branch)
        values = zip(banks, countries, locations, branches, strict=True)
        return [f"{b}{c}{x}{y}" for b, c, x, y in values]

    def value_bytes(self) -> int:
        return 2 + (11 if self.branch else 8)


# ISO 4217 codes that are no money people price things in: precious metals, bond market units,
# special drawing rights, testing and "no currency" codes, and the funds codes.
_NOT_CURRENCIES: Final = frozenset(
    {
        "XAG", "XAU", "XPD", "XPT", "XBA", "XBB", "XBC", "XBD", "XDR", "XSU", "XTS", "XUA",
        "XXX", "XAD", "BOV", "CHE", "CHW", "CLF", "COU", "MXV", "USN", "UYI", "UYW",
    }
)  # fmt: skip
_CURRENCY_LIST: Final = sorted(
    c.alpha_3 for c in pycountry.currencies if c.alpha_3 not in _NOT_CURRENCIES
)
_CURRENCIES: Final = table(_CURRENCY_LIST)


class CurrencyCodeField(Drawn):
    """ISO 4217 code of a currency in use, like EUR."""

    type: Literal["currency_code"]

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        return pick(_CURRENCIES, rng, n)

    def value_bytes(self) -> int:
        return 2 + 3


class PriceField(Drawn):
    """Amount between min and max with decimals places, optionally with a currency code."""

    type: Literal["price"]
    min: FiniteFloat = Field(default=1.0, ge=0.0, le=1e12)
    max: FiniteFloat = Field(default=1000.0, ge=0.0, le=1e12)
    decimals: int = Field(default=2, ge=0, le=4)
    currency: str | None = Field(
        default=None, description="ISO 4217 code; when set, values are strings like 9.99 EUR."
    )
    currency_position: Literal["prefix", "suffix"] = "suffix"
    _ordered = (("min", "max"),)

    @field_validator("currency")
    @classmethod
    def _check_currency(cls, value: str | None) -> str | None:
        if value is not None and value.upper() not in _CURRENCY_LIST:
            raise ValueError(f"currency {value!r} is not an ISO 4217 currency code")
        return None if value is None else value.upper()

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        raw = rng.uniform(self.min, self.max, n)
        amounts = np.clip(np.round(raw, self.decimals), self.min, self.max) + 0.0
        if self.currency is None:
            return amounts.tolist()  # type: ignore[no-any-return]
        # Clipping can leave min or max with more places than decimals; format rounds them.
        text = [f"{a:.{self.decimals}f}" for a in amounts.tolist()]
        if self.currency_position == "prefix":
            return [f"{self.currency} {t}" for t in text]
        return [f"{t} {self.currency}" for t in text]

    def value_bytes(self) -> int:
        if self.currency is None:
            return 24
        return 2 + len(f"{self.max:.{self.decimals}f}") + 4


# --------------------------------------------------------------------------------------------
# Internet


# Mimesis also lists TV boxes, app clients and MSIE 4-era strings; browsers send Mozilla/5.0 (...).
_BROWSER_AGENTS: Final = [u for u in _MIMESIS_USER_AGENTS if u.startswith("Mozilla/5.0 (")]
_MOBILE = re.compile(r"Mobile|Android|iPhone|iPad")
_USER_AGENTS: Final = {
    None: table(_BROWSER_AGENTS),
    "mobile": table(u for u in _BROWSER_AGENTS if _MOBILE.search(u)),
    "desktop": table(u for u in _BROWSER_AGENTS if not _MOBILE.search(u)),
}


class UserAgentField(Drawn):
    """Web browser User-Agent header value."""

    type: Literal["user_agent"]
    device: Literal["desktop", "mobile"] | None = Field(
        default=None, description="Mobile (phones, tablets) or desktop browsers; null for any."
    )

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        return pick(_USER_AGENTS[self.device], rng, n)

    def value_bytes(self) -> int:
        return _longest(_USER_AGENTS[self.device])


class MacAddressField(Drawn):
    """Unicast MAC-48 address like 3c:22:fb:01:9a:7e."""

    type: Literal["mac_address"]
    separator: Literal[":", "-", ""] = ":"
    upper: bool = False
    locally_administered: bool = Field(
        default=False, description="Set the locally administered bit (else a vendor-style OUI)."
    )

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        raw = np.frombuffer(rng.bytes(6 * n), dtype=np.uint8).reshape(n, 6).copy()
        raw[:, 0] &= 0xFC  # unicast, universally administered
        if self.locally_administered:
            raw[:, 0] |= 0x02
        text = raw.tobytes().hex(self.separator, 1) if self.separator else raw.tobytes().hex()
        width = 12 + 5 * len(self.separator)
        step = width + len(self.separator)
        if self.upper:
            text = text.upper()
        return [text[i : i + width] for i in range(0, step * n, step)]

    def value_bytes(self) -> int:
        return 2 + 17


def _ipv6_network(value: str) -> str:
    try:
        net = ipaddress.IPv6Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"network must be an IPv6 network like 2001:db8::/32: {exc}") from None
    return str(net)


_IPV6_GROUP_ZEROS = re.compile(r"\b0{1,3}(?=[0-9a-f])")


class Ipv6Field(Drawn):
    """IPv6 address in a network, in RFC 5952 compressed form like 2001:db8:5d2::19a."""

    type: Literal["ipv6"]
    network: Annotated[str, Field(max_length=64)] = Field(
        default="2001:db8::/32",
        description="CIDR network the addresses are in; the default is the documentation range.",
    )

    _check_network = field_validator("network")(_ipv6_network)

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        net = ipaddress.IPv6Network(self.network)
        base = np.frombuffer(net.network_address.packed, dtype=np.uint8)
        host_mask = np.frombuffer(net.hostmask.packed, dtype=np.uint8)
        raw = np.frombuffer(rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16)
        packed = base | (raw & host_mask)
        groups = (packed[:, 0::2].astype(np.uint16) << 8) | packed[:, 1::2]
        zero = groups == 0
        # Addresses with two zero groups in a row get "::"; ipaddress compresses those (few,
        # unless the network itself has zero groups). The rest only lose leading zeros.
        runs = (zero[:, :-1] & zero[:, 1:]).any(axis=1)
        full = packed.tobytes().hex(":", 2)
        text = _IPV6_GROUP_ZEROS.sub("", " ".join(full[i : i + 39] for i in range(0, 40 * n, 40)))
        values = text.split(" ") if n else []
        for i in np.flatnonzero(runs).tolist():
            values[i] = str(ipaddress.IPv6Address(packed[i].tobytes()))
        return values

    def value_bytes(self) -> int:
        return 2 + 39


class PortField(Drawn):
    """TCP/UDP port number between min and max inclusive."""

    type: Literal["port"]
    min: int = Field(default=1, ge=0, le=65535)
    max: int = Field(default=65535, ge=0, le=65535)
    _ordered = (("min", "max"),)

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        return rng.integers(self.min, self.max, n, endpoint=True).tolist()  # type: ignore[no-any-return]

    def value_bytes(self) -> int:
        return 5


_WORDS: Final = table(words.WORDS)
_TLDS: Final = table(words.TLDS)
_WORD_BYTES: Final = max(len(w) for w in words.WORDS)


class DomainNameField(Drawn):
    """Domain name of two common words and a top-level domain, like brightriver.io."""

    type: Literal["domain_name"]
    subdomain: bool = Field(default=False, description="Prefix a www. subdomain.")

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        parts = zip(pick(_WORDS, rng, n), pick(_WORDS, rng, n), pick(_TLDS, rng, n), strict=True)
        lead = "www." if self.subdomain else ""
        return [f"{lead}{a}{b}.{t}" for a, b, t in parts]

    def value_bytes(self) -> int:
        return 2 + 4 + 2 * _WORD_BYTES + 1 + max(len(t) for t in words.TLDS)


# RFC 9110's methods and RFC 5789's PATCH.
_HTTP_METHODS: Final = table(
    ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]
)


class HttpMethodField(Drawn):
    """HTTP request method like GET."""

    type: Literal["http_method"]

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        return pick(_HTTP_METHODS, rng, n)

    def value_bytes(self) -> int:
        return 2 + 7


_HTTP_STATUSES: Final = sorted(int(s) for s in http.HTTPStatus)
StatusClass = Literal[1, 2, 3, 4, 5]


class HttpStatusField(Drawn):
    """Registered HTTP status code (a number) of the given classes."""

    type: Literal["http_status"]
    classes: list[StatusClass] = Field(
        default=[1, 2, 3, 4, 5], min_length=1, description="Status classes (first digit)."
    )

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        codes = np.array([c for c in _HTTP_STATUSES if c // 100 in self.classes])
        return codes[rng.integers(0, len(codes), n)].tolist()  # type: ignore[no-any-return]

    def value_bytes(self) -> int:
        return 3


# --------------------------------------------------------------------------------------------
# Files

FileCategory = Literal[
    "source", "text", "data", "audio", "video", "image", "executable", "compressed"
]
_EXTENSIONS: Final = {
    category: table(sorted({e.lstrip(".") for e in exts}))
    for category, exts in _MIMESIS_EXTENSIONS.items()
}
_ALL_EXTENSIONS: Final = table(sorted({e for t in _EXTENSIONS.values() for e in t.tolist()}))
_FILE_WORDS: Final = table(sorted({w.lower() for w in _MIMESIS_FILENAMES if w.isalpha()}))


def _extensions(category: str | None) -> NDArray[np.object_]:
    return _ALL_EXTENSIONS if category is None else _EXTENSIONS[category]


class FileNameField(Drawn):
    """File name of two words and an extension, like annual_report.pdf."""

    type: Literal["file_name"]
    category: FileCategory | None = Field(default=None, description="Kind of file; null for any.")

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        parts = zip(
            pick(_FILE_WORDS, rng, n),
            pick(_FILE_WORDS, rng, n),
            pick(_extensions(self.category), rng, n),
            strict=True,
        )
        return [f"{a}_{b}.{e}" for a, b, e in parts]

    def value_bytes(self) -> int:
        return 2 * _longest(_FILE_WORDS) - 4 + 2 + _longest(_extensions(self.category))


class FileExtensionField(Drawn):
    """File name extension like pdf."""

    type: Literal["file_extension"]
    category: FileCategory | None = Field(default=None, description="Kind of file; null for any.")
    leading_dot: bool = False

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        values = pick(_extensions(self.category), rng, n)
        return ["." + v for v in values] if self.leading_dot else values

    def value_bytes(self) -> int:
        return _longest(_extensions(self.category)) + 1


MimeTopLevel = Literal["application", "audio", "image", "message", "text", "video"]
# Python's built-in table (MimeTypes() reads no system files, so every machine agrees).
_MIME_TYPES: Final = sorted(set(mimetypes.MimeTypes().types_map[1].values()))
_MIME_BY_TOP: Final = {
    top: table(t for t in _MIME_TYPES if t.startswith(top + "/"))
    for top in ("application", "audio", "image", "message", "text", "video")
}
_ALL_MIME: Final = table(_MIME_TYPES)


class MimeTypeField(Drawn):
    """Media (MIME) type like image/png."""

    type: Literal["mime_type"]
    top_level: MimeTopLevel | None = Field(
        default=None, description="Top-level type; null for any."
    )

    def _types(self) -> NDArray[np.object_]:
        return _ALL_MIME if self.top_level is None else _MIME_BY_TOP[self.top_level]

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        return pick(self._types(), rng, n)

    def value_bytes(self) -> int:
        return _longest(self._types())


# --------------------------------------------------------------------------------------------
# Business and products


def _mimesis_en(file: str, key: str) -> list[str]:
    path = importlib.resources.files("mimesis") / "datasets" / "en" / file
    values: list[str] = json.loads(path.read_text(encoding="utf-8"))[key]
    return values


_JOB_TITLES: Final = table(_mimesis_en("person.json", "occupation"))


class JobTitleField(Drawn):
    """Job title like Software Engineer."""

    type: Literal["job_title"]

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        return pick(_JOB_TITLES, rng, n)

    def value_bytes(self) -> int:
        return _longest(_JOB_TITLES)


_DEPARTMENTS: Final = table(
    [
        "Accounting", "Administration", "Business Development", "Customer Service",
        "Customer Success", "Engineering", "Facilities", "Finance", "Human Resources",
        "Information Technology", "Legal", "Logistics", "Marketing", "Operations",
        "Procurement", "Product Management", "Public Relations", "Quality Assurance",
        "Research and Development", "Sales", "Security", "Supply Chain", "Training",
    ]
)  # fmt: skip
# Adjective + material + product, the shape of commerce fakers' product names.
_PRODUCT_ADJECTIVES: Final = table(
    [
        "Classic", "Compact", "Deluxe", "Durable", "Elegant", "Ergonomic", "Essential",
        "Handcrafted", "Lightweight", "Modern", "Portable", "Premium", "Rustic", "Sleek",
        "Smart", "Sturdy", "Vintage", "Waterproof",
    ]
)  # fmt: skip
_PRODUCT_MATERIALS: Final = table(
    [
        "Aluminum", "Bamboo", "Ceramic", "Copper", "Cotton", "Glass", "Granite", "Leather",
        "Linen", "Marble", "Oak", "Plastic", "Rubber", "Silicone", "Steel", "Walnut", "Wool",
    ]
)  # fmt: skip
_PRODUCT_NOUNS: Final = table(
    [
        "Backpack", "Bench", "Blender", "Bottle", "Bowl", "Chair", "Clock", "Desk", "Gloves",
        "Hat", "Headphones", "Jacket", "Kettle", "Keyboard", "Lamp", "Mug", "Notebook",
        "Pillow", "Shoes", "Speaker", "Table", "Towel", "Wallet", "Watch",
    ]
)  # fmt: skip


class DepartmentField(Drawn):
    """Company department like Human Resources."""

    type: Literal["department"]

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        return pick(_DEPARTMENTS, rng, n)

    def value_bytes(self) -> int:
        return _longest(_DEPARTMENTS)


class ProductNameField(Drawn):
    """Product name like Ergonomic Walnut Desk."""

    type: Literal["product_name"]

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        parts = zip(
            pick(_PRODUCT_ADJECTIVES, rng, n),
            pick(_PRODUCT_MATERIALS, rng, n),
            pick(_PRODUCT_NOUNS, rng, n),
            strict=True,
        )
        return [f"{a} {m} {p}" for a, m, p in parts]

    def value_bytes(self) -> int:
        tables = (_PRODUCT_ADJECTIVES, _PRODUCT_MATERIALS, _PRODUCT_NOUNS)
        return sum(_longest(t) for t in tables) - 2 * 2 + 2


class SkuField(Drawn):
    """Stock keeping unit like ABC-12345: a prefix, a hyphen and digits."""

    type: Literal["sku"]
    prefix: str | None = Field(
        default=None,
        pattern=r"^[A-Z0-9]{1,10}$",
        description="Upper-case letters and digits; null for three random letters.",
    )
    digits: int = Field(default=5, ge=1, le=12)

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        letters = _rows(_UPPER[rng.integers(0, 26, (n, 3))])
        numbers = _rows(_DIGITS[_digit_chars(rng, n, self.digits)])
        if self.prefix is not None:
            return [f"{self.prefix}-{d}" for d in numbers]
        return [f"{a}-{d}" for a, d in zip(letters, numbers, strict=True)]

    def value_bytes(self) -> int:
        return 2 + (3 if self.prefix is None else len(self.prefix)) + 1 + self.digits


def _isbn_ranges() -> list[tuple[str, str, int, int, int]]:
    """(EAN prefix, group, publisher digits, lowest, highest) per assigned publisher range.

    From python-stdnum's copy of the International ISBN Agency's range message.
    """
    ranges: list[tuple[str, str, int, int, int]] = []
    for _, ean, _, _, groups in numdb.get("isbn").prefixes:
        for length, low, high, _, publishers in groups:
            for group_number in range(int(low), int(high) + 1):
                group = f"{group_number:0{length}d}"
                for width, pub_low, pub_high, _, _ in publishers:
                    if len(group) + width < 9:  # leaves at least one title digit
                        ranges.append((ean, group, width, int(pub_low), int(pub_high)))
    return ranges


_ISBN_RANGES: Final = _isbn_ranges()


class IsbnField(Drawn):
    """ISBN-13 with a valid check digit in an assigned publisher range, optionally hyphenated."""

    type: Literal["isbn"]
    prefix: Literal["978", "979"] | None = Field(default=None, description="null for either.")
    hyphens: bool = Field(default=False, description="Hyphenate prefix, group, publisher, title.")

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        ranges = [r for r in _ISBN_RANGES if self.prefix in (None, r[0])]
        rows = rng.integers(0, len(ranges), n).tolist()
        publisher_u = rng.random(n).tolist()
        titles = rng.integers(0, 10**8, n).tolist()
        parts: list[tuple[str, str, str, str]] = []
        for row, u, title in zip(rows, publisher_u, titles, strict=True):
            ean, group, width, low, high = ranges[row]
            publisher = f"{low + int(u * (high - low + 1)):0{width}d}"
            digits = 9 - len(group) - width
            parts.append((ean, group, publisher, f"{title % 10**digits:0{digits}d}"))
        payload = "".join("".join(p) for p in parts).encode("ascii")
        codes = np.frombuffer(payload, dtype=np.uint8).reshape(n, 12) - ord("0")
        checks = (_ean_check(codes) + ord("0")).tobytes().decode("ascii")
        joiner = "-" if self.hyphens else ""
        return [joiner.join((*p, c)) for p, c in zip(parts, checks, strict=True)]

    def value_bytes(self) -> int:
        return 2 + 13 + 4 * self.hyphens


class Ean13Field(Drawn):
    """EAN-13 barcode number with a valid check digit."""

    type: Literal["ean13"]
    prefix: str = Field(default="", pattern=r"^[0-9]{0,11}$", description="Leading digits.")

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        digits = _digit_chars(rng, n, 12)
        if self.prefix:
            digits[:, : len(self.prefix)] = np.array([int(c) for c in self.prefix], np.uint8)
        full = np.hstack([digits, _ean_check(digits)[:, None]])
        return _rows(_DIGITS[full])

    def value_bytes(self) -> int:
        return 2 + 13


# --------------------------------------------------------------------------------------------
# Text


class SemverField(Drawn):
    """Semantic version like 2.14.3, optionally with a pre-release tag."""

    type: Literal["semver"]
    max_major: int = Field(default=10, ge=0, le=999)
    max_minor: int = Field(default=20, ge=0, le=999)
    max_patch: int = Field(default=30, ge=0, le=999)
    prerelease_rate: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Share with -alpha.N, -beta.N or -rc.N."
    )

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        major = rng.integers(0, self.max_major, n, endpoint=True).tolist()
        minor = rng.integers(0, self.max_minor, n, endpoint=True).tolist()
        patch = rng.integers(0, self.max_patch, n, endpoint=True).tolist()
        pre = (rng.random(n) < self.prerelease_rate).tolist()
        tags = _PRERELEASE[rng.integers(0, len(_PRERELEASE), n)].tolist()
        numbers = rng.integers(1, 5, n, endpoint=True).tolist()
        values = zip(major, minor, patch, pre, tags, numbers, strict=True)
        return [f"{a}.{b}.{c}-{t}.{k}" if p else f"{a}.{b}.{c}" for a, b, c, p, t, k in values]

    def value_bytes(self) -> int:
        return 2 + 11 + 8


_PRERELEASE: Final = table(["alpha", "beta", "rc"])


class SlugField(Drawn):
    """URL slug: lower-case words joined by hyphens."""

    type: Literal["slug"]
    min_words: int = Field(default=2, ge=1, le=20)
    max_words: int = Field(default=4, ge=1, le=20)
    _ordered = (("min_words", "max_words"),)

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        counts = rng.integers(self.min_words, self.max_words, n, endpoint=True).tolist()
        picked = _WORDS[rng.integers(0, len(_WORDS), (n, self.max_words))].tolist()
        return ["-".join(row[:k]) for row, k in zip(picked, counts, strict=True)]

    def value_bytes(self) -> int:
        return 2 + self.max_words * (_WORD_BYTES + 1)


class WordField(Drawn):
    """Common English word in lower case."""

    type: Literal["word"]

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        return pick(_WORDS, rng, n)

    def value_bytes(self) -> int:
        return 2 + _WORD_BYTES


# --------------------------------------------------------------------------------------------
# Time


def _bounds(start: dt.datetime, end: dt.datetime, unit: dt.timedelta) -> tuple[int, int]:
    """[start, end] in whole units since the epoch: start rounded up, end rounded down."""
    return -((_EPOCH - start) // unit), (end - _EPOCH) // unit


class EpochField(Drawn):
    """Unix timestamp (an integer) between start and end, in seconds or milliseconds."""

    type: Literal["epoch"]
    start: UtcDatetime = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    end: UtcDatetime = dt.datetime(2030, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
    unit: Literal["s", "ms"] = "s"
    _ordered = (("start", "end"),)

    def _unit(self) -> dt.timedelta:
        return dt.timedelta(seconds=1) if self.unit == "s" else dt.timedelta(milliseconds=1)

    @model_validator(mode="after")
    def _check_whole_unit(self) -> Self:
        low, high = _bounds(self.start, self.end, self._unit())
        if low > high:
            raise ValueError(f"start and end must include a whole {self.unit} timestamp")
        return self

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        low, high = _bounds(self.start, self.end, self._unit())
        return rng.integers(low, high, n, endpoint=True, dtype=np.int64).tolist()  # type: ignore[no-any-return]

    def value_bytes(self) -> int:
        return 20


def _naive_time(value: dt.time) -> dt.time:
    if value.tzinfo is not None:
        raise ValueError("time must not have a time zone")
    return value


def _seconds(value: dt.time) -> int:
    return value.hour * 3600 + value.minute * 60 + value.second


class TimeField(Drawn):
    """Uniform random time of day between start and end inclusive, as HH:MM:SS."""

    type: Literal["time"]
    start: dt.time = dt.time(0, 0, 0)
    end: dt.time = dt.time(23, 59, 59)
    _ordered = (("start", "end"),)

    _check_naive = field_validator("start", "end")(_naive_time)

    @model_validator(mode="after")
    def _check_whole_second(self) -> Self:
        low = _seconds(self.start) + (self.start.microsecond > 0)
        if low > _seconds(self.end):
            raise ValueError("start and end must include a whole second")
        return self

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        low = _seconds(self.start) + (self.start.microsecond > 0)
        secs = rng.integers(low, _seconds(self.end), n, endpoint=True).tolist()
        return [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in secs]

    def value_bytes(self) -> int:
        return 2 + 8


class UlidField(Drawn):
    """ULID (26 Crockford base32 characters) whose time part lies between start and end."""

    type: Literal["ulid"]
    start: UtcDatetime = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    end: UtcDatetime = dt.datetime(2030, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
    _ordered = (("start", "end"),)

    @model_validator(mode="after")
    def _check_range(self) -> Self:
        if self.start < _EPOCH:
            raise ValueError("start must be at or after 1970-01-01T00:00:00Z (ULID time)")
        low, high = _bounds(self.start, self.end, dt.timedelta(milliseconds=1))
        if low > high:
            raise ValueError("start and end must include a whole millisecond")
        return self

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        low, high = _bounds(self.start, self.end, dt.timedelta(milliseconds=1))
        millis = rng.integers(low, high, n, endpoint=True, dtype=np.int64).astype(np.uint64)
        entropy = rng.integers(0, 2**40, (n, 2), dtype=np.uint64)
        chars = np.hstack(
            [_crockford(millis, 10), _crockford(entropy[:, 0], 8), _crockford(entropy[:, 1], 8)]
        )
        return _rows(chars)

    def value_bytes(self) -> int:
        return 2 + 26


# --------------------------------------------------------------------------------------------
# Regular expressions


MAX_PATTERN_OUTPUT: Final = 1000
_UNBOUNDED: Final = _sre_parse.MAXREPEAT
_SUPPORTED_AT: Final = {"AT_BEGINNING", "AT_BEGINNING_STRING", "AT_END", "AT_END_STRING"}


# A character class may offer at most this many characters (all of CJK's main block fits).
MAX_CLASS_SIZE: Final = 65_536


def _is_surrogate(code: int) -> bool:
    return 0xD800 <= code <= 0xDFFF


def _check_class(arg: Any) -> None:
    """A class must offer at least one character, none of them a surrogate (JSON cannot hold
    one), and not so many that listing them would be slow."""
    for op, value in arg:
        if str(op) == "RANGE":
            low, high = value
            if high - low >= MAX_CLASS_SIZE:
                raise ValueError(f"a character class may span at most {MAX_CLASS_SIZE} characters")
            if low <= 0xDFFF and high >= 0xD800:
                raise ValueError("regex must not make surrogate code points (U+D800-U+DFFF)")
        elif str(op) == "LITERAL" and _is_surrogate(value):
            raise ValueError("regex must not make surrogate code points (U+D800-U+DFFF)")
    if not _Xeger(random.Random(0)).candidates(arg):
        raise ValueError("regex has a character class that matches no printable character")


def _max_length(parsed: Any) -> int:
    """Longest string that the parsed pattern can make; ValueError for unsupported syntax."""
    total = 0
    for op, arg in parsed:
        name = str(op)
        if name == "IN":
            _check_class(arg)
        elif name == "LITERAL" and _is_surrogate(arg):
            raise ValueError("regex must not make surrogate code points (U+D800-U+DFFF)")
        if name in ("LITERAL", "NOT_LITERAL", "ANY", "IN"):
            total += 1
        elif name in ("MAX_REPEAT", "MIN_REPEAT"):
            _, high, sub = arg
            if high == _UNBOUNDED:
                raise ValueError(
                    "regex must have bounded repetition: write {m,n} instead of *, + or {m,}"
                )
            total += high * _max_length(sub)
        elif name == "SUBPATTERN":
            total += _max_length(arg[-1])
        elif name == "BRANCH":
            total += max(_max_length(branch) for branch in arg[1])
        elif name == "AT":
            if str(arg) not in _SUPPORTED_AT:
                raise ValueError("regex must not use word boundaries (\\b, \\B)")
        elif name == "GROUPREF":
            raise ValueError("regex must not use backreferences")
        else:
            raise ValueError(f"regex must not use {name.lower().replace('_', ' ')}")
        if total > MAX_PATTERN_OUTPUT:
            break
    return total


class _Xeger(Xeger):
    """rstr's Xeger with the pattern parsed once, and every alphabet in a fixed order: rstr
    builds some (\\W, negated classes) from sets, whose order changes with PYTHONHASHSEED."""

    def __init__(self, rand: random.Random) -> None:
        super().__init__(rand)
        self._alphabets = {name: "".join(sorted(a)) for name, a in self._alphabets.items()}
        # Each class's characters, listed once per block rather than once per character drawn.
        self._classes: dict[int, list[str]] = {}

    def candidates(self, value: Any) -> list[str]:
        listed = list(itertools.chain(*(self._handle_state(i) for i in value)))
        if listed and listed[0] is False:
            return sorted(set(string.printable).difference(listed[1:]))
        return listed

    def _handle_in(self, value: Any) -> Any:
        key = id(value)
        if key not in self._classes:
            self._classes[key] = self.candidates(value)
        return self._random.choice(self._classes[key])

    def many(self, parsed: Any, n: int) -> list[str]:
        out: list[str] = []
        for _ in range(n):
            out.append(self._build_string(parsed))
            self._cache.clear()
        return out


class PatternField(Drawn):
    """String matching the regular expression regex (bounded repetition only)."""

    type: Literal["pattern"]
    regex: str = Field(default=r"[A-Z]{3}-[0-9]{4}", min_length=1, max_length=1000)

    @field_validator("regex")
    @classmethod
    def _check_regex(cls, value: str) -> str:
        try:
            parsed = _sre_parse.parse(value)
        except (re.error, RecursionError, OverflowError) as exc:
            raise ValueError(f"regex does not compile: {exc}") from None
        if _max_length(parsed) > MAX_PATTERN_OUTPUT:
            raise ValueError(f"regex can make strings longer than {MAX_PATTERN_OUTPUT} chars")
        return value

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        # rstr draws with Python's random, so one generator is seeded from rng per block.
        generator = _Xeger(random.Random(int(rng.integers(0, 2**63))))
        return generator.many(_sre_parse.parse(self.regex), n)

    def value_bytes(self) -> int:
        # \uXXXX is the longest JSON spelling of one character.
        return 2 + 6 * _max_length(_sre_parse.parse(self.regex))


# --------------------------------------------------------------------------------------------
# Digests, codes and symbols


class Md5Field(Drawn):
    """Random 32-digit lower-case hex string shaped like an MD5 digest."""

    type: Literal["md5"]

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        return _hex_strings(rng, n, 16)

    def value_bytes(self) -> int:
        return 2 + 32


class Sha256Field(Drawn):
    """Random 64-digit lower-case hex string shaped like a SHA-256 digest."""

    type: Literal["sha256"]

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        return _hex_strings(rng, n, 32)

    def value_bytes(self) -> int:
        return 2 + 64


_LANGUAGES: Final = table(
    sorted(lang.alpha_2 for lang in pycountry.languages if hasattr(lang, "alpha_2"))
)


class LanguageCodeField(Drawn):
    """ISO 639-1 two-letter language code like de."""

    type: Literal["language_code"]

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        return pick(_LANGUAGES, rng, n)

    def value_bytes(self) -> int:
        return 2 + 2


_BASIC_COLORS: Final = table(_mimesis_en("text.json", "color"))
_CSS_COLORS: Final = table(sorted(COLORS_BY_NAME))


class ColorNameField(Drawn):
    """Colour name: a basic English one like Blue, or a CSS keyword like cornflowerblue."""

    type: Literal["color_name"]
    palette: Literal["basic", "css"] = "basic"

    def _names(self) -> NDArray[np.object_]:
        return _BASIC_COLORS if self.palette == "basic" else _CSS_COLORS

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        return pick(self._names(), rng, n)

    def value_bytes(self) -> int:
        return _longest(self._names())


def _emojitable() -> dict[str, NDArray[np.object_]]:
    path = importlib.resources.files("mimesis") / "datasets" / "global" / "emojis.json"
    data: dict[str, list[str | list[str]]] = json.loads(path.read_text(encoding="utf-8"))

    def text(code: str | list[str]) -> str:
        points = [code] if isinstance(code, str) else code
        return "".join(chr(int(p, 16)) for p in points)

    return {category: table(text(c) for c in codes) for category, codes in data.items()}


_EMOJI: Final = _emojitable()
_ALL_EMOJI: Final = table(e for t in _EMOJI.values() for e in t.tolist())
EmojiCategory = Literal[
    "smileys_and_emotion", "people_and_body", "animals_and_nature", "food_and_drink",
    "travel_and_places", "activities", "objects", "symbols", "flags",
]  # fmt: skip


class EmojiField(Drawn):
    """Emoji from the Unicode emoji list."""

    type: Literal["emoji"]
    category: EmojiCategory | None = Field(default=None, description="null for any category.")

    def _emoji(self) -> NDArray[np.object_]:
        return _ALL_EMOJI if self.category is None else _EMOJI[self.category]

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        return pick(self._emoji(), rng, n)

    def value_bytes(self) -> int:
        return _longest(self._emoji())


# --------------------------------------------------------------------------------------------
# Colours (hex)


class HexColorField(Drawn):
    """Colour as #rrggbb in lower-case hex."""

    type: Literal["hex_color"]

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        text = rng.bytes(3 * n).hex()
        return ["#" + text[i : i + 6] for i in range(0, 6 * n, 6)]

    def value_bytes(self) -> int:
        return 2 + 7


# The union fields.FieldSpec takes in, in the order GET /generate/types lists them.
StandaloneSpec = (
    HexColorField | PasswordHashField | CreditCardNumberField | CreditCardCvvField
    | CreditCardExpiryField | IbanField | BicField | CurrencyCodeField | PriceField
    | UserAgentField | MacAddressField | Ipv6Field | PortField | DomainNameField
    | HttpMethodField | HttpStatusField | FileNameField | FileExtensionField | MimeTypeField
    | JobTitleField | DepartmentField | ProductNameField | SkuField | IsbnField | Ean13Field
    | SemverField | SlugField | WordField | EpochField | TimeField | PatternField | Md5Field
    | Sha256Field | UlidField | LanguageCodeField | ColorNameField | EmojiField
)  # fmt: skip
