"""Catalogue of field types a dataset schema can use, as pydantic v2 models."""

import datetime as dt
import itertools
import math
import re
import uuid
from typing import Annotated, Any, ClassVar, Final, Literal, Self, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    TypeAdapter,
    model_validator,
)

from datatasks.generation import standalone
from datatasks.generation.base import (
    DEFAULT_ALPHABET,
    MAX_CONSTANT_BYTES,
    EnumScalar,
    FieldBase,
    FiniteFloat,
    Int64,
    UtcDatetime,
    json_size,
)
from datatasks.generation.locales import Locale


class UuidField(FieldBase):
    """Random version 4 UUID in canonical hyphenated form."""

    type: Literal["uuid"]
    unique: bool = Field(
        default=False, description="distinct by construction rather than by chance"
    )


class Uniform(BaseModel):
    """Every value between min and max equally likely."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["uniform"]


class Normal(BaseModel):
    """Bell curve around mean."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["normal"]
    mean: FiniteFloat
    stddev: FiniteFloat = Field(gt=0)


class Lognormal(BaseModel):
    """Skewed to the right: the value's logarithm is normal (mu, sigma), as incomes are."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["lognormal"]
    mu: FiniteFloat = Field(ge=-700, le=700)
    sigma: FiniteFloat = Field(gt=0, le=100)


class Exponential(BaseModel):
    """Waiting times: min plus an exponential with the given mean."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["exponential"]
    mean: FiniteFloat = Field(gt=0)


class Poisson(BaseModel):
    """Counts of events: min plus a Poisson count with mean lam."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["poisson"]
    lam: FiniteFloat = Field(gt=0, le=1e9)


class Zipf(BaseModel):
    """Rank-frequency (a few values very common): min + k - 1 with P(k) proportional to k**-s."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["zipf"]
    s: FiniteFloat = Field(gt=1, le=100)


