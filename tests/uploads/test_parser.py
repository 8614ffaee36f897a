"""Incremental parsing into records: every rule, and the same output however the bytes are cut."""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from datatasks.uploads import csv_rows
from datatasks.uploads.parser import InvalidContent, RecordParser, Rejected
from datatasks.uploads.parsing import MAX_RECORD_BYTES
from datatasks.uploads.sniff import NULL_TOKENS, Sniffed, UploadFormat

CSV = Sniffed(UploadFormat.csv, ",")
NDJSON = Sniffed(UploadFormat.ndjson)
ARRAY = Sniffed(UploadFormat.json)
Parsed = tuple[list[str], list[Rejected], list[str] | None]


def cuts(data: bytes, sizes: Iterator[int]) -> list[bytes]:
    chunks = []
    pos = 0
    while pos < len(data):
        size = next(sizes)
        chunks.append(data[pos : pos + size])
        pos += size
    return chunks


def parse(
    sniffed: Sniffed,
    data: bytes,
    chunks: list[bytes] | None = None,
    *,
    limit: int | None = None,
    **options: Any,
) -> Parsed:
    """Feed the chunks and finish; with a `limit`, take the records that wait after each call
    as the ingest job does."""
    parser = RecordParser(sniffed, **options)
    records: list[str] = []
    rejected: list[Rejected] = []
    for chunk in [data] if chunks is None else chunks:
        more, bad = parser.feed(chunk, limit)
        records += more
        rejected += bad
        while parser.pending:
            records += parser.more(limit)
    more, bad = parser.finish(limit)
    records += more
    while parser.pending:
        records += parser.more(limit)
    return records, rejected + bad, parser.columns


def random_sizes(rng: random.Random, top: int) -> Iterator[int]:
    while True:
        yield rng.randint(1, top)


def chunkings(data: bytes, seed: int = 0) -> Iterator[list[bytes]]:
    """Ways to cut `data`: one byte at a time, and random cuts of small and large chunks."""
    rng = random.Random(seed)
    yield cuts(data, random_sizes(rng, 1))
    for top in (3, 17, 200, 5000, 70_000):
        yield cuts(data, random_sizes(rng, top))


def parse_everywhere(sniffed: Sniffed, data: bytes, **options: Any) -> Parsed:
    """Parse in one piece and in many chunkings, checking that all agree - also when records
    are made a few at a time (a CSV's rows wait for room), as the ingest job asks for them."""
    whole = parse(sniffed, data, **options)
    for chunks in chunkings(data):
        assert parse(sniffed, data, chunks, **options) == whole
    few = cuts(data, random_sizes(random.Random(1), 300))
    for limit, chunks in ((1, [data]), (1, few), (200, few)):
        assert parse(sniffed, data, chunks, limit=limit, **options) == whole
    return whole


def objects(records: list[str]) -> list[dict[str, Any]]:
    values = [orjson.loads(r) for r in records]
    assert all(type(v) is dict for v in values)
    return values


def invalid(sniffed: Sniffed, data: bytes) -> str:
    """The InvalidContent message, the same for every chunking."""
    messages = set()
    for chunks in [[data], *chunkings(data)]:
        with pytest.raises(InvalidContent) as info:
            parse(sniffed, data, chunks)
        messages.add(str(info.value))
    assert len(messages) == 1, messages
    return messages.pop()


# CSV


def test_csv_cells_are_text_as_they_are_and_null_tokens_null() -> None:
    data = b"id,n,flag,e,na,nan\n1, 2.50,true,,NA,NaN\n"
    records, rejected, columns = parse_everywhere(CSV, data)
    assert columns == ["id", "n", "flag", "e", "na", "nan"]
    assert records == ['{"id":"1","n":" 2.50","flag":"true","e":null,"na":null,"nan":null}']
    assert rejected == []


def test_csv_bom_and_names_made_unique_and_non_empty() -> None:
    data = b"\xef\xbb\xbfname,name,, id ,name_2,  \n1,2,3,4,5,6\n"
    records, _, columns = parse_everywhere(CSV, data)
    assert columns == ["name", "name_2", "column_3", " id ", "name_2_2", "column_6"]
    assert objects(records)[0]["name_2_2"] == "5"


