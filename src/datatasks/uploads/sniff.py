"""Content sniffing: decide from an upload's first bytes whether it is CSV, a JSON array or NDJSON.

Only the content counts, never the filename or the client's Content-Type: both are easy to get
wrong, and the ingest job has to parse what is really there.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

import orjson

BOM = b"\xef\xbb\xbf"
EXPECTED = (
    "expected CSV with a header row, a JSON array of objects, or NDJSON (one object per line)"
)
# The delimiter of a file whose columns are separated by runs of spaces (aligned columns).
SPACES = "spaces"
# Candidate CSV delimiters, in order of preference when several fit equally well.
DELIMITERS = (",", ";", "\t", "|", SPACES)
# The share of sampled rows that must have the header's width for runs of spaces to be taken
# as the delimiter: spaces also separate the words of text.
SPACES_CONSISTENCY = 0.9
# How many CSV records of the head are enough to judge a delimiter by.
SAMPLE_RECORDS = 50

_JSON_WHITESPACE = " \t\r\n"
_TRAILING_SPACES = re.compile(r" +(?=\r?\n|$)")
CR_ONLY = "CR-only line endings, which are not supported; use LF or CRLF"


class UploadFormat(StrEnum):
    """The formats an upload may have."""

    csv = "csv"
    json = "json"
    ndjson = "ndjson"


# The cells read as null unless the upload names its own (`null_values`).
NULL_TOKENS = frozenset({"", "NA", "N/A", "null", "NULL", "NaN"})
# The types a client may declare for a CSV column (see uploads/types.py).
ColumnType = Literal[
    "integer", "float", "boolean", "date", "datetime", "naive_datetime", "string"
]  # fmt: skip
COLUMN_TYPES: tuple[str, ...] = ColumnType.__args__  # type: ignore[attr-defined]


class Ragged(StrEnum):
    """What becomes of a CSV row with more or fewer cells than the header: `reject` it; `pad`
    a short one with nulls (a long one is rejected); `truncate` a long one to the header's
    width (and pad a short one)."""

    reject = "reject"
    pad = "pad"
    truncate = "truncate"


@dataclass(frozen=True)
class Sniffed:
    """How to read a file: the format and CSV delimiter the sniffer found (or the client
    declared), and the client's other CSV options."""

    format: UploadFormat
    delimiter: str | None = None
    quotechar: str = '"'
    # False: the first row is data, and the columns are column_1..n.
    header: bool = True
    ragged: Ragged = Ragged.reject
    nulls: frozenset[str] = NULL_TOKENS
    # The types the client declared, by column name.
    declared: tuple[tuple[str, ColumnType], ...] = ()


def reader_options(delimiter: str) -> dict[str, Any]:
    """The csv module's options for `delimiter` (one character, or SPACES)."""
    if delimiter == SPACES:
        return {"delimiter": " ", "skipinitialspace": True}
    return {"delimiter": delimiter}


class EmptyContent(Exception):
    """The file holds nothing to load (empty, whitespace only, or an empty JSON array)."""


class UnsupportedContent(Exception):
    """The file is not in a format we accept; the message says what was expected and found."""

    def __init__(self, found: str) -> None:
        super().__init__(f"{EXPECTED}; found {found}")
        self.found = found


def sniff(head: bytes, *, complete: bool) -> Sniffed:
    """Decide the format of a file from `head`, its first bytes (up to 64 KiB).

    `complete` says whether `head` is the whole file; when it is not, a UTF-8 character cut at
    the end of `head` is allowed and a JSON document is not expected to end within it.
    Raises EmptyContent or UnsupportedContent.
    """
    head = head.removeprefix(BOM)
    if b"\x00" in head:
        raise UnsupportedContent("binary content")
    try:
        # The incremental decoder with final=False tolerates a character cut at the end.
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
    except UnicodeDecodeError:
        raise UnsupportedContent("binary content") from None
    text = text.lstrip()
    if not text:
        raise EmptyContent("the file is empty")
    if text[0] == "[" and _starts_like_json(text):
        return _sniff_array(text, complete)
    if _cr_only(text):
        raise UnsupportedContent(CR_ONLY)
    if text[0] == "{" and _starts_like_json(text):
        return _sniff_object(text, complete)
    if text[0] in "[{":
        # Not the start of an array of objects or of an object, but maybe of a CSV header such
        # as `[Date],[Value]` or `{id},name`: CSV if it reads as a table, refused as JSON if not.
        delimiter = _table_delimiter(text, complete)
        if delimiter is not None:
            return Sniffed(UploadFormat.csv, delimiter)
        if text[0] == "[":
            return _sniff_array(text, complete)  # raises: the first element is no object
        raise UnsupportedContent("invalid JSON (and not one JSON object per line)")
    if complete and _is_json(text):
        raise UnsupportedContent("a JSON value that is not an array of objects")
    delimiter = _sniff_delimiter(text, complete)
    return Sniffed(UploadFormat.csv, delimiter, _sniff_quotechar(text, delimiter, complete))


