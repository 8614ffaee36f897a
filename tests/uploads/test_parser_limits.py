"""What one row may cost the parser: lines and elements past `max_record_bytes` are rejected
as their bytes stream past, never held; and files too wide to export are refused."""

from __future__ import annotations

import json
import random
import tracemalloc
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from datatasks.uploads.parser import InvalidContent, RecordParser, Rejected, TooManyColumns
from datatasks.uploads.sniff import Sniffed
from tests.uploads.test_parser import ARRAY, CSV, NDJSON, objects, parse, parse_everywhere

LIMIT = 64 * 1024
PIECE = 64 * 1024


def huge_line(size: int, text: bytes) -> Iterator[bytes]:
    """About `size` bytes of `text` repeated (no newline), in pieces, as storage hands them
    out."""
    piece = text * (PIECE // len(text))
    for _ in range(size // len(piece)):
        yield piece


LONG_LINE = f"line longer than {LIMIT} bytes"
LARGE_ELEMENT = f"element larger than {LIMIT} bytes"


@pytest.mark.parametrize(
    ("sniffed", "head", "body", "tail", "reason"),
    [
        (CSV, b"a\n1\n", b"x", b"\n3\n", LONG_LINE),
        (NDJSON, b'{"a": "1"}\n', b"x", b'\n{"a": "3"}\n', LONG_LINE),
        # An object, and a string: in either, brackets and escaped quotes are only text.
        (ARRAY, b'[{"a": "1"},\n{"s": "', b'\\"]}', b'"},\n{"a": "3"}]', LARGE_ELEMENT),
        (ARRAY, b'[{"a": "1"},\n"', b'\\"[{', b'",\n{"a": "3"}]', LARGE_ELEMENT),
    ],
)
def test_a_huge_line_streams_past_in_bounded_memory(
    sniffed: Sniffed, head: bytes, body: bytes, tail: bytes, reason: str
) -> None:
    parser = RecordParser(sniffed, max_record_bytes=LIMIT)
    records, rejected = parser.feed(head)
    tracemalloc.start()
    try:
        for piece in huge_line(50 * 1024 * 1024, body):
            more, bad = parser.feed(piece)
            records += more
            rejected += bad
            # The parser's buffers (and whatever else it allocates) stay near the limit, however
            # much of the line has gone by: the pieces themselves are the caller's.
            assert tracemalloc.get_traced_memory()[1] < 3 * LIMIT + PIECE
        more, bad = parser.feed(tail)
        records += more
        rejected += bad
    finally:
        tracemalloc.stop()
    more, bad = parser.finish()
    assert objects(records + more) == [{"a": "1"}, {"a": "3"}]
    assert [(r.line, r.reason) for r in rejected + bad] == [(head.count(b"\n") + 1, reason)]


def test_csv_long_lines_are_rejected_and_reading_goes_on_after_them() -> None:
    long = b"9," + b"y" * 40
    data = b"a,b\n1,2\n" + long + b"\r\n3,4\n" + long + b'\n5,"six\nlines"\n' + long
    records, rejected, _ = parse_everywhere(CSV, data, max_record_bytes=40)
    assert objects(records) == [
        {"a": "1", "b": "2"},
        {"a": "3", "b": "4"},
        {"a": "5", "b": "six\nlines"},
    ]
    reason = "line longer than 40 bytes"
    raw = long[:41].decode()
    assert rejected == [
        Rejected(3, reason, raw),
        Rejected(5, reason, raw),
        Rejected(8, reason, raw),
    ]
    # A line of exactly the limit (its newline aside) is a row like any other.
    fits = b"9," + b"y" * 38
    assert len(parse_everywhere(CSV, b"a,b\n" + fits + b"\n", max_record_bytes=40)[0]) == 1


def test_csv_a_record_left_open_before_a_long_line_ends_there() -> None:
    # Any record that went on into the long line would be over the bound: it is rejected at its
    # first line, and the lines after that one are read again, as when the file ends.
    data = b'a,b\n1,"open\n2,3\n' + b"z" * 100 + b'\n4,"x\ny"\n'
    records, rejected, _ = parse_everywhere(CSV, data, max_record_bytes=50)
    assert objects(records) == [{"a": "2", "b": "3"}, {"a": "4", "b": "x\ny"}]
    assert [(r.line, r.reason) for r in rejected] == [
        (2, "unterminated quoted field"),
        (4, "line longer than 50 bytes"),
    ]


def test_csv_a_header_longer_than_the_limit_cannot_be_read() -> None:
    with pytest.raises(InvalidContent, match="header cannot be read: line longer than 10 bytes"):
        parse(CSV, b"\n\nabcdef,ghijkl\n1,2\n", max_record_bytes=10)


def test_ndjson_line_numbers_after_long_lines() -> None:
    long = b'{"pad": "' + b"p" * 60 + b'"}'
    data = long + b"\n" + b'{"a": 1}\n\n' + long + b"\n" + b"not json\n" + long
    records, rejected, _ = parse_everywhere(NDJSON, data, max_record_bytes=32)
    assert objects(records) == [{"a": 1}]
    assert [(r.line, r.reason.split(":")[0]) for r in rejected] == [
        (1, "line longer than 32 bytes"),
        (4, "line longer than 32 bytes"),
        (5, "invalid JSON"),
        (6, "line longer than 32 bytes"),
    ]
    assert rejected[0].raw == long[:33].decode()


def test_array_elements_past_the_limit_are_rejected_in_any_chunking() -> None:
    rng = random.Random(4)
    pieces = ["}", "]", "{", "[", '"', "\\", ",", "é", "a", "\n"]
    values: list[Any] = []
    for i in range(300):
        text = "".join(rng.choices(pieces, k=rng.randint(0, 30)))
        nested = {"s": text, "l": [text, {"t": [i]}], "o": {}}
        values.append(rng.choice([{"i": i, "s": text}, nested, [text], text, i * 10**40]))
    texts = [json.dumps(v, ensure_ascii=False).encode() for v in values]
    data = b"[" + b",\n".join(texts) + b"]"
    limit = 60
    records, rejected, _ = parse_everywhere(ARRAY, data, max_record_bytes=limit)
    assert objects(records) == [
        v for v, t in zip(values, texts, strict=True) if type(v) is dict and len(t) <= limit
    ]
    too_large = [r for r in rejected if r.reason == f"element larger than {limit} bytes"]
    expected = [
        (line, text[: limit + 1].decode(errors="replace"))
        for line, text in enumerate(texts, start=1)
        if len(text) > limit
    ]
    assert [(r.line, r.raw) for r in too_large] == expected
    assert len(rejected) - len(too_large) == sum(
        1 for v, t in zip(values, texts, strict=True) if type(v) is not dict and len(t) <= limit
    )


def test_array_ending_inside_an_element_being_dropped() -> None:
    for data in (b'[{"a": 1}, {"b": "' + b"x" * 100, b'[{"a": 1}, ' + b"1" * 100):
        messages = set()
        for limit in (40, 1000):
            with pytest.raises(InvalidContent) as info:
                parse(ARRAY, data, max_record_bytes=limit)
            messages.add(str(info.value))
        assert messages == {
            f"invalid JSON array: the file ends inside the array near byte {len(data)}"
        }


def test_more_columns_than_allowed() -> None:
    header = ",".join(f"c{i}" for i in range(11)).encode()
    with pytest.raises(TooManyColumns, match="the CSV header has 11 columns"):
        parse(CSV, header + b"\n" + b"," * 10 + b"\n", max_columns=10)
    assert parse(CSV, header + b"\n", max_columns=11)[2] is not None
    rows = [{f"k{i}": i} for i in range(11)]
    ndjson = b"".join(orjson.dumps(r) + b"\n" for r in rows)
    for sniffed, data in ((NDJSON, ndjson), (ARRAY, orjson.dumps(rows))):
        with pytest.raises(TooManyColumns, match="more than 10 distinct keys"):
            parse(sniffed, data, max_columns=10)
        assert len(parse(sniffed, data, max_columns=11)[0]) == 11


def test_csv_records_far_larger_than_their_rows_come_a_limit_at_a_time() -> None:
    # Each record repeats the header's 20 KB of names over a row of a few bytes. One row opens
    # a quote that never closes: it is rejected once it outgrows the bound, and the lines it
    # held are read again - at once, in one call.
    columns = [f"{i:02d}" + "n" * 998 for i in range(20)]
    lines = [f"{i}" + "," * 19 for i in range(3000)]
    lines[1000] = '"open' + "," * 19
    data = "\n".join([",".join(columns), *lines, ""]).encode()
    max_bytes = 32 * 1024
    expected, expected_rejected, _ = parse(CSV, data, max_record_bytes=max_bytes)
    assert len(expected) == 2999
    assert expected_rejected == [Rejected(1002, "unterminated quoted field", lines[1000])]
    floor = len(orjson.dumps(dict.fromkeys(columns, "")))
    limit = 10 * floor
    parser = RecordParser(CSV, max_record_bytes=max_bytes)
    made = 0
    rejected: list[Rejected] = []

    def check(records: list[str]) -> None:
        nonlocal made
        assert records == expected[made : made + len(records)]
        made += len(records)
        # At most the limit's worth of names (the cells are a few digits).
        assert len(records) <= limit // floor

    tracemalloc.start()
    try:
        for start in range(0, len(data), PIECE):
            piece = data[start : start + PIECE]
            records, bad = parser.feed(piece, limit)
            check(records)
            rejected += bad
            while parser.pending:
                check(parser.more(limit))
            # A piece's rows as cells and what reading them takes (some 30 times its bytes), and
            # a limit's worth of records: never the 20 to 40 MB of all a piece's records.
            assert tracemalloc.get_traced_memory()[1] < 48 * PIECE
        records, bad = parser.finish(limit)
        check(records)
        assert not parser.pending
    finally:
        tracemalloc.stop()
    assert made == len(expected)
    assert rejected + bad == expected_rejected


def test_csv_the_longest_record_a_row_can_make() -> None:
    # A record's JSON holds its header's names and its row's cells, each at most the limit in
    # bytes, JSON-escaped: at worst six characters a byte (a control character is \\u00XX),
    # with 22 more a column at most (quotes, colon, comma, and a suffix making a name unique).
    limit = 1024
    name = b"\x01" * (limit // 2 - 1)
    header = name + b"," + name
    row = b"\x02" * (limit // 2 - 1) + b"," + b"\x02" * (limit // 2 - 1)
    assert len(header) == len(row) == limit - 1
    records, rejected, columns = parse(CSV, header + b"\n" + row + b"\n", max_record_bytes=limit)
    assert rejected == []
    assert columns == ["\x01" * 511, "\x01" * 511 + "_2"]
    assert len(records[0]) <= 2 + 6 * (len(header) + len(row)) + 22 * len(columns)
    assert len(records[0]) > 11 * limit