def test_csv_quoted_fields_and_line_numbers() -> None:
    data = (
        b'a,b\n"x, y","say ""hi"""\n'  # line 2: a delimiter and doubled quotes
        b'"three\nline\nfield",z\n'  # lines 3-5
        b"\n"  # line 6: blank, skipped
        b"1,2,3\n"  # line 7: too many fields
        b'"",""\n'  # line 8
    )
    records, rejected, _ = parse_everywhere(CSV, data)
    assert objects(records) == [
        {"a": "x, y", "b": 'say "hi"'},
        {"a": "three\nline\nfield", "b": "z"},
        {"a": None, "b": None},  # an empty cell is null, quoted or not
    ]
    assert rejected == [Rejected(7, "expected 2 fields, got 3", "1,2,3")]


def test_csv_crlf_and_a_last_line_without_newline() -> None:
    data = b'a,b\r\n1,"x\r\ny"\r\n\r\n2,3\r\n4'
    records, rejected, _ = parse_everywhere(CSV, data)
    assert objects(records) == [{"a": "1", "b": "x\r\ny"}, {"a": "2", "b": "3"}]
    assert rejected == [Rejected(6, "expected 2 fields, got 1", "4")]


def test_csv_blank_lines_before_the_header_are_skipped() -> None:
    records, rejected, columns = parse_everywhere(CSV, b"\n\r\nk\nv\n")
    assert (columns, objects(records), rejected) == (["k"], [{"k": "v"}], [])


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_csv_other_delimiters(delimiter: str) -> None:
    d = delimiter.encode()
    data = b"a" + d + b"b\n1" + d + b'"x' + d + b'y"\n1,2' + d + b"3\n"
    records, _, _ = parse_everywhere(Sniffed(UploadFormat.csv, delimiter), data)
    assert objects(records) == [{"a": "1", "b": f"x{delimiter}y"}, {"a": "1,2", "b": "3"}]


def test_csv_unicode() -> None:
    data = "név,emoji\nÁrpád,🎉\n東京,ü\n".encode()
    records, _, columns = parse_everywhere(CSV, data)
    assert columns == ["név", "emoji"]
    assert objects(records) == [{"név": "Árpád", "emoji": "🎉"}, {"név": "東京", "emoji": "ü"}]


def test_csv_invalid_utf8_and_nul_reject_only_their_record() -> None:
    data = b'a,b\n1,\xff\n2,"x\n\xc3"\n3,\x00\n4,ok\n'
    records, rejected, _ = parse_everywhere(CSV, data)
    assert objects(records) == [{"a": "4", "b": "ok"}]
    assert [(r.line, r.reason) for r in rejected] == [
        (2, "invalid UTF-8"),
        (3, "invalid UTF-8"),
        (5, "NUL character"),
    ]
    assert rejected[0].raw == "1,\ufffd"
    assert rejected[2].raw == "3,\ufffd"  # a raw NUL would not fit in jsonb either


def test_csv_unterminated_quote_at_the_end() -> None:
    # Only its first line is rejected: the next ones are read again, as records of their own.
    records, rejected, _ = parse_everywhere(CSV, b'a,b\n1,2\n3,"never\nclosed\n4,5\n')
    assert objects(records) == [{"a": "1", "b": "2"}, {"a": "4", "b": "5"}]
    assert rejected == [
        Rejected(3, "unterminated quoted field", '3,"never'),
        Rejected(4, "expected 2 fields, got 1", "closed"),
    ]


def test_csv_a_quote_inside_an_unquoted_field_is_a_literal() -> None:
    # As for the csv module: it opens a quoted field only at the start of a field.
    data = b'id,name,status\n1,Monitor 27" wide,ok\n2,"a ""b"", c",ok\n3,x,y\n'
    records, rejected, _ = parse_everywhere(CSV, data)
    assert objects(records) == [
        {"id": "1", "name": 'Monitor 27" wide', "status": "ok"},
        {"id": "2", "name": 'a "b", c', "status": "ok"},
        {"id": "3", "name": "x", "status": "y"},
    ]
    assert rejected == []


def test_csv_one_stray_quote_does_not_swallow_the_rows_after_it() -> None:
    rows = [f"{i},item {i},{i * 3}" for i in range(1, 3001)]
    rows[9] = '10,Monitor 27" wide,30'
    data = ("id,name,qty\n" + "\n".join(rows) + "\n").encode()
    records, rejected, _ = parse(CSV, data, cuts(data, iter(lambda: 1000, 0)))
    assert rejected == []
    assert len(records) == 3000
    assert objects(records)[9] == {"id": "10", "name": 'Monitor 27" wide', "qty": "30"}


