"""Parquet exports: a typed schema from the datasets' field types, written in row groups."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pyarrow as pa
import pyarrow.parquet as pq

from datatasks.core.errors import JobFailed
from datatasks.exports.query import Columns, Select
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
        [
            (name, ARROW_TYPES.get(columns.types.get(name, ""), pa.string()))
            for name in columns.fields
        ]
    )


async def write_parquet(
    conn: asyncpg.Connection,
    select: Select,
    columns: Columns,
    sink: HashingWriter,
    *,
    codec: str,
    row_group_size: int,
    on_rows: Callable[[int], Awaitable[None]],
) -> int:
    """Stream the selection through a server-side cursor into Parquet; returns the row count.
    Memory holds one row group at a time."""
    schema = arrow_schema(columns)
    texts = ", ".join(f"data->>{select.text(name)}" for name in columns.fields) or "NULL"
    buffer = _Buffer()
    rows = 0
    with pq.ParquetWriter(pa.PythonFile(buffer, mode="w"), schema, compression=codec) as writer:
        async with conn.transaction():
            cursor = await conn.cursor(select.sql(texts), *select.args)
            while batch := await cursor.fetch(row_group_size):
                writer.write_table(_table(schema, batch))
                rows += len(batch)
                await sink.write(buffer.take())
                await on_rows(rows)
    await sink.write(buffer.take())
    return rows


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
