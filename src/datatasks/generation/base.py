"""What every field model shares: its name, its null rate, and checks of ordered options.

Field models live in fields.py (the core catalogue) and standalone.py (types drawn on their own);
both build on FieldBase here so neither has to import the other.
"""

import datetime as dt
import string
from abc import abstractmethod
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Final, Self

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    import numpy as np

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


def json_size(value: Any) -> int:
    # Catch what orjson can't encode (lone surrogates, ints past 64 bits) at validation
    # time rather than halfway through generating a dataset.
    try:
        return len(orjson.dumps(value))
    except orjson.JSONEncodeError as exc:
        raise ValueError(f"value is not encodable as JSON: {exc}") from exc


class FieldBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    null_rate: float = Field(default=0.0, ge=0.0, le=1.0, description="Share of nulls.")

    # (low, high) option pairs that must satisfy low <= high; set per subclass.
    _ordered: ClassVar[tuple[tuple[str, str], ...]] = ()

    @model_validator(mode="after")
    def _check_ordered(self) -> Self:
        # One validator for what every model checks: each is a Python call per field.
        # __dict__ holds a model's field values: cheaper than getattr's miss on most models.
        if self.null_rate > 0 and self.__dict__.get("unique", False):
            raise ValueError("a unique field cannot have nulls: drop null_rate or unique")
        for low, high in self._ordered:
            low_value, high_value = getattr(self, low), getattr(self, high)
            if low_value > high_value:
                # Name both values: one of them may be a default the client never wrote.
                raise ValueError(f"{low} ({low_value}) must be <= {high} ({high_value})")
        return self


class Drawn(FieldBase):
    """A field that draws its own values: the generator calls draw, the sizing value_bytes."""

    @abstractmethod
    def draw(self, rng: "np.random.Generator", n: int) -> list[Any]:
        """n values from rng; the number of draws taken must not depend on the values."""

    @abstractmethod
    def value_bytes(self) -> int:
        """Upper bound of one value's JSON text, quotes included."""