def _starts_like_json(text: str) -> bool:
    """Whether `text` (starting with `[` or `{`) starts like the JSON we take: an array of
    objects or an empty one, an object (or the head ends before that can be told)."""
    rest = text[1:].lstrip(_JSON_WHITESPACE)
    return not rest or rest[0] in ("{]" if text[0] == "[" else '"}')


def _cr_only(text: str) -> bool:
    """Whether the lines of `text` end with a CR alone (classic Mac OS): the csv module reads
    lines split on LF only, and would find the CRs in the middle of unquoted fields."""
    body = text.rstrip()
    if "\n" in body or "\r" not in body:
        return False
    for delimiter in DELIMITERS:
        try:
            for _ in csv.reader([body], strict=True, **reader_options(delimiter)):
                pass
        except csv.Error as exc:
            if str(exc).startswith("new-line character seen in unquoted field"):
                continue
        return False  # read, or failed for another reason: the CRs are within quotes
    return True


def _is_json(text: str) -> bool:
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return True


def _sniff_array(text: str, complete: bool) -> Sniffed:
    rest = text[1:].lstrip(_JSON_WHITESPACE)
    if rest.startswith("]") and not rest[1:].strip(_JSON_WHITESPACE):
        # `[]` (maybe followed by whitespace beyond the head): nothing to load either way.
        raise EmptyContent("the file is an empty JSON array")
    if complete:
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            # The json module reads some valid JSON that orjson does not (a lone surrogate, a
            # number too large for a float), as the parser does: only such elements are refused.
            try:
                value = json.loads(text, parse_constant=_refuse_constant)
            except (ValueError, RecursionError):
                raise UnsupportedContent(f"invalid JSON ({exc})") from None
        if not isinstance(value, list) or not value or not isinstance(value[0], dict):
            raise UnsupportedContent("a JSON value that is not an array of objects")
        return Sniffed(UploadFormat.json)
    # The head may end before the first element does; only its first character can be judged.
    if rest and rest[0] != "{":
        raise UnsupportedContent("a JSON value that is not an array of objects")
    return Sniffed(UploadFormat.json)


