from __future__ import annotations

import csv
import io
from typing import Any, get_args

import orjson

from datatasks.exports.query import (
    FORMULA_SAFE_TYPES,
    FORMULA_START,
    Columns,
    Select,
    csv_columns,
    csv_header,
)
from datatasks.generation import locales, words
from datatasks.generation.fields import FIELD_MODELS, parse_field
from datatasks.generation.generator import generate_json_rows


def test_the_csv_header_is_quoted_and_escaped_like_text_cells() -> None:
    names = ["plain", "=1+2", "a\rb", 'say "hi"', "-5", "@x"]
    raw = csv_header(names, formula_escape=True)
    assert list(csv.reader(io.StringIO(raw.decode(), newline=""))) == [
        ["plain", "'=1+2", "a\rb", 'say "hi"', "-5", "'@x"]
    ]
    unescaped = csv_header(names, formula_escape=False).decode()
    assert next(csv.reader(io.StringIO(unescaped, newline=""))) == names


def test_formula_safe_types_never_make_a_cell_the_escape_would_change() -> None:
    variants: dict[str, list[dict[str, Any]]] = {
        "integer": [{"min": -(2**63), "max": 2**63 - 1}],
        "float": [{"min": -1e300, "max": 1e300, "decimals": 0}, {"min": -1, "max": 0}],
        "sequence": [{"start": -5, "step": -3}],
        "date": [{"start": "0001-01-01", "end": "9999-12-31"}],
        "datetime": [{"start": "0001-01-01T00:00:00Z"}],
        "ip_address": [{"version": 4}, {"version": 6}],
        "sentence": [{"min_words": 1, "max_words": 1}],
        "paragraph": [{"min_sentences": 1, "max_sentences": 1}],
    }
    known = {get_args(model.model_fields["type"].annotation)[0] for model in FIELD_MODELS}
    assert known >= FORMULA_SAFE_TYPES, "only generation types can be vouched for"
    specs = [
        parse_field({"name": f"{kind}{i}", "type": kind, **options})
        for kind in sorted(FORMULA_SAFE_TYPES)
        for i, options in enumerate(variants.get(kind, [{}]))
    ]
    for locale in locales._SOURCES:
        rows = 20_000 if locale == "en-US" else 2_048
        for line in generate_json_rows(specs, 7, 0, rows, locale=locale):
            for name, value in orjson.loads(line).items():
                if isinstance(value, str):
                    assert not value.startswith(FORMULA_START), (locale, name, value)
        # The locale's tables are what names and places come from: all of them, not a sample.
        people, places = locales.people(locale), locales.places(locale)
        for column in (*people.first, *people.last, places.cities, places.city_regions):
            assert not [v for v in column.tolist() if v.startswith(FORMULA_START)], locale
    # The word lists are what the sampled values above come from: all of them, not a sample.
    for table in (value for value in vars(words).values() if isinstance(value, tuple)):
        assert not [word for word in table if word.startswith(FORMULA_START)]


def test_only_cells_of_a_vouched_for_type_skip_the_formula_escape() -> None:
    types = {"n": "integer", "phone": "phone", "text": "string"}
    names = ["n", "phone", "text", "untyped"]

    def escaped(name: str, *, formula_escape: bool = True) -> bool:
        sql = csv_columns(Select(), Columns([name], types), formula_escape=formula_escape)
        return "CASE" in sql

    assert [escaped(name) for name in names] == [False, True, True, True]
    assert not any(escaped(name, formula_escape=False) for name in names)