class Quantiles(BaseModel):
    """An empirical shape: the value at each cumulative probability p, linear in between."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["quantiles"]
    p: list[FiniteFloat] = Field(
        min_length=2, max_length=101, description="cumulative probabilities, 0 to 1, increasing"
    )
    values: list[FiniteFloat] = Field(
        min_length=2, max_length=101, description="the value at each p, never decreasing"
    )

    @model_validator(mode="after")
    def _an_inverse_cdf(self) -> Self:
        # It starts at p = 0, ends at p = 1 and never goes down.
        ps, values = self.p, self.values
        if len(ps) != len(values):
            raise ValueError(f"p and values must be as long ({len(ps)} and {len(values)})")
        if ps[0] != 0.0 or ps[-1] != 1.0:
            raise ValueError(f"the first p must be 0 and the last 1, got {ps[0]} and {ps[-1]}")
        for i, (p0, p1) in enumerate(itertools.pairwise(ps), start=1):
            if p1 <= p0:
                raise ValueError(f"p must strictly increase: p[{i}] is {p1} after {p0}")
        for i, (v0, v1) in enumerate(itertools.pairwise(values), start=1):
            if v1 < v0:
                raise ValueError(f"values must not decrease: values[{i}] is {v1} after {v0}")
        # numpy interpolates as v0 + (v1 - v0) * t, which must stay finite.
        if not math.isfinite(values[-1] - values[0]):
            raise ValueError("the last value minus the first must be a finite number")
        return self


Distribution = Annotated[
    Uniform | Normal | Lognormal | Exponential | Poisson | Zipf | Quantiles,
    Field(discriminator="type"),
]
_DISTRIBUTION = Field(
    default=None, description="how values are spread; uniform if absent; clipped to min/max"
)


class IntegerField(FieldBase):
    """Random integer between min and max inclusive, uniform unless a distribution is given."""

    type: Literal["integer"]
    min: Int64 = 0
    max: Int64 = 1_000_000
    distribution: Distribution | None = _DISTRIBUTION
    unique: bool = Field(default=False, description="exactly count distinct values")
    _ordered = (("min", "max"),)

    @model_validator(mode="after")
    def _check_unique(self) -> Self:
        if self.unique and not isinstance(self.distribution, Uniform | None):
            raise ValueError("unique integers are drawn uniformly: drop distribution")
        return self


class FloatField(FieldBase):
    """Random number between min and max, rounded to decimals places; uniform by default."""

    type: Literal["float"]
    min: FiniteFloat = 0.0
    max: FiniteFloat = 1.0
    decimals: int = Field(default=2, ge=0, le=15)
    distribution: Distribution | None = _DISTRIBUTION
    _ordered = (("min", "max"),)

    @model_validator(mode="after")
    def _check_range(self) -> Self:
        # numpy's uniform computes low + (high - low) * u, which must stay finite.
        if not math.isfinite(self.max - self.min):
            raise ValueError("max - min must be a finite number")
        return self


class BooleanField(FieldBase):
    """True with the given probability, otherwise false."""

    type: Literal["boolean"]
    probability: float = Field(default=0.5, ge=0.0, le=1.0)


class EnumField(FieldBase):
    """One of the given values, uniformly or by the given weights."""

    type: Literal["enum"]
    values: list[EnumScalar] = Field(min_length=1, max_length=1000)
    weights: list[Annotated[FiniteFloat, Field(ge=0.0)]] | None = None

    @model_validator(mode="after")
    def _check_values(self) -> Self:
        json_size(self.values)
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError("weights must have the same length as values")
            if not 0 < sum(self.weights) < math.inf:
                raise ValueError("weights must have a positive, finite sum")
        return self


class SequenceField(FieldBase):
    """Arithmetic sequence start + step * record index (0-based over the dataset)."""

    type: Literal["sequence"]
    start: Int64 = 1
    step: Int64 = 1
    unique: bool = Field(default=False, description="refuses a step of 0")

    @model_validator(mode="after")
    def _check_unique(self) -> Self:
        if self.unique and self.step == 0:
            raise ValueError("a unique sequence needs a step other than 0")
        return self


class ConstantField(FieldBase):
    """The same JSON value in every record."""

    type: Literal["constant"]
    value: JsonValue

    @model_validator(mode="after")
    def _check_value(self) -> Self:
        if json_size(self.value) > MAX_CONSTANT_BYTES:
            raise ValueError(f"value must serialise to at most {MAX_CONSTANT_BYTES} bytes")
        return self


class StringField(FieldBase):
    """Random string of characters from alphabet, length between min_length and max_length."""

    type: Literal["string"]
    min_length: int = Field(default=8, ge=0, le=1000)
    max_length: int = Field(default=16, ge=0, le=1000)
    alphabet: str = Field(default=DEFAULT_ALPHABET, min_length=1, max_length=256)
    unique: bool = Field(default=False, description="exactly count distinct values")
    _ordered = (("min_length", "max_length"),)

    @model_validator(mode="after")
    def _check_options(self) -> Self:
        if len(set(self.alphabet)) != len(self.alphabet):
            raise ValueError("alphabet characters must be distinct")
        # Surrogates would make both the UTF-32 fast path and orjson fail later.
        if any(0xD800 <= ord(c) <= 0xDFFF for c in self.alphabet):
            raise ValueError("alphabet must not contain surrogate code points")
        return self


EntityName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class _Described(FieldBase):
    """A field describing part of one thing (a person, an address, a company) in its record."""

    # Which thing: every field of one group with the same entity describes the same one.
    group: ClassVar[Literal["person", "address", "company"]]
    entity: EntityName | None = Field(
        default=None,
        description="fields with the same entity (default: one per kind) describe one thing",
    )
    locale: Locale | None = Field(default=None, description="overrides the request's locale")


class _Person(_Described):
    group = "person"


class _Address(_Described):
    group = "address"


class _Company(_Described):
    group = "company"


class FirstNameField(_Person):
    """Given name, matching the record's gender."""

    type: Literal["first_name"]


class LastNameField(_Person):
    """Family name."""

    type: Literal["last_name"]


class FullNameField(_Person):
    """Given and family name in the locale's order."""

    type: Literal["full_name"]


class GenderField(_Person):
    """`female` or `male`, agreeing with the record's first name."""

    type: Literal["gender"]


class UsernameField(_Person):
    """ASCII login made from the record's name, like `anna.schmidt` or `aschmidt42`."""

    type: Literal["username"]
    unique: bool = Field(default=False, description="exactly count distinct values")


class EmailField(_Person):
    """Personal email made from the record's name, at a reserved, non-routable domain."""

    type: Literal["email"]
    unique: bool = Field(default=False, description="exactly count distinct values")


class PhoneField(_Person):
    """Phone number in one of the locale's formats."""

    type: Literal["phone"]


class CompanyField(_Company):
    """Company name with the locale's legal form, like `Keller & Braun GmbH`."""

    type: Literal["company"]


class CompanyDomainField(_Company):
    """The record's company's domain, under the reserved .example top-level domain."""

    type: Literal["company_domain"]


class WorkEmailField(_Person):
    """The record's person at the record's company's domain."""

    type: Literal["work_email"]
    company_entity: EntityName | None = Field(
        default=None, description="the company entity whose domain the address uses"
    )


class StreetAddressField(_Address):
    """House number and street in the locale's order."""

    type: Literal["street_address"]