def test_csv_malformed_quotes_are_rejected_the_same_way_in_any_chunking() -> None:
    data = b'a,b\n1,5"\n2,x"\n"ab"c,d\n7,"q"\n3,"ok"\n'
    records, rejected, _ = parse_everywhere(CSV, data)
    assert objects(records) == [
        {"a": "1", "b": '5"'},
        {"a": "2", "b": 'x"'},
        {"a": "7", "b": "q"},
        {"a": "3", "b": "ok"},
    ]
    assert rejected == [Rejected(4, "malformed CSV: ',' expected after '\"'", '"ab"c,d')]


def test_csv_a_quote_left_open_is_rejected_at_its_line_past_the_bounds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(csv_rows, "MAX_RECORD_LINES", 5)
    lines = [f"{i},x" for i in range(2, 40)]
    lines[3] = '5,"opened'  # line 5, never closed
    data = ("a,b\n" + "\n".join(lines) + "\n").encode()
    records, rejected, _ = parse_everywhere(CSV, data)
    assert rejected == [Rejected(5, "unterminated quoted field", '5,"opened')]
    assert [r["a"] for r in objects(records)] == [str(i) for i in range(2, 40) if i != 5]
    # A record ending within the bounds is read whole.
    data = b'a,b\n1,"two\n3\n4\n5\nlines"\n6,x\n'
    records, rejected, _ = parse_everywhere(CSV, data)
    assert objects(records) == [{"a": "1", "b": "two\n3\n4\n5\nlines"}, {"a": "6", "b": "x"}]


def test_csv_the_bound_in_bytes() -> None:
    fits = b'1,"0123456789\nabcd"\n'  # 20 bytes
    data = b"a,b\n" + fits + b'2,"0123456789\nabcde"\n3,x\n'
    records, rejected, _ = parse_everywhere(CSV, data, max_record_bytes=20)
    assert objects(records) == [{"a": "1", "b": "0123456789\nabcd"}, {"a": "3", "b": "x"}]
    assert [(r.line, r.reason) for r in rejected] == [
        (4, "unterminated quoted field"),
        (5, "expected 2 fields, got 1"),  # abcde" read on its own
    ]


