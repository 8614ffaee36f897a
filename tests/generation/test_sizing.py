from __future__ import annotations

from typing import Any

import httpx

from datatasks.generation.fields import parse_field
from datatasks.generation.generator import generate_json_rows
from datatasks.generation.sizing import BLOCK_SIZE, MAX_RECORD_BYTES, chunk_rows, record_bytes

EVERY_TYPE: list[dict[str, Any]] = [
    {"name": "id", "type": "uuid"},
    {"name": "n", "type": "sequence", "start": -(2**62)},
    {"name": "first", "type": "first_name"},
    {"name": "last", "type": "last_name"},
    {"name": "full", "type": "full_name"},
    {"name": "email", "type": "email"},
    {"name": "phone", "type": "phone"},
    {"name": "company", "type": "company"},
    {"name": "street", "type": "street_address"},
    {"name": "city", "type": "city"},
    {"name": "country", "type": "country"},
    {"name": "postcode", "type": "postcode"},
    {"name": "day", "type": "date"},
    {"name": "at", "type": "datetime"},
    {"name": "ip", "type": "ip_address", "version": 6},
    {"name": "url", "type": "url"},
    {"name": "sentence", "type": "sentence", "max_words": 30},
    {"name": "paragraph", "type": "paragraph"},
    {"name": "i", "type": "integer", "min": -(2**63), "max": 2**63 - 1},
    {"name": "f", "type": "float", "min": -1e300, "max": 1e300, "decimals": 15},
    {"name": "s", "type": "string", "alphabet": '\u0001é"\\', "max_length": 40},
    {"name": "e", "type": "enum", "values": ["long value", 1, 2.5, True]},
    {"name": "k", "type": "constant", "value": {"nested": [1, "two", None]}},
    {"name": "b", "type": "boolean"},
]


def test_the_estimate_bounds_every_record() -> None:
    specs = [parse_field(f) for f in EVERY_TYPE]
    rows = generate_json_rows(specs, 7, 0, 20 * BLOCK_SIZE)
    assert max(len(r.encode()) for r in rows) <= record_bytes(specs)


def test_chunks_are_whole_blocks_within_the_byte_budget() -> None:
    specs = [parse_field(f) for f in EVERY_TYPE]
    rows = chunk_rows(specs, max_rows=50_000, max_bytes=8 * 1024 * 1024)
    assert rows % BLOCK_SIZE == 0
    assert rows * record_bytes(specs) <= 8 * 1024 * 1024
    assert chunk_rows(specs, max_rows=1_000, max_bytes=1 << 30) == BLOCK_SIZE
    small = [parse_field({"name": "id", "type": "uuid"})]
    assert chunk_rows(small, max_rows=50_000, max_bytes=1 << 30) == 48 * BLOCK_SIZE


async def test_a_schema_whose_records_are_too_large_is_422(client: httpx.AsyncClient) -> None:
    fields = [{"name": f"s{i}", "type": "string", "max_length": 1000} for i in range(20)]
    response = await client.post(
        "/generate", json={"record_type": "t", "count": 1, "fields": fields}
    )
    assert response.status_code == 422
    assert str(MAX_RECORD_BYTES) in response.json()["detail"]


def test_the_estimate_bounds_every_type_of_the_catalogue_in_every_locale() -> None:
    from datatasks.generation.examples import _OPTIONS, _REFERENCED, _SIBLINGS
    from datatasks.generation.fields import TYPE_NAMES, ReferenceField
    from datatasks.generation.generator import Source
    from datatasks.generation.locales import _SOURCES

    for type_name in TYPE_NAMES:
        raw = {"name": "value", "type": type_name, **_OPTIONS.get(type_name, {})}
        specs = [*(parse_field(s) for s in _SIBLINGS.get(type_name, [])), parse_field(raw)]
        # ... and what a template's filters make of it (transliteration can lengthen text).
        template = "{value|upper|ascii} {value|slug} {value|title}"
        specs.append(parse_field({"name": "t", "type": "template", "template": template}))
        sources = {}
        if isinstance(specs[-2], ReferenceField):
            sources["value"] = Source.of(specs[-2], _REFERENCED)
        for locale in _SOURCES:
            rows = generate_json_rows(specs, 3, 0, BLOCK_SIZE, locale=locale, sources=sources)
            longest = max(len(r.encode()) for r in rows)
            assert longest <= record_bytes(specs, locale), (type_name, locale)


def test_the_estimate_bounds_transliterated_text_that_grows() -> None:
    # One code point can become dozens of letters (U+FDFD, emoji with long names).
    raw = [
        {"name": "s", "type": "string", "alphabet": "\ufdfd\U0001faf0", "max_length": 100},
        {"name": "e", "type": "emoji"},
        {"name": "t", "type": "template", "template": "{s|ascii}{e|slug}"},
    ]
    specs = [parse_field(f) for f in raw]
    rows = generate_json_rows(specs, 3, 0, 2 * BLOCK_SIZE)
    assert max(len(r.encode()) for r in rows) <= record_bytes(specs)