class CityField(_Address):
    """City of the locale's country, weighted by population."""

    type: Literal["city"]


class RegionField(_Address):
    """State, province or region of the locale's country."""

    type: Literal["region"]


class PostcodeField(_Address):
    """Postcode in the country's format."""

    type: Literal["postcode"]


class CountryField(_Address):
    """The address's country, named in the locale's language."""

    type: Literal["country"]


class CountryCodeField(_Address):
    """The address's ISO 3166 country code."""

    type: Literal["country_code"]
    format: Literal["alpha2", "alpha3"] = "alpha2"


class LatitudeField(_Address):
    """Latitude of a point near the address's city, in degrees."""

    type: Literal["latitude"]
    decimals: int = Field(default=5, ge=0, le=8)


class LongitudeField(_Address):
    """Longitude of a point near the address's city, in degrees."""

    type: Literal["longitude"]
    decimals: int = Field(default=5, ge=0, le=8)


class TimezoneField(_Address):
    """IANA time zone of the address's city, like `Europe/Berlin`."""

    type: Literal["timezone"]


FieldName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
_AFTER = Field(
    default=None,
    description="a date or datetime field of the record this one comes after (start/end unused)",
)
_MAX_GAP = Field(default=30.0, gt=0, le=36_500, description="with after: the longest gap, in days")


class DateField(FieldBase):
    """Uniform random date between start and end inclusive, as YYYY-MM-DD."""

    type: Literal["date"]
    start: dt.date = dt.date(1970, 1, 1)
    end: dt.date = dt.date(2030, 12, 31)
    after: FieldName | None = _AFTER
    max_gap_days: float = _MAX_GAP
    _ordered = (("start", "end"),)


class DatetimeField(FieldBase):
    """Uniform random UTC timestamp between start and end inclusive, ISO 8601 with a Z suffix."""

    type: Literal["datetime"]
    start: UtcDatetime = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    end: UtcDatetime = dt.datetime(2030, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
    after: FieldName | None = _AFTER
    max_gap_days: float = _MAX_GAP
    _ordered = (("start", "end"),)

    @model_validator(mode="after")
    def _check_whole_second(self) -> Self:
        # Values are whole seconds: the range must hold one (start ceiled, end floored).
        if self.start.microsecond and self.start.replace(microsecond=0) >= self.end.replace(
            microsecond=0
        ):
            raise ValueError("start and end must have a whole second between them")
        return self


class IpAddressField(FieldBase):
    """Random IPv4 dotted quad or full eight-group IPv6 address."""

    type: Literal["ip_address"]
    version: Literal[4, 6] = 4


class UrlField(FieldBase):
    """HTTPS URL built from common words."""

    type: Literal["url"]


class SentenceField(FieldBase):
    """Capitalised sentence of common words ending with a full stop."""

    type: Literal["sentence"]
    min_words: int = Field(default=4, ge=1, le=200)
    max_words: int = Field(default=12, ge=1, le=200)
    _ordered = (("min_words", "max_words"),)


class ParagraphField(FieldBase):
    """Several sentences separated by spaces."""

    type: Literal["paragraph"]
    min_sentences: int = Field(default=3, ge=1, le=50)
    max_sentences: int = Field(default=6, ge=1, le=50)
    _ordered = (("min_sentences", "max_sentences"),)


TEMPLATE_FILTERS: Final = ("lower", "upper", "title", "slug", "ascii")
_PLACEHOLDER: Final = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)((?:\|[a-z]+)*)\}|[{}]")


class TemplateField(FieldBase):
    """Text made from other fields of the same record, like `{first_name|ascii|lower}@acme.test`."""

    type: Literal["template"]
    template: str = Field(
        min_length=1,
        max_length=1000,
        description="{field} or {field|filter|...} with filters lower, upper, title, slug, ascii;"
        " {{ and }} are literal braces",
    )

    def parts(self) -> list[str | tuple[str, tuple[str, ...]]]:
        """Literal text and (field, filters) placeholders, in order."""
        out: list[str | tuple[str, tuple[str, ...]]] = []
        at = 0
        for match in _PLACEHOLDER.finditer(self.template):
            if match.start() > at:
                out.append(self.template[at : match.start()])
            at = match.end()
            token = match.group(0)
            if token in ("{{", "}}"):
                out.append(token[0])
            elif match.group(1) is None:
                raise ValueError(
                    f"template has an unmatched {token!r} at {match.start()}; "
                    "write {{ or }} for a literal brace"
                )
            else:
                filters = tuple(f for f in match.group(2).split("|") if f)
                for name in filters:
                    if name not in TEMPLATE_FILTERS:
                        known = ", ".join(TEMPLATE_FILTERS)
                        raise ValueError(f"template filter {name!r} is unknown; use {known}")
                out.append((match.group(1), filters))
        if at < len(self.template):
            out.append(self.template[at:])
        return out

    def references(self) -> list[str]:
        return [part[0] for part in self.parts() if isinstance(part, tuple)]

    @model_validator(mode="after")
    def _check_template(self) -> Self:
        if not self.references():
            raise ValueError("template must name at least one field, like {first_name}")
        return self


