"""The SQL that selects and formats an export's records, so Postgres does the formatting.

Field names reach the SQL only as bound parameters (asyncpg quotes them), never as identifiers.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson

from datatasks.core.errors import JobFailed
from datatasks.datasets import partitions
from datatasks.exports.masking import Rule, formula_safe, masked_jsonb, masked_text
from datatasks.exports.schemas import ExportRequest
from datatasks.models import DatasetSource, JobStatus


@dataclass
class Select:
    """A SELECT over one dataset's partition with the request's row filters; `args` are its
    bound parameters, the same for every dataset an export reads."""

    args: list[Any] = field(default_factory=list)
    where: list[str] = field(default_factory=list)

    def bind(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"

    def text(self, value: str) -> str:
        """A bound text parameter, typed: `data->$1` alone is ambiguous to Postgres."""
        return f"{self.bind(value)}::text"

    def sql(self, columns: str, dataset_id: uuid.UUID) -> str:
        """The dataset's records in their order (its primary key's)."""
        return (
            f"SELECT {columns} FROM {partitions.table(dataset_id)} "  # noqa: S608
            f"WHERE {self.condition()} ORDER BY id"
        )

    def condition(self) -> str:
        return " AND ".join(self.where) or "TRUE"


def filtered(params: ExportRequest) -> Select:
    """The row filters (the dataset filters choose partitions: see `snapshot`)."""
    select = Select()
    if params.created_from is not None:
        select.where.append(f"created_at >= {select.bind(params.created_from)}")
    if params.created_to is not None:
        select.where.append(f"created_at < {select.bind(params.created_to)}")
    return select


def _datasets(params: ExportRequest) -> Select:
    """The request's dataset filters, over `datasets d`: active datasets only."""
    datasets = Select(where=["d.state = 'active'"])
    if params.dataset_id is not None:
        datasets.where.append(f"d.id = {datasets.bind(params.dataset_id)}")
    if params.record_type is not None:
        datasets.where.append(f"d.record_type = {datasets.bind(params.record_type)}")
    return datasets


@dataclass(frozen=True)
class Snapshot:
    """The datasets an export reads, in the order it reads them (oldest first), with their
    rows, and those it leaves out as incomplete."""

    # None: a time filter takes part of the dataset, and how much is not counted.
    rows: dict[uuid.UUID, int | None]
    skipped: list[uuid.UUID]
    total: int  # exact without a time filter, else an upper bound


