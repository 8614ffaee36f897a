"""Content sniffing: every outcome, decided from the bytes alone."""

from __future__ import annotations

import gzip
import random

import pytest

from datatasks.uploads.parser import RecordParser
from datatasks.uploads.sniff import (
    EXPECTED,
    EmptyContent,
    Sniffed,
    UnsupportedContent,
    UploadFormat,
    sniff,
)

CSV = UploadFormat.csv
HEAD = 64 * 1024


def unsupported(head: bytes, *, complete: bool = True) -> str:
    with pytest.raises(UnsupportedContent) as info:
        sniff(head, complete=complete)
    message = str(info.value)
    assert message.startswith(EXPECTED)  # always says what was expected
    return message


@pytest.mark.parametrize(
    ("head", "delimiter"),
    [
        (b"id,name\n1,a\n2,b\n", ","),
        (b"id;name\n1;a\n2;b\n", ";"),
        (b"id\tname\n1\ta\n2\tb\n", "\t"),
        (b"id|name\n1|a\n2|b\n", "|"),
        (b"id\r\n1\r\n2\r\n", ","),  # a single column: no delimiter at all
        (b"name\n", ","),  # a header alone
        (b"name;price;qty\nx;1,5;2\ny;2,25;1\n", ";"),  # decimal commas
        (b"a,b;c\n1,2;3\n", ","),  # both consistent: `,` preferred
        (b'"a,1";b\n"x,2";y\n', ";"),  # a delimiter inside quotes does not count
        (b'id,text\n1,"two\nlines"\n2,x\n', ","),
        (b"a,b\n1,2\n3,4,5\n6,7\n", ","),  # one bad row does not make it something else
        (b"\xef\xbb\xbfid;name\n1;x\n", ";"),  # BOM
        ("név,város\nÁrpád,Pécs\n".encode(), ","),
        (b"42\n43\n", ","),  # not one JSON value: a single-column CSV
        (b'"name"\n"bob"\n', ","),
    ],
)
def test_csv_and_its_delimiter(head: bytes, delimiter: str) -> None:
    assert sniff(head, complete=True) == Sniffed(CSV, delimiter)


def test_csv_delimiter_from_an_incomplete_head_ignores_the_cut_last_line() -> None:
    head = b"a;b;c\n" + b"1;2;3\n" * 5 + b"4;5,6,7,8,9,10"
    assert sniff(head, complete=False) == Sniffed(CSV, ";")


def test_csv_cut_inside_a_multiline_quoted_field() -> None:
    head = b'a,b\n1,2\n3,"long\n' + b"x" * 100
    assert sniff(head, complete=False) == Sniffed(CSV, ",")


@pytest.mark.parametrize(
    "head",
    [b'[{"a":1}]', b'  \n[ \n {"a": [1, 2]}, {"b": 2}]\n', b'\xef\xbb\xbf[{"a":1}]', b"[{}]"],
)
def test_json_array_of_objects(head: bytes) -> None:
    assert sniff(head, complete=True) == Sniffed(UploadFormat.json, None)


def test_incomplete_json_array_is_judged_by_its_first_element() -> None:
    assert sniff(b'[{"a": "' + b"x" * 100, complete=False).format is UploadFormat.json
    assert sniff(b"[\n   ", complete=False).format is UploadFormat.json
    assert "not an array of objects" in unsupported(b"[1, 2, 3, 4", complete=False)


@pytest.mark.parametrize("head", [b"[1,2]", b'["a"]', b"[[{}]]", b"[null]", b"[true]"])
def test_json_array_of_something_else(head: bytes) -> None:
    assert "a JSON value that is not an array of objects" in unsupported(head)


@pytest.mark.parametrize("head", [b'[{"a":1},', b'[{"a":1}] x', b'{"a":1'])
def test_invalid_json(head: bytes) -> None:
    assert "invalid JSON" in unsupported(head)


@pytest.mark.parametrize(
    "head",
    [b'{"a":1}\n{"a":2}\n', b'{"a":1}', b'{"a":1}\r\n[1]\n', b'\xef\xbb\xbf{"a":{"b":[1]}}\n'],
)
def test_ndjson(head: bytes) -> None:
    assert sniff(head, complete=True) == Sniffed(UploadFormat.ndjson, None)


def test_ndjson_with_a_first_line_longer_than_the_head() -> None:
    head = b'{"a": "' + b"x" * (HEAD - 7)
    assert sniff(head, complete=False).format is UploadFormat.ndjson


@pytest.mark.parametrize("complete", [True, False])
def test_a_single_object_over_several_lines_is_not_ndjson(complete: bool) -> None:
    head = b'{\n  "a": 1,\n  "b": 2\n}\n'
    message = unsupported(head if complete else head[:-3], complete=complete)
    assert "a JSON value that is not an array of objects" in message
    assert "not NDJSON" in message


@pytest.mark.parametrize("head", [b"42", b'"x"', b"true", b"null", b"-1.5e3\n", b'  "a b" '])
def test_json_scalars(head: bytes) -> None:
    assert "a JSON value that is not an array of objects" in unsupported(head)


@pytest.mark.parametrize(
    "head",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        gzip.compress(b"id,name\n1,a\n"),
        random.Random(7).randbytes(4096),
        b"id,name\n1,\x00\n",  # a NUL in otherwise good text
        b"id,name\n1,\xff\xfe\n",
        b"PK\x03\x04\x14\x00\x00\x00",  # zip / xlsx
    ],
)
def test_binary(head: bytes) -> None:
    assert "binary content" in unsupported(head)
    assert "binary content" in unsupported(head, complete=False)