class ReferenceField(FieldBase):
    """A value of a field of an existing dataset, so records can point at other records."""

    type: Literal["reference"]
    dataset_id: uuid.UUID = Field(description="a completed dataset")
    field: FieldName = Field(description="the field of that dataset's records to draw from")
    distribution: Literal["uniform", "zipf"] = Field(
        default="uniform", description="zipf makes a few referenced records very common"
    )
    s: float = Field(default=1.1, gt=0, le=10, description="the zipf exponent")


class ObjectField(FieldBase):
    """A nested JSON object of the given fields."""

    type: Literal["object"]
    fields: "list[FieldSpec]" = Field(min_length=1, max_length=50)


class ArrayField(FieldBase):
    """A JSON array of min_items to max_items values of another field type."""

    type: Literal["array"]
    of: "FieldSpec"
    min_items: int = Field(default=0, ge=0, le=100)
    max_items: int = Field(default=5, ge=0, le=100)
    _ordered = (("min_items", "max_items"),)


FieldSpec = Annotated[
    UuidField | IntegerField | FloatField | BooleanField | EnumField | SequenceField
    | ConstantField | StringField | FirstNameField | LastNameField | FullNameField | GenderField
    | UsernameField | EmailField | PhoneField | CompanyField | CompanyDomainField | WorkEmailField
    | StreetAddressField | CityField | RegionField | PostcodeField | CountryField
    | CountryCodeField | LatitudeField | LongitudeField | TimezoneField | DateField
    | DatetimeField | IpAddressField | UrlField | SentenceField | ParagraphField | TemplateField
    | ReferenceField | ObjectField | ArrayField | standalone.StandaloneSpec,
    Field(discriminator="type"),
]  # fmt: skip

ObjectField.model_rebuild()
ArrayField.model_rebuild()

# Catalogue order is the union's order.
FIELD_MODELS: Final[tuple[type[BaseModel], ...]] = get_args(get_args(FieldSpec)[0])
FIELD_SPEC_ADAPTER: Final[TypeAdapter[FieldSpec]] = TypeAdapter(FieldSpec)


def type_name(model: type[BaseModel]) -> str:
    """The `type` a field model is chosen by (its Literal's value)."""
    name: str = get_args(model.model_fields["type"].annotation)[0]
    return name


TYPE_NAMES: Final[tuple[str, ...]] = tuple(type_name(m) for m in FIELD_MODELS)


def parse_field(data: Any) -> FieldSpec:
    """Validate one field definition (a dict or JSON-compatible object) into its model."""
    return FIELD_SPEC_ADAPTER.validate_python(data)


_FIELD_SPEC_OPTION: Final = {"type": "object", "description": "a field definition"}


def _inlined(schema: Any, defs: dict[str, Any]) -> Any:
    """schema with each $ref replaced by its definition; a nested field spec (the recursion of
    object and array) is summarised rather than expanded."""
    if isinstance(schema, list):
        return [_inlined(item, defs) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "discriminator" in schema and "mapping" in schema["discriminator"]:
        mapping = schema["discriminator"]["mapping"]
        if set(mapping) & {"uuid", "integer"}:
            return dict(_FIELD_SPEC_OPTION)
    if "$ref" in schema:
        target = defs[schema["$ref"].rsplit("/", 1)[-1]]
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        return _inlined({**target, **rest}, defs)
    return {k: _inlined(v, defs) for k, v in schema.items() if k not in ("title", "discriminator")}


def _option_schema(prop: dict[str, Any], defs: dict[str, Any], required: bool) -> dict[str, Any]:
    out: dict[str, Any] = _inlined(prop, defs)
    if "anyOf" in out and all("type" in v for v in out["anyOf"]):
        # Optional options (X | None) become {"type": [X, "null"]} with X's constraints kept.
        variants = out.pop("anyOf")
        for variant in variants:
            out.update({k: v for k, v in variant.items() if k not in ("type", "title")})
        types = [v["type"] for v in variants]
        out["type"] = types if len(types) > 1 else types[0]
    has_type = any(k in out for k in ("type", "enum", "const", "anyOf", "oneOf"))
    if not has_type:
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
        if "$ref" in schema:  # a recursive model (object, array) is itself a definition
            schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
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