def _refuse_constant(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")


def _sniff_object(text: str, complete: bool) -> Sniffed:
    newline = text.find("\n")
    first_line = text if newline < 0 else text[:newline]
    if newline >= 0 or complete:
        try:
            value = orjson.loads(first_line)
        except orjson.JSONDecodeError:
            value = None
        if isinstance(value, dict):
            return Sniffed(UploadFormat.ndjson)
        if complete and not _is_json(text):
            raise UnsupportedContent("invalid JSON (and not one JSON object per line)")
        raise UnsupportedContent(
            "a JSON value that is not an array of objects "
            "(a single JSON object spanning several lines is not NDJSON)"
        )
    # No newline in an incomplete head: a first line longer than the head. It can only be judged
    # by the parser, which rejects it if it is not an object.
    return Sniffed(UploadFormat.ndjson)


def _sniff_delimiter(text: str, complete: bool) -> str:
    """The delimiter giving the most records with the header's column count (> 1).

    A perfectly consistent candidate wins; ties go to the earlier one in DELIMITERS. A few bad
    rows do not stop a file from being CSV (the ingest job rejects them one by one), but runs
    of spaces must look like aligned columns (see _aligned). With a single column, a delimiter
    found in none of the sampled rows, so that none is split.
    """
    text = _whole_lines(text, complete)
    best: str | None = None
    best_score = -1
    for delimiter in DELIMITERS:
        rows = _sample_rows(text, delimiter, complete)
        if rows is None or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        score = sum(1 for row in rows if len(row) == width)
        if delimiter == SPACES and not _aligned(text, width, score, len(rows)):
            continue
        if score > best_score:
            best, best_score = delimiter, score
    if best is not None:
        return best
    # No candidate splits the header: a single-column CSV, whose values may hold any of them.
    if _sample_rows(text, ",", complete) is None:
        raise UnsupportedContent("text that is not valid CSV")
    for delimiter in DELIMITERS[:-1]:
        rows = _sample_rows(text, delimiter, complete)
        if rows is not None and all(len(row) == 1 for row in rows):
            return delimiter
    return ","


def _sniff_quotechar(text: str, delimiter: str, complete: bool) -> str:
    """`'` when every cell of the header is in single quotes and no double quote is anywhere
    in the sample (`'OBS' 'GPA'`, as some statistics packages write); `"` otherwise."""
    rows = _sample_rows(_whole_lines(text, complete), delimiter, complete)
    if not rows or '"' in text:
        return '"'
    header = rows[0]
    if all(len(cell) >= 2 and cell[0] == cell[-1] == "'" not in cell[1:-1] for cell in header):
        return "'"
    return '"'


def _aligned(text: str, width: int, fitting: int, rows: int) -> bool:
    """Whether rows split by runs of spaces look like columns rather than words of text: nearly
    all of one width, and three columns or more, or runs of two spaces or more (a header
    `full name` over `Alice Smith` is one column of names)."""
    return fitting >= SPACES_CONSISTENCY * rows and (width >= 3 or "  " in text)


def _table_delimiter(text: str, complete: bool) -> str | None:
    """The delimiter with which `text` reads as a table, or None: a header of two columns or
    more that is no JSON value itself, and data rows, most of them as wide as the header."""
    newline = text.find("\n")
    if _is_json(text if newline < 0 else text[:newline]):
        return None
    try:
        delimiter = _sniff_delimiter(text, complete)
    except UnsupportedContent:
        return None
    rows = _sample_rows(_whole_lines(text, complete), delimiter, complete)
    if not rows or len(rows[0]) < 2:
        return None
    width = len(rows[0])
    if 2 * sum(1 for row in rows[1:] if len(row) == width) <= len(rows) - 1:
        return None  # no data rows, or too few of the header's width
    return delimiter


def _whole_lines(text: str, complete: bool) -> str:
    """`text` without its last line if it is probably cut (unless it is all there is)."""
    if not complete:
        cut = text.rfind("\n")
        if cut > 0:
            text = text[: cut + 1]
    return text


def _sample_rows(text: str, delimiter: str, complete: bool) -> list[list[str]] | None:
    """The first non-blank records of `text` read with `delimiter`, or None if unreadable."""
    # Not strict, like the parser: a stray quote is a bad row for the ingest job to reject, not a
    # reason to refuse the whole file.
    if delimiter == SPACES:
        text = _TRAILING_SPACES.sub("", text)
    reader = csv.reader(io.StringIO(text, newline=""), **reader_options(delimiter))
    rows: list[list[str]] = []
    try:
        for row in reader:
            if row:
                rows.append(row)
            if len(rows) > SAMPLE_RECORDS:
                return rows
    except csv.Error:
        return rows or None
    if not complete and len(rows) > 1:
        # The last record may be a quoted multi-line field cut by the head's end.
        rows.pop()
    return rows or None


def header_columns(
    head: bytes, delimiter: str, quotechar: str, *, header: bool, complete: bool
) -> list[str] | None:
    """The column names a CSV's head gives (its first non-blank record), as the ingest job
    makes them (see unique_names), or None if the head holds no whole record."""
    text = _whole_lines(codecs.getincrementaldecoder("utf-8")("replace").decode(head), complete)
    if delimiter == SPACES:
        text = _TRAILING_SPACES.sub("", text)
    reader = csv.reader(
        io.StringIO(text.removeprefix("\ufeff"), newline=""),
        quotechar=quotechar,
        **reader_options(delimiter),
    )
    try:
        first = next((row for row in reader if row), None)
    except csv.Error:
        return None
    if first is None:
        return None
    return unique_names(first) if header else [f"column_{n}" for n in range(1, len(first) + 1)]


def unique_names(names: list[str]) -> list[str]:
    """Column names made non-empty (`column_<n>`) and unique (`name_2`, `name_3`...)."""
    used: set[str] = set()
    unique: list[str] = []
    for n, name in enumerate(names, start=1):
        base = name if name.strip() else f"column_{n}"
        candidate, suffix = base, 2
        while candidate in used:
            candidate, suffix = f"{base}_{suffix}", suffix + 1
        used.add(candidate)
        unique.append(candidate)
    return unique