def test_csv_a_record_past_the_bounds_is_given_up_on_while_streaming(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Memory stays bounded: the open record is rejected once the bound is passed, not at the end.
    monkeypatch.setattr(csv_rows, "MAX_RECORD_LINES", 100)
    parser = RecordParser(CSV)
    assert parser.feed(b'a,b\n1,"open\n') == ([], [])
    rejected: list[Rejected] = []
    fed = 0
    while not rejected:
        fed += 1
        assert fed <= 100
        _, rejected = parser.feed(b"x,y\n")
    assert rejected == [Rejected(2, "unterminated quoted field", '1,"open')]


def test_csv_a_quoted_field_over_the_csv_modules_limit_is_left_open() -> None:
    # 128 Ki characters in one field: a quote opened by mistake, like one past the bounds.
    rows = [f"{i},{'x' * 60}" for i in range(2, 5000)]
    rows[8] = '10,"' + "x" * 60
    data = ("a,b\n" + "\n".join(rows) + "\n").encode()
    records, rejected, _ = parse(CSV, data, cuts(data, iter(lambda: 65536, 0)))
    assert rejected == [Rejected(10, "unterminated quoted field", rows[8])]
    assert len(records) == len(rows) - 1
    assert parse(CSV, data)[:2] == (records, rejected)


def test_csv_random_quotes_and_newlines_in_any_chunking(monkeypatch: pytest.MonkeyPatch) -> None:
    """Records as the csv module reads them, one by one from each record's first line."""
    rng = random.Random(11)
    alphabet = [b'"', b'"', b",", b"\n", b"\n", b"\r\n", b"a", b"b", b'""', b"\r", "é".encode()]
    for _ in range(150):
        monkeypatch.setattr(csv_rows, "MAX_RECORD_LINES", rng.randint(1, 8))
        max_bytes = max(3, rng.randint(1, 60))  # the header, a,b, fits
        data = b"a,b\n" + b"".join(rng.choices(alphabet, k=rng.randint(0, 120)))
        parsed = parse_everywhere(CSV, data, max_record_bytes=max_bytes)
        assert parsed == csv_reference(data, max_bytes)


def csv_reference(data: bytes, max_bytes: int = MAX_RECORD_BYTES) -> Parsed:
    """The CSV rules spelled out simply: read a record from each line where one starts; one
    that does not end (within the bounds) is rejected at its first line, read on from the next;
    a line longer than `max_bytes` is rejected on its own."""
    lines = data.decode().split("\n")
    if not lines[-1]:
        lines.pop()
    with_newlines = [line + "\n" for line in lines]
    if not data.endswith(b"\n"):
        with_newlines[-1] = lines[-1]
    sizes = [len(line.encode()) for line in with_newlines]
    columns: list[str] | None = None
    records: list[str] = []
    rejected: list[Rejected] = []
    i = 0
    while i < len(lines):
        if len(lines[i].encode()) > max_bytes:
            assert columns is not None, "a header that cannot be read"
            reason = f"line longer than {max_bytes} bytes"
            raw = lines[i].encode()[: max_bytes + 1].decode(errors="replace")
            rejected.append(Rejected(i + 1, reason, raw.rstrip("\r\n")))
            i += 1
            continue
        reader = csv.reader(with_newlines[i:], strict=True)
        try:
            cells: list[str] | str = next(reader)
        except csv.Error as exc:
            cells = f"malformed CSV: {exc}"
        last = i + reader.line_num - 1
        span = last - i + 1
        if cells == "malformed CSV: unexpected end of data" or (
            span > 1
            and (
                span > csv_rows.MAX_RECORD_LINES
                or sum(sizes[i : last + 1]) > max_bytes
                or str(cells).startswith("malformed CSV: field larger than field limit")
            )
        ):
            cells, last = "unterminated quoted field", i
        raw = "\n".join(lines[i : last + 1])
        if columns is None:
            assert isinstance(cells, list), "a header that cannot be read"
            columns = cells or None
        elif isinstance(cells, str):
            rejected.append(Rejected(i + 1, cells, raw.rstrip("\r\n")))
        elif len(cells) == len(columns):
            values = [None if c in NULL_TOKENS else c for c in cells]
            records.append(orjson.dumps(dict(zip(columns, values, strict=True))).decode())
        elif cells:
            reason = f"expected {len(columns)} fields, got {len(cells)}"
            rejected.append(Rejected(i + 1, reason, raw.rstrip("\r\n")))
        i = last + 1
    return records, rejected, columns


def test_csv_a_long_multiline_record_over_many_chunks() -> None:
    cell = ('say ""x""\n' * 5000).encode()  # 50 KB of quoted lines
    data = b'a,b\n1,"' + cell + b'"\n2,3\n'
    records, rejected, _ = parse_everywhere(CSV, data)
    assert objects(records) == [{"a": "1", "b": 'say "x"\n' * 5000}, {"a": "2", "b": "3"}]
    assert rejected == []


def test_csv_header_only_and_empty() -> None:
    assert parse_everywhere(CSV, b"a,b\n") == ([], [], ["a", "b"])
    assert parse_everywhere(CSV, b"") == ([], [], None)


def test_csv_unreadable_header() -> None:
    assert "invalid UTF-8" in invalid(CSV, b"a,\xff\n1,2\n")
    assert "unterminated" in invalid(CSV, b'a,"b\n')


def test_csv_rejected_raw_is_cut_to_200_characters() -> None:
    _, rejected, _ = parse(CSV, b"a\n" + "é,".encode() * 300 + b"\n")
    assert rejected[0].raw == "é," * 100


def test_csv_round_trip_of_awkward_values() -> None:
    rng = random.Random(3)
    alphabet = ['"', ",", "\n", "\r\n", ";", " ", "a", "Z", "é", "🎉", "東", "''"]
    rows = [
        ["".join(rng.choices(alphabet, k=rng.randint(0, 8))) for _ in range(4)] for _ in range(300)
    ]
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator=rng.choice(["\n", "\r\n"])).writerows([list("abcd"), *rows])
    records, rejected, _ = parse_everywhere(CSV, out.getvalue().encode())
    # A record of one empty cell is written as a blank line; those are skipped.
    expected = [
        dict(zip("abcd", [None if c in NULL_TOKENS else c for c in row], strict=True))
        for row in rows
    ]
    assert rejected == []
    assert objects(records) == expected


# NDJSON


