"""Parquet exports: a typed schema from the datasets' field types, written in row groups."""

from __future__ import annotations

from contextlib import aclosing
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from datatasks.core.errors import JobFailed
from datatasks.exports.masking import masked_text, masked_type
from datatasks.exports.query import Columns, Select
from datatasks.exports.reader import DatasetReader
from datatasks.storage.hashing import HashingWriter

# Generation types with a natural Arrow type; everything else (and uploaded data) is text.
ARROW_TYPES: dict[str, pa.DataType] = {
    "integer": pa.int64(),
    "sequence": pa.int64(),
    "float": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "datetime": pa.timestamp("us", tz="UTC"),
    "naive_datetime": pa.timestamp("us"),
}


class _Buffer:
    """The file ParquetWriter writes to; drained to the sink after every row group."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.position = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        self.data += data
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        data, self.data = bytes(self.data), bytearray()
        return data


def arrow_schema(columns: Columns) -> pa.Schema:
    return pa.schema(
        [(name, ARROW_TYPES.get(_type(columns, name), pa.string())) for name in columns.fields]
    )


def _type(columns: Columns, name: str) -> str:
    kind = columns.types.get(name)
    if (rule := columns.mask.get(name)) is not None:
        kind = masked_type(rule, kind)
    return kind or ""


def _text(select: Select, columns: Columns, name: str) -> str:
    if (rule := columns.mask.get(name)) is not None:
        kind = columns.types.get(name)
        return f"({masked_text(select, name, rule, kind, columns.mask_key)})"
    return f"data->>{select.text(name)}"


async def write_parquet(
    reader: DatasetReader,
    select: Select,
    columns: Columns,
    sink: HashingWriter,
    *,
    codec: str,
    row_group_size: int,
) -> None:
    """Stream the datasets through a server-side cursor into Parquet. Memory holds one row
    group at a time."""
    schema = arrow_schema(columns)
    texts = ", ".join(_text(select, columns, name) for name in columns.fields) or "NULL"
    buffer = _Buffer()
    conn = reader.job.conn
    with pq.ParquetWriter(pa.PythonFile(buffer, mode="w"), schema, compression=codec) as writer:
        async with aclosing(reader.each()) as datasets:
            async for dataset_id in datasets:
                cursor = await conn.cursor(select.sql(texts, dataset_id), *select.args)
                while batch := await cursor.fetch(row_group_size):
                    writer.write_table(_table(schema, batch))
                    await sink.write(buffer.take())
                    await reader.progress(len(batch))
    await sink.write(buffer.take())


def _table(schema: pa.Schema, batch: list[Any]) -> pa.Table:
    values = list(zip(*batch, strict=True)) if batch else []
    arrays = []
    for field, column in zip(schema, values, strict=True):
        text = pa.array(column, pa.string())
        try:
            arrays.append(text if field.type == pa.string() else text.cast(field.type))
        except pa.ArrowInvalid as exc:
            raise JobFailed(
                f"field {field.name!r} holds values that are not {field.type}: {exc}"
            ) from exc
    return pa.Table.from_arrays(arrays, schema=schema)
