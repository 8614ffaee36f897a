"""Receiving an upload: the multipart body streamed straight into storage, checked on the way."""

from __future__ import annotations

import contextlib
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

import orjson
from streaming_form_data.targets import BaseTarget, ValueTarget
from streaming_form_data.validators import MaxSizeValidator

from datatasks.core.errors import InvalidParameters, PayloadTooLarge
from datatasks.storage import ObjectWriter
from datatasks.uploads.encoding import Found, find, head_as_utf8
from datatasks.uploads.preamble import LineBlanker
from datatasks.uploads.sniff import (
    COLUMN_TYPES,
    SPACES,
    EmptyContent,
    Ragged,
    Sniffed,
    UnsupportedContent,
    UploadFormat,
    header_columns,
    sniff,
)

# Enough to tell CSV from JSON from binary, and to sniff a CSV delimiter.
HEAD_BYTES = 64 * 1024
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]+")


class FileTarget(BaseTarget):  # type: ignore[misc]
    """The `file` part: written to storage as it arrives, with its size and sha256 computed on
    the way; refused (413) the moment it passes the cap. Its first bytes are kept to find its
    encoding and format once the whole form is in (an `encoding` field may follow the file)."""

    def __init__(self, writer: ObjectWriter, max_bytes: int) -> None:
        super().__init__()
        self._writer = writer
        # Hashed inline: measured faster here than a thread hop per MiB (the socket, not the
        # CPU, paces an upload).
        self._hash = hashlib.sha256()
        self._max_bytes = max_bytes
        self.head = bytearray()
        self.size = 0
        self.parts = 0
        self._text = b""  # the head as UTF-8, as sniffed

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    async def on_start_async(self) -> None:
        self.parts += 1
        if self.parts > 1:
            raise InvalidParameters(["body", "file"], "send exactly one file part")

    async def on_data_received_async(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self._max_bytes:
            raise PayloadTooLarge(f"the file is larger than {self._max_bytes} bytes")
        if len(self.head) < HEAD_BYTES:
            self.head += chunk[: HEAD_BYTES - len(self.head)]
        self._hash.update(chunk)
        await self._writer.write(chunk)

    def sniff(self, encoding: str | None, blanker: LineBlanker) -> tuple[Found, Sniffed]:
        """The file's encoding (the declared one, checked, or found) and format, judged by
        its head (all of it, for a file shorter than the head), without the lines `blanker`
        blanks (a preamble, comments)."""
        complete = self.size <= HEAD_BYTES
        head = bytes(self.head)
        found = find(head, encoding, complete=complete)
        text = head_as_utf8(head, found.encoding, complete=complete)
        if blanker.active:
            # JSON is told apart as it is (CSV options do not apply to it); a CSV's delimiter
            # is judged without its preamble and comments.
            with contextlib.suppress(UnsupportedContent, EmptyContent):
                if (whole := sniff(text, complete=complete)).format is not UploadFormat.csv:
                    return found, whole
            text = blanker.convert(text) + (blanker.finish() if complete else b"")
        self._text = text
        return found, sniff(text, complete=complete)

    def columns(self, delimiter: str, quotechar: str, *, header: bool) -> list[str] | None:
        """A CSV's column names, read from its head as `sniff` left it (after `sniff`)."""
        return header_columns(
            self._text, delimiter, quotechar, header=header, complete=self.size <= HEAD_BYTES
        )

    @property
    def filename(self) -> str | None:
        """The client's filename, only as sanitized metadata: base name, no control chars."""
        raw = self.multipart_filename
        if not raw:
            return None
        name = _UNSAFE.sub("_", raw.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")
        return name[:255] or None


FORM_FIELD_BYTES = 1024
# A schema names every column it types: room for some hundreds.
SCHEMA_BYTES = 64 * 1024
# Fields allowed more than FORM_FIELD_BYTES.
_FIELD_BYTES = {"schema": SCHEMA_BYTES, "callback_url": 2_048 * 4}
MAX_SKIP_ROWS = 10_000
MAX_NULL_VALUES = 32
MAX_NULL_VALUE = 64


class _SmallValue(ValueTarget):  # type: ignore[misc]
    """A form field given once: a repeat would be appended to the first (`ab` + `cd`)."""

    def __init__(self, name: str) -> None:
        super().__init__(validator=MaxSizeValidator(_FIELD_BYTES.get(name, FORM_FIELD_BYTES)))
        self._name = name
        self._parts = 0

    async def on_start_async(self) -> None:
        self._parts += 1
        if self._parts > 1:
            raise InvalidParameters(["body", self._name], "give this field once")


# The small form fields an upload takes beside its `file`: what the dataset is, then how to
# read the file (the encoding, and the CSV options).
FORM_FIELDS = (
    "record_type", "dataset_name", "encoding", "delimiter", "quotechar", "header", "ragged",
    "skip_rows", "comment", "null_values", "schema", "callback_url",
)  # fmt: skip
MAX_COMMENT = 8


@dataclass
class FormFields:
    """The small form fields beside the file, capped so a client cannot stream megabytes in
    (streaming_form_data raises its ValidationError past the cap)."""

    targets: dict[str, ValueTarget] = field(
        default_factory=lambda: {name: _SmallValue(name) for name in FORM_FIELDS}
    )

    def csv_options(self) -> dict[str, Any]:
        """The CSV options given, checked (422 naming the field otherwise)."""
        options: dict[str, Any] = {}
        for name in ("delimiter", "quotechar"):
            if (value := self.value(name)) is not None:
                if name == "delimiter" and value == SPACES:
                    options[name] = value
                    continue
                if len(value) != 1 or value in "\r\n\x00":
                    raise InvalidParameters(
                        ["body", name],
                        "one character, not a line break or NUL"
                        + (f", or `{SPACES}` (runs of spaces)" if name == "delimiter" else ""),
                    )
                options[name] = value
        if options.get("delimiter", ",") == options.get("quotechar", '"'):
            raise InvalidParameters(["body", "quotechar"], "must differ from the delimiter")
        if (header := self.value("header")) is not None:
            if header not in ("true", "false"):
                raise InvalidParameters(["body", "header"], "true or false")
            options["header"] = header == "true"
        if (skip := self.value("skip_rows")) is not None:
            if not skip.isdigit() or not 0 <= int(skip) <= MAX_SKIP_ROWS:
                raise InvalidParameters(["body", "skip_rows"], f"0 to {MAX_SKIP_ROWS}")
            options["skip_rows"] = int(skip)
        if (comment := self.value("comment")) is not None:
            if not 1 <= len(comment) <= MAX_COMMENT or any(c in comment for c in "\r\n\x00"):
                raise InvalidParameters(
                    ["body", "comment"], f"1 to {MAX_COMMENT} characters, no line break or NUL"
                )
            options["comment"] = comment
        if (ragged := self.value("ragged")) is not None:
            try:
                options["ragged"] = Ragged(ragged)
            except ValueError:
                raise InvalidParameters(["body", "ragged"], f"one of {', '.join(Ragged)}") from None
        if (nulls := self.value("null_values")) is not None:
            options["null_values"] = _null_values(nulls)
        if (schema := self.value("schema")) is not None:
            options["column_types"] = _column_types(schema)
        return options

    def value(self, name: str) -> str | None:
        target = self.targets[name]
        if not target.value:
            return None
        try:
            return str(target.value.decode("utf-8"))
        except UnicodeDecodeError:
            raise InvalidParameters(["body", name], "must be UTF-8 text") from None


def _null_values(value: str) -> list[str]:
    """The `null_values` field: a JSON array of strings (the cells read as null)."""
    try:
        tokens = orjson.loads(value)
    except orjson.JSONDecodeError:
        tokens = None
    if (
        not isinstance(tokens, list)
        or len(tokens) > MAX_NULL_VALUES
        or not all(isinstance(t, str) and len(t) <= MAX_NULL_VALUE for t in tokens)
    ):
        raise InvalidParameters(
            ["body", "null_values"],
            f"a JSON array of at most {MAX_NULL_VALUES} strings of at most {MAX_NULL_VALUE} "
            'characters, such as ["", "NA", "-"]; [] for no null values',
        )
    return sorted(set(tokens))


def _column_types(value: str) -> dict[str, str]:
    """The `schema` field: a JSON object of column name to type."""
    try:
        schema = orjson.loads(value)
    except orjson.JSONDecodeError:
        schema = None
    if not isinstance(schema, dict) or not schema:
        raise InvalidParameters(
            ["body", "schema"],
            'a JSON object of column name to type, such as {"age": "integer"}; the types: '
            + ", ".join(COLUMN_TYPES),
        )
    for name, kind in schema.items():
        if kind not in COLUMN_TYPES:
            raise InvalidParameters(
                ["body", "schema", name],
                f"{kind!r} is not a type; one of {', '.join(COLUMN_TYPES)}",
            )
    return schema