def test_a_character_cut_at_the_end_of_an_incomplete_head() -> None:
    head = ("id,name\n" + "1,é\n" * 10).encode() + "é".encode()[:1]
    assert sniff(head, complete=False) == Sniffed(CSV, ",")
    # The same bytes as a whole file end in a broken character.
    assert "binary content" in unsupported(head, complete=True)
    # Only at the very end: the same cut byte earlier is invalid either way.
    assert "binary content" in unsupported(head + b"\n2,b\n", complete=False)


def test_a_four_byte_character_cut_at_the_end() -> None:
    head = b'[{"emoji": "' + "🎉".encode()[:3]
    assert sniff(head, complete=False).format is UploadFormat.json


@pytest.mark.parametrize("head", [b"", b"   ", b"\n\r\n\t ", b"\xef\xbb\xbf", b"\xef\xbb\xbf \n"])
@pytest.mark.parametrize("complete", [True, False])
def test_empty(head: bytes, complete: bool) -> None:
    with pytest.raises(EmptyContent):
        sniff(head, complete=complete)


@pytest.mark.parametrize("head", [b"[]", b" [ ] \n", b"\xef\xbb\xbf[\n]"])
def test_an_empty_array_is_empty(head: bytes) -> None:
    with pytest.raises(EmptyContent):
        sniff(head, complete=True)


def test_content_decides_not_a_json_looking_start() -> None:
    # Starts like neither JSON form: CSV, even if a client called it .json.
    assert sniff(b"a,b\n1,2\n", complete=True).format is CSV


@pytest.mark.parametrize(
    ("head", "delimiter"),
    [
        (b"full_name\nSmith, John\nDoe, Jane\nBob\n", ";"),
        (b"name\nSmith, John; Jr.\nDoe\n", "\t"),
        (b"name\na,b\nc;d\ne\tf\ng|h\n", ","),  # every candidate is in a value: `,` still
        (b'name\n"Smith, John"\nDoe\n', ","),  # within quotes it does not count
    ],
)
def test_a_single_column_gets_a_delimiter_none_of_its_values_holds(
    head: bytes, delimiter: str
) -> None:
    assert sniff(head, complete=True) == Sniffed(CSV, delimiter)


@pytest.mark.parametrize(
    ("head", "delimiter"),
    [
        (b"[Date],[Value]\n2020,1\n", ","),
        (b"{id},name\n1,a\n", ","),
        (b"[a];[b];[c]\n1;2;3\n4;5;6\n", ";"),
        (b"{x}\t{y}\r\n1\t2\r\n", "\t"),
    ],
)
def test_a_csv_header_may_start_with_a_bracket(head: bytes, delimiter: str) -> None:
    assert sniff(head, complete=True) == Sniffed(CSV, delimiter)
    big_head = head + head[head.index(b"\n") + 1 :] * 5000  # the head of a large file
    assert sniff(big_head[:HEAD], complete=False) == Sniffed(CSV, delimiter)


@pytest.mark.parametrize(
    ("head", "reason"),
    [
        (b"[Date]\n2020\n", "invalid JSON"),  # one column: not enough to call it a table
        (b"[Date],[Value]\n", "invalid JSON"),  # no data rows
        (b"[1,2]\n[3,4]\n", "invalid JSON"),  # a header that is a JSON value itself
        (b"{a}\n{b}\n", "invalid JSON"),
        (b'[{"a": 1, "b": 2},\n {"a": 3, "b": 4},\n', "invalid JSON"),  # not a CSV either
        (b'{"a" 1}\n{"b":2}\n', "invalid JSON"),
    ],
)
def test_bracketed_text_that_is_no_table_is_still_refused_as_json(head: bytes, reason: str) -> None:
    assert reason in unsupported(head)


@pytest.mark.parametrize(
    "head", [b"a,b\r1,2\r3,4\r", b"a;b\r1;2\r", b"[Date],[Value]\r2020,1\r", b'{"a":1}\r{"a":2}\r']
)
@pytest.mark.parametrize("complete", [True, False])
def test_cr_only_line_endings_are_refused(head: bytes, complete: bool) -> None:
    assert unsupported(head, complete=complete).endswith(
        "CR-only line endings, which are not supported; use LF or CRLF"
    )


@pytest.mark.parametrize(
    ("head", "format"),
    [
        (b'a,"x\ry"\r\n1,2\r\n', UploadFormat.csv),  # a CR within quotes, lines end in CRLF
        (b'"x\ry",b\n', UploadFormat.csv),
        (b"a,b\r", UploadFormat.csv),  # one line
        (b'[\r{"a": 1},\r{"a": 2}\r]\r', UploadFormat.json),  # whitespace to JSON
        (b'{"a": 1}\r', UploadFormat.ndjson),
    ],
)
def test_carriage_returns_that_are_fine(head: bytes, format: UploadFormat) -> None:
    assert sniff(head, complete=True).format is format


def test_one_line_holding_one_object_is_ndjson() -> None:
    # It is valid NDJSON (one object per line, however many lines), and loads as one record.
    for head in (b'{"a": 1}', b'{"a": 1}\n', b'  {"a": 1}\r\n'):
        assert sniff(head, complete=True) == Sniffed(UploadFormat.ndjson)
        parser = RecordParser(Sniffed(UploadFormat.ndjson))
        records, rejected = parser.feed(head)
        more, more_rejected = parser.finish()
        assert (records + more, rejected + more_rejected) == (['{"a": 1}'], [])


@pytest.mark.parametrize(
    "head",
    [
        b'[{"big": 12345678901234567890123}]',
        b'[{"a": "\\ud800"}, {"b": 1}]',  # valid JSON orjson does not read: the parser rejects it
        b'[{"b": 1e400}]',
    ],
)
def test_json_arrays_orjson_alone_would_refuse(head: bytes) -> None:
    assert sniff(head, complete=True) == Sniffed(UploadFormat.json)
