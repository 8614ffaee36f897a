"""Catalogue of field types a dataset schema can use, as pydantic v2 models."""

import datetime as dt
import math
import string
from typing import Annotated, Any, ClassVar, Final, Literal, Self, get_args

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    TypeAdapter,
    model_validator,
)

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
# Bounds a single constant so one request can't make every record huge.
MAX_CONSTANT_BYTES: Final = 10_000
MAX_ENUM_STRING: Final = 1_000
DEFAULT_ALPHABET: Final = string.ascii_letters + string.digits

Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
EnumScalar = Annotated[str, Field(max_length=MAX_ENUM_STRING)] | bool | Int64 | FiniteFloat


def as_utc(value: dt.datetime) -> dt.datetime:
    # Naive datetimes are documented to mean UTC; aware ones are converted to it.
    try:
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    except OverflowError:
        # 9999-12-31T23:00-05:00 is past datetime.max once in UTC.
        raise ValueError("datetime is out of range once converted to UTC") from None


UtcDatetime = Annotated[dt.datetime, AfterValidator(as_utc)]


def _json_size(value: Any) -> int:
    # Catch what orjson can't encode (lone surrogates, ints past 64 bits) at validation
    # time rather than halfway through generating a dataset.
    try:
        return len(orjson.dumps(value))
    except orjson.JSONEncodeError as exc:
        raise ValueError(f"value is not encodable as JSON: {exc}") from exc


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    null_rate: float = Field(default=0.0, ge=0.0, le=1.0, description="Share of nulls.")

    # (low, high) option pairs that must satisfy low <= high; set per subclass.
    _ordered: ClassVar[tuple[tuple[str, str], ...]] = ()

    @model_validator(mode="after")
    def _check_ordered(self) -> Self:
        for low, high in self._ordered:
            low_value, high_value = getattr(self, low), getattr(self, high)
            if low_value > high_value:
                # Name both values: one of them may be a default the client never wrote.
                raise ValueError(f"{low} ({low_value}) must be <= {high} ({high_value})")
        return self


class UuidField(_Base):
    """Random version 4 UUID in canonical hyphenated form."""

    type: Literal["uuid"]


class IntegerField(_Base):
    """Uniform random integer between min and max inclusive."""

    type: Literal["integer"]
    min: Int64 = 0
    max: Int64 = 1_000_000
    _ordered = (("min", "max"),)


class FloatField(_Base):
    """Uniform random number between min and max, rounded to decimals places."""

    type: Literal["float"]
    min: FiniteFloat = 0.0
    max: FiniteFloat = 1.0
    decimals: int = Field(default=2, ge=0, le=15)
    _ordered = (("min", "max"),)

    @model_validator(mode="after")
    def _check_range(self) -> Self:
        # numpy's uniform computes low + (high - low) * u, which must stay finite.
        if not math.isfinite(self.max - self.min):
            raise ValueError("max - min must be a finite number")
        return self


class BooleanField(_Base):
    """True with the given probability, otherwise false."""

    type: Literal["boolean"]
    probability: float = Field(default=0.5, ge=0.0, le=1.0)


class EnumField(_Base):
    """One of the given values, uniformly or by the given weights."""

    type: Literal["enum"]
    values: list[EnumScalar] = Field(min_length=1, max_length=1000)
    weights: list[Annotated[FiniteFloat, Field(ge=0.0)]] | None = None

    @model_validator(mode="after")
    def _check_values(self) -> Self:
        _json_size(self.values)
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError("weights must have the same length as values")
            if not 0 < sum(self.weights) < math.inf:
                raise ValueError("weights must have a positive, finite sum")
        return self


class SequenceField(_Base):
    """Arithmetic sequence start + step * record index (0-based over the dataset)."""

    type: Literal["sequence"]
    start: Int64 = 1
    step: Int64 = 1


class ConstantField(_Base):
    """The same JSON value in every record."""

    type: Literal["constant"]
    value: JsonValue

    @model_validator(mode="after")
    def _check_value(self) -> Self:
        if _json_size(self.value) > MAX_CONSTANT_BYTES:
            raise ValueError(f"value must serialise to at most {MAX_CONSTANT_BYTES} bytes")
        return self


class StringField(_Base):
    """Random string of characters from alphabet, length between min_length and max_length."""

    type: Literal["string"]
    min_length: int = Field(default=8, ge=0, le=1000)
    max_length: int = Field(default=16, ge=0, le=1000)
    alphabet: str = Field(default=DEFAULT_ALPHABET, min_length=1, max_length=256)
    _ordered = (("min_length", "max_length"),)

    @model_validator(mode="after")
    def _check_options(self) -> Self:
        if len(set(self.alphabet)) != len(self.alphabet):
            raise ValueError("alphabet characters must be distinct")
        # Surrogates would make both the UTF-32 fast path and orjson fail later.
        if any(0xD800 <= ord(c) <= 0xDFFF for c in self.alphabet):
            raise ValueError("alphabet must not contain surrogate code points")
        return self