async def snapshot(conn: asyncpg.Connection, params: ExportRequest) -> Snapshot:
    """Which matching datasets are complete (the job that made them completed): those are read,
    unless the request includes incomplete ones. A named dataset that is not complete, or is
    being erased, fails the export rather than reading it half-made."""
    datasets = _datasets(params)
    found = await conn.fetch(
        "SELECT d.id, d.row_count, d.job_id, j.status FROM datasets d "  # noqa: S608
        f"LEFT JOIN jobs j ON j.id = d.job_id WHERE {datasets.condition()} "
        "ORDER BY d.created_at, d.id",
        *datasets.args,
    )
    if params.dataset_id is not None and not found:
        raise JobFailed(f"dataset {params.dataset_id} is being erased, or is gone")
    complete = [r for r in found if r["status"] in (None, JobStatus.completed)]
    if params.include_incomplete or len(complete) == len(found):
        read, skipped = found, []
    else:
        if params.dataset_id is not None:
            (row,) = found
            raise JobFailed(
                f"dataset {row['id']} is not complete: the job that makes it ({row['job_id']}) "
                f"is {row['status']}; export it once that job has completed, or ask for "
                "include_incomplete"
            )
        read, skipped = complete, [r["id"] for r in found if r not in complete]
    counted = params.created_from is None and params.created_to is None
    rows = {r["id"]: r["row_count"] if counted else None for r in read}
    return Snapshot(rows, skipped, sum(r["row_count"] for r in read))


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-][0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$")


def csv_header(
    fields: list[str], *, formula_escape: bool, delimiter: str = ",", line_ending: str = "\n"
) -> bytes:
    """The header row, quoted like the rows (names may hold anything, even CR) and escaped
    like text cells: names can come from an uploaded file's content. No fields, no header:
    an empty file is the one CSV readers take for empty."""
    if not fields:
        return b""
    cells = []
    for name in fields:
        if formula_escape and name.startswith(FORMULA_START) and not _NUMBER.match(name):
            name = "'" + name
        cells.append('"' + name.replace('"', '""') + '"')
    return (delimiter.join(cells) + line_ending).encode()


# Generation types whose values never open a formula, so their cells skip the escape (it costs
# a fifth of a CSV export's time): numbers and booleans (a JSON number is data even when
# negative), and text made of digits, hex, ISO dates or the word lists, which start with a
# letter or digit. Text a client chose (string, enum, constant, an uploaded column) and phone
# numbers ("+1-555-...") are escaped. tests/exports/test_query.py holds the generator to this.
FORMULA_SAFE_TYPES = frozenset(
    {
        "uuid", "integer", "float", "boolean", "sequence", "first_name", "last_name",
        "full_name", "gender", "username", "email", "company", "company_domain", "work_email",
        "street_address", "city", "region", "country", "country_code", "postcode", "latitude",
        "longitude", "timezone", "date", "datetime", "ip_address", "url", "sentence",
        "paragraph", "hex_color", "credit_card_number", "credit_card_cvv",
        "credit_card_expiry", "iban", "currency_code", "mac_address", "ipv6", "port",
        "domain_name", "http_method", "http_status", "file_extension", "mime_type", "isbn",
        "ean13", "semver", "slug", "word", "epoch", "time", "md5", "sha256", "ulid",
        "language_code",
    }
)  # fmt: skip


def csv_columns(select: Select, columns: Columns, *, formula_escape: bool) -> str:
    """One text column per field: strings as they are, numbers and booleans as JSON writes
    them, nested values as JSON text, null and missing as empty cells."""
    cells = []
    for name in columns.fields:
        kind = columns.types.get(name)
        if (rule := columns.mask.get(name)) is not None:
            # A masked cell is text the rule made: only a fake phone or a kept prefix can
            # start like a formula, and those get the ' whatever follows.
            text = f"({masked_text(select, name, rule, kind, columns.mask_key)})"
            if formula_escape and not formula_safe(rule, kind):
                text = (
                    f"CASE WHEN ascii({text}) IN (61, 43, 45, 64, 9, 13) "
                    f"THEN '''' || {text} ELSE {text} END"
                )
            cells.append(text)
            continue
        key = select.text(name)
        text = f"(data->>{key})"
        if formula_escape and kind not in FORMULA_SAFE_TYPES:
            # OWASP: a text cell a spreadsheet would run as a formula (first character = + - @
            # tab or CR) gets a leading '. Numbers are data, not formulas: the JSON number -5,
            # and text that is just a signed number ("-5" from an uploaded CSV), stay as they
            # are. The cheap test on the first character comes first; the type and the pattern
            # are looked at only for + and -.
            # Nested, so the common case (no such first character) extracts the value twice,
            # not three times: this runs for every cell.
            text = (
                f"CASE WHEN ascii({text}) IN (61, 43, 45, 64, 9, 13) THEN "
                f"CASE WHEN ascii({text}) IN (43, 45) AND (jsonb_typeof(data->{key}) <> 'string' "
                f"OR {text} ~ '{_NUMBER.pattern}') THEN {text} ELSE '''' || {text} END "
                f"ELSE {text} END"
            )
        cells.append(text)
    return ", ".join(cells)


# Integers a double holds exactly: JavaScript's Number.MAX_SAFE_INTEGER.
MAX_SAFE_INTEGER = 2**53 - 1


def _safe_number(value: str) -> str:
    """`value` (a jsonb expression), or, for an integer beyond ±MAX_SAFE_INTEGER, its digits as
    a JSON string."""
    return (
        f"CASE WHEN jsonb_typeof({value}) = 'number' AND ({value})::text !~ '[.eE]' "
        f"AND abs(({value})::text::numeric) > {MAX_SAFE_INTEGER} "
        f"THEN to_jsonb(({value})::text) ELSE {value} END"
    )


# How a JSON export writes a value stored as text whose column has one of these types.
_CASTS = {"integer": "numeric", "float": "numeric", "boolean": "boolean"}


def _typed(value: str, kind: str | None) -> str:
    """`value` (jsonb) as its column's type when it is stored as text (an uploaded CSV's)."""
    cast = _CASTS.get(kind or "")
    if cast is None:
        return value
    return (
        f"CASE WHEN jsonb_typeof({value}) = 'string' "
        f"THEN to_jsonb(({value} #>> '{{}}')::{cast}) ELSE {value} END"
    )


def json_object_column(
    select: Select,
    fields: list[str] | None,
    *,
    big_int_as_string: bool = False,
    types: dict[str, str] | None = None,
    mask: Mapping[str, Rule] | None = None,
    mask_key: bytes = b"",
) -> str:
    """One column holding each record as a JSON object.

    Without a projection (`fields` None) that is the stored record itself, keys in jsonb's
    order: nearly twice as fast as rebuilding it. With one, the object is built by
    concatenation with keys in `fields` order (json_build_object takes at most 50 pairs, and
    jsonb_build_object reorders keys).
    """
    if fields is None:
        if big_int_as_string:
            # Rebuilt, top-level values converted (jsonb's key order, as stored).
            value = _safe_number("v")
            rebuilt = f"SELECT jsonb_object_agg(k, {value}) FROM jsonb_each(data) e(k, v)"  # noqa: S608
            return f"coalesce(({rebuilt})::text, '{{}}')"
        return "data::text"
    parts = []
    for index, name in enumerate(fields):
        prefix = ("{" if index == 0 else ",") + orjson.dumps(name).decode() + ":"
        parts.append(select.text(prefix))
        kind = (types or {}).get(name)
        if mask and (rule := mask.get(name)) is not None:
            value = f"({masked_jsonb(select, name, rule, kind, mask_key)})"
        else:
            value = _typed(f"data->{select.text(name)}", kind)
        if big_int_as_string:
            value = _safe_number(value)
        parts.append(f"coalesce(({value})::text, 'null')")
    return " || ".join(parts) + " || '}'" if parts else "'{}'"


@dataclass(frozen=True)
class Columns:
    """The export's fields in order, and the generation type of those whose type is known
    (from the datasets' schemas, where every dataset having the field agrees)."""

    fields: list[str]
    types: dict[str, str]
    # Some matching dataset was uploaded: its schema has the file's column order, which jsonb
    # does not keep, and a CSV's typed values are stored as the file had them (text). A JSON
    # export then builds each object, in that order, values as their types (see _typed).
    in_file_order: bool = False
    # The request's masks, by field, and the key of the keyed ones.
    mask: Mapping[str, Rule] = field(default_factory=dict)
    mask_key: bytes = b""


async def resolve_columns(conn: asyncpg.Connection, params: ExportRequest) -> Columns:
    """The requested fields, or else the union of the matching datasets' schemas in order
    (falling back to the keys actually present when a dataset has no schema)."""
    datasets = _datasets(params)
    rows = await conn.fetch(
        f"SELECT d.schema::text, d.source FROM datasets d WHERE {datasets.condition()} "  # noqa: S608
        "ORDER BY d.created_at, d.id",
        *datasets.args,
    )
    described = [(orjson.loads(r[0]), r[1]) for r in rows if r[0] is not None]
    schemas: list[list[dict[str, Any]]] = [schema for schema, _ in described]
    in_file_order = any(source == DatasetSource.uploaded for _, source in described)
    types: dict[str, str] = {}
    conflicting: set[str] = set()
    for schema in schemas:
        for spec in schema:
            if types.setdefault(spec["name"], spec["type"]) != spec["type"]:
                conflicting.add(spec["name"])
    for name in conflicting:
        del types[name]
    if len(schemas) < len(rows):
        # Some matching datasets have no schema: their values may be anything, so no column
        # can be typed with confidence.
        types = {}
    if params.fields is not None:
        fields = list(params.fields)
    elif len(schemas) < len(rows):
        fields = await _keys_present(conn, params)
    else:
        fields = list(dict.fromkeys(spec["name"] for schema in schemas for spec in schema))
    return Columns(fields, types, in_file_order=in_file_order)


async def _keys_present(conn: asyncpg.Connection, params: ExportRequest) -> list[str]:
    """The keys of the matching records (a short query on the parent table: rare, for
    datasets made before schemas were recorded)."""
    datasets = _datasets(params)
    where = datasets.condition()
    if params.created_from is not None:
        where += f" AND r.created_at >= {datasets.bind(params.created_from)}"
    if params.created_to is not None:
        where += f" AND r.created_at < {datasets.bind(params.created_to)}"
    rows = await conn.fetch(
        "SELECT DISTINCT jsonb_object_keys(r.data) AS k FROM records r "  # noqa: S608
        f"JOIN datasets d ON d.id = r.dataset_id WHERE {where} ORDER BY k",
        *datasets.args,
    )
    return [r[0] for r in rows]