def test_ndjson_keeps_types_and_nesting() -> None:
    data = b'{"a": 1, "b": 2.5, "c": null, "d": [1, {"e": true}], "f": "x"}\r\n\n  \n{"g":{}}'
    records, rejected, columns = parse_everywhere(NDJSON, data)
    assert columns is None
    assert rejected == []
    assert objects(records) == [
        {"a": 1, "b": 2.5, "c": None, "d": [1, {"e": True}], "f": "x"},
        {"g": {}},
    ]


def test_ndjson_rejections_with_line_numbers() -> None:
    data = (
        b'\xef\xbb\xbf{"ok": 1}\n'
        b"[1, 2]\n"  # 2
        b'{"a": \n'  # 3
        b'"just a string"\n'  # 4
        b'{"bad": "\xff"}\n'  # 5
        b'{"nul": "\\u0000"}\n'  # 6
        b'{"key\\u0000": 1}\n'  # 7
        b'{"escaped": "\\\\u0000"}\n'  # 8: a backslash, then "u0000": fine
        b"\n"
        b'{"last": "\xc3\xa9"}'  # 10
    )
    records, rejected, _ = parse_everywhere(NDJSON, data)
    assert objects(records) == [{"ok": 1}, {"escaped": "\\u0000"}, {"last": "é"}]
    assert [(r.line, r.reason.split(":")[0]) for r in rejected] == [
        (2, "not a JSON object"),
        (3, "invalid JSON"),
        (4, "not a JSON object"),
        (5, "invalid UTF-8"),
        (6, "NUL character"),
        (7, "NUL character"),
    ]
    assert rejected[1].raw == '{"a": '


def test_ndjson_keeps_big_integers_exactly() -> None:
    records, _, _ = parse_everywhere(NDJSON, b'{"n": 123456789012345678901234567890}\n')
    assert records == ['{"n": 123456789012345678901234567890}']


# JSON array


def test_array_elements_become_records() -> None:
    data = b'\xef\xbb\xbf [\n {"a": 1, "b": 1.5, "c": 1E2, "d": [{"e": null}]},'
    data += b'\n {"f": "\xc3\xa9"} ]\n'
    records, rejected, columns = parse_everywhere(ARRAY, data)
    assert columns is None
    assert rejected == []
    assert records == ['{"a":1,"b":1.5,"c":100.0,"d":[{"e":null}]}', '{"f":"é"}']


def test_array_rejects_non_objects_and_nul_at_their_line() -> None:
    data = b'[{"a":1}, 2, "x",\n [{"b":1}],\n\n null, {"c":"\\u0000"},\r\n {"d":true}]'
    records, rejected, _ = parse_everywhere(ARRAY, data)
    assert records == ['{"a":1}', '{"d":true}']
    assert rejected == [
        Rejected(1, "not a JSON object", "2"),
        Rejected(1, "not a JSON object", '"x"'),
        Rejected(2, "not a JSON object", '[{"b":1}]'),
        Rejected(4, "not a JSON object", "null"),
        Rejected(4, "NUL character", '{"c":"\\u0000"}'),
    ]


def test_array_line_numbers_are_where_elements_start() -> None:
    data = b'\xef\xbb\xbf[\n  {\n    "a": 1\n  },\n  [\n    2\n  ],\n  {"b": [\n"x"]}, 3\n]\n'
    records, rejected, _ = parse_everywhere(ARRAY, data)
    assert records == ['{"a":1}', '{"b":["x"]}']
    assert [(r.line, r.raw) for r in rejected] == [(5, "[\n    2\n  ]"), (9, "3")]


def test_array_keeps_big_integers_exactly() -> None:
    data = (
        b'[{"big": 12345678901234567890123, "neg": -99999999999999999999, "u64": '
        b'18446744073709551615, "f": 1.5, "s": "12345678901234567890123"},\n'
        b'{"nested": [{"n": 100000000000000000000000000001}]}, {"small": 1}]'
    )
    records, rejected, _ = parse_everywhere(ARRAY, data)
    assert rejected == []
    assert records == [
        '{"big":12345678901234567890123,"neg":-99999999999999999999,'
        '"u64":18446744073709551615,"f":1.5,"s":"12345678901234567890123"}',
        '{"nested":[{"n":100000000000000000000000000001}]}',
        '{"small":1}',
    ]
    assert json.loads(records[0])["big"] == 12345678901234567890123