class FirstNameField(_Base):
    """Given name."""

    type: Literal["first_name"]


class LastNameField(_Base):
    """Family name."""

    type: Literal["last_name"]


class FullNameField(_Base):
    """Given name and family name."""

    type: Literal["full_name"]


class EmailField(_Base):
    """Email address at a reserved, non-routable domain."""

    type: Literal["email"]


class PhoneField(_Base):
    """Fictional North American phone number like +1-555-123-4567."""

    type: Literal["phone"]


class CompanyField(_Base):
    """Company name with a legal suffix."""

    type: Literal["company"]


class StreetAddressField(_Base):
    """House number, street name and street suffix."""

    type: Literal["street_address"]


class CityField(_Base):
    """City name."""

    type: Literal["city"]


class CountryField(_Base):
    """Country name."""

    type: Literal["country"]


class PostcodeField(_Base):
    """Five-digit postcode."""

    type: Literal["postcode"]


class DateField(_Base):
    """Uniform random date between start and end inclusive, as YYYY-MM-DD."""

    type: Literal["date"]
    start: dt.date = dt.date(1970, 1, 1)
    end: dt.date = dt.date(2030, 12, 31)
    _ordered = (("start", "end"),)


class DatetimeField(_Base):
    """Uniform random UTC timestamp between start and end inclusive, ISO 8601 with a Z suffix."""

    type: Literal["datetime"]
    start: UtcDatetime = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    end: UtcDatetime = dt.datetime(2030, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
    _ordered = (("start", "end"),)


class IpAddressField(_Base):
    """Random IPv4 dotted quad or full eight-group IPv6 address."""

    type: Literal["ip_address"]
    version: Literal[4, 6] = 4


class UrlField(_Base):
    """HTTPS URL built from common words."""

    type: Literal["url"]


class SentenceField(_Base):
    """Capitalised sentence of common words ending with a full stop."""

    type: Literal["sentence"]
    min_words: int = Field(default=4, ge=1, le=200)
    max_words: int = Field(default=12, ge=1, le=200)
    _ordered = (("min_words", "max_words"),)


class ParagraphField(_Base):
    """Several sentences separated by spaces."""

    type: Literal["paragraph"]
    min_sentences: int = Field(default=3, ge=1, le=50)
    max_sentences: int = Field(default=6, ge=1, le=50)
    _ordered = (("min_sentences", "max_sentences"),)


FieldSpec = Annotated[
    UuidField | IntegerField | FloatField | BooleanField | EnumField | SequenceField
    | ConstantField | StringField | FirstNameField | LastNameField | FullNameField | EmailField
    | PhoneField | CompanyField | StreetAddressField | CityField | CountryField | PostcodeField
    | DateField | DatetimeField | IpAddressField | UrlField | SentenceField | ParagraphField,
    Field(discriminator="type"),
]  # fmt: skip

# Catalogue order is the union's order.
FIELD_MODELS: Final[tuple[type[BaseModel], ...]] = get_args(get_args(FieldSpec)[0])
FIELD_SPEC_ADAPTER: Final[TypeAdapter[FieldSpec]] = TypeAdapter(FieldSpec)


def parse_field(data: Any) -> FieldSpec:
    """Validate one field definition (a dict or JSON-compatible object) into its model."""
    return FIELD_SPEC_ADAPTER.validate_python(data)


def _option_schema(prop: dict[str, Any], defs: dict[str, Any], required: bool) -> dict[str, Any]:
    out = {k: v for k, v in prop.items() if k not in ("title", "$ref")}
    if "$ref" in prop:
        out = {**defs[prop["$ref"].rsplit("/", 1)[-1]], **out}
    if "anyOf" in out:
        # Optional options (X | None) become {"type": [X, "null"]} with X's constraints kept.
        variants = out.pop("anyOf")
        for variant in variants:
            out.update({k: v for k, v in variant.items() if k not in ("type", "title")})
        types = [v["type"] for v in variants]
        out["type"] = types if len(types) > 1 else types[0]
    if "type" not in out and "enum" not in out and "const" not in out:
        # JSON schema has no "any" type; spell out every JSON type instead.
        out["type"] = ["string", "number", "integer", "boolean", "array", "object", "null"]
    if required:
        out["required"] = True
    return out


def catalogue() -> list[dict[str, Any]]:
    """Describe every field type and its options, derived from the models' JSON schema."""
    entries: list[dict[str, Any]] = []
    for model in FIELD_MODELS:
        schema = model.model_json_schema()
        defs = schema.get("$defs", {})
        required = set(schema.get("required", []))
        options = {
            key: _option_schema(prop, defs, key in required)
            for key, prop in schema["properties"].items()
            if key not in ("name", "type")
        }
        type_name = schema["properties"]["type"]["const"]
        description = (model.__doc__ or "").strip().splitlines()[0]
        entries.append({"type": type_name, "description": description, "options": options})
    return entries