def test_array_valid_elements_orjson_cannot_read_are_rejected_alone() -> None:
    data = b'[{"a": "\\ud800"}, {"b": 1e400}, {"c": 1}]'
    records, rejected, _ = parse_everywhere(ARRAY, data)
    assert records == ['{"c":1}']
    assert [(r.line, r.reason.split(":")[0], r.raw) for r in rejected] == [
        (1, "cannot be read", '{"a": "\\ud800"}'),
        (1, "cannot be read", '{"b": 1e400}'),
    ]


def test_array_brackets_and_quotes_inside_strings_in_any_chunking() -> None:
    rng = random.Random(9)
    pieces = ["}", "]", "{", "[", '"', "\\", ",", "é", "a", "\n"]
    values: list[Any] = []
    for i in range(300):
        text = "".join(rng.choices(pieces, k=rng.randint(0, 12)))
        nested = {"s": text, "l": [text, {"t": [i]}], "o": {}}
        values.append(rng.choice([{"i": i, "s": text}, nested, [text], text, i]))
    data = orjson.dumps(values) if rng.random() < 0.5 else orjson.dumps(values, option=2)
    records, rejected, _ = parse_everywhere(ARRAY, data)
    assert objects(records) == [v for v in values if type(v) is dict]
    assert len(rejected) == sum(1 for v in values if type(v) is not dict)


def test_an_empty_array() -> None:
    assert parse_everywhere(ARRAY, b"[ ]") == ([], [], None)


@pytest.mark.parametrize(
    ("data", "reason", "at"),
    [
        (b'[{"a":1},{"b":2} x]', "expected ',' or ']' after an element", 18),
        (b'[{"a":1}] {"b":2}', "unexpected content after the array", 11),
        (b'[{"a":1},,{"b":2}]', "expected a value", 10),
        (b'[{"a":1},]', "expected a value", 10),
        (b'[{"a":1},{"b":2}', "the file ends inside the array", 16),
        (b'[{"a":1},{"b":"x', "the file ends inside the array", 16),
        (b'[{"a":1},12', "the file ends inside the array", 11),
        (b'\xef\xbb\xbf[{"a":\xff}]', "invalid UTF-8", 10),
        (b'[{"a": "\xc3\xa9", "b": x}]', "unexpected character", 19),
        (b'[{"a":1}, {"b" 2}]', "expected ':' after key", 16),
        (b"[1, 2, tru]", "incomplete value", 11),
        (b"[1, 2, trux]", "invalid literal", 8),
        (b'{"a":1}', "expected '['", 1),
        (b"  ", "no content", 0),
    ],
)
def test_array_syntax_errors(data: bytes, reason: str, at: int) -> None:
    message = invalid(ARRAY, data)
    assert message.startswith("invalid JSON array: ")
    assert reason in message
    assert message.endswith(f" near byte {at}")


def test_array_error_position_far_into_the_file() -> None:
    good = b'{"id": 12345, "name": "abcdefghij"}, '
    data = b"[" + good * 5000 + b'{"id": tru}]'
    bad = data.index(b"tru}") + 1  # 1-based: where the literal starts
    assert invalid(ARRAY, data).endswith(f" near byte {bad}")


def test_array_over_several_blocks_in_any_chunking() -> None:
    rng = random.Random(5)
    values = [{"i": i, "s": "é" * rng.randint(0, 40), "f": rng.random()} for i in range(3000)]
    records, rejected, _ = parse_everywhere(ARRAY, orjson.dumps(values))
    assert objects(records) == values
    assert rejected == []


# Whatever the format


def test_feeding_after_finish_is_an_error() -> None:
    parser = RecordParser(CSV)
    parser.finish()
    with pytest.raises(RuntimeError):
        parser.feed(b"a\n")
    with pytest.raises(RuntimeError):
        parser.finish()


@pytest.mark.parametrize("sniffed", [CSV, NDJSON, ARRAY])
def test_a_file_of_just_a_partial_bom(sniffed: Sniffed) -> None:
    parser = RecordParser(sniffed)
    assert parser.feed(b"\xef") == ([], [])
    assert parser.feed(b"\xbb") == ([], [])
    if sniffed is not NDJSON:  # a CSV header or an array start that cannot be read
        with pytest.raises(InvalidContent):
            parser.finish()
    else:
        _, rejected = parser.finish()
        assert [r.reason for r in rejected] == ["invalid UTF-8"]
