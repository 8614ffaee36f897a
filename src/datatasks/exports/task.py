"""The export job: stream matching records out of Postgres into a file in storage.

Postgres does the formatting (COPY ... TO STDOUT), so rows never pass through a Python loop
for CSV, JSON and NDJSON; Parquet goes through a server-side cursor a row group at a time.
Datasets are read one after another, oldest first, each in its records' order.
The file is published under its key only when complete (see Storage.create); a retry writes
it again from the start.
"""

from __future__ import annotations

import asyncio
import codecs
import uuid
from contextlib import aclosing
from dataclasses import replace
from itertools import islice
from typing import Any

import structlog

from datatasks.core.errors import JobFailed
from datatasks.exports.locations import download_path, export_key
from datatasks.exports.masking import MaskError, check_mask, describe_mask
from datatasks.exports.parquet import write_parquet
from datatasks.exports.query import (
    Columns,
    Select,
    csv_columns,
    csv_header,
    filtered,
    json_object_column,
    resolve_columns,
    snapshot,
)
from datatasks.exports.reader import DatasetReader
from datatasks.exports.schemas import ExportFormat, ExportRequest, LineEnding
from datatasks.exports.sink import CrlfLines, JsonArrayFraming, Pipe
from datatasks.jobs.execution import RunningJob, TaskContext
from datatasks.jobs.results import LISTED, DatasetRead, ExportResult
from datatasks.storage.hashing import HashingWriter
from datatasks.storage.links import issue_link

log = structlog.stdlib.get_logger("datatasks.exports")

# COPY's CSV format with control characters as quote and delimiter never quotes a JSON text
# (JSON escapes every control character), so each line is exactly one record's JSON.
_JSON_LINES = {"format": "csv", "delimiter": "\x02", "quote": "\x01"}
# CSV and Parquet select a column per field, and Postgres takes at most 1664 in one SELECT.
_COLUMNAR = (ExportFormat.csv, ExportFormat.parquet)
MAX_COLUMNS = 1_600


async def run_export(ctx: TaskContext, job_id: uuid.UUID) -> dict[str, Any]:
    async with RunningJob.open(ctx, job_id) as job:
        params = await job.params(ExportRequest)
        return await _export(ctx, job, params)


async def _export(ctx: TaskContext, job: RunningJob, params: ExportRequest) -> dict[str, Any]:
    conn = job.conn
    # This attempt says afresh which datasets its file holds (an earlier one's file is gone).
    await conn.execute("DELETE FROM export_datasets WHERE export_job_id = $1", job.id)
    columns = await resolve_columns(conn, params)
    if params.mask:
        try:
            check_mask(params.mask, columns.types)
        except MaskError as exc:
            raise JobFailed(f"mask: {exc}") from exc
        columns = replace(columns, mask=params.mask, mask_key=ctx.settings.masking_key)
    select = filtered(params)
    taken = await snapshot(conn, params)
    await job.set_total(taken.total)
    if not columns.fields and any(taken.rows.values()):
        raise JobFailed("the matching records have no fields to export; name them in `fields`")
    if params.format in _COLUMNAR and len(columns.fields) > MAX_COLUMNS:
        raise JobFailed(
            f"the matching datasets have {len(columns.fields)} fields, and a {params.format}"
            f" export writes at most {MAX_COLUMNS}: name the ones you need in `fields`"
        )

    filename = params.download_name(job.id)
    key = export_key(job.id, filename)
    content_type = params.content_type
    reader = DatasetReader(job, taken)
    async with ctx.storage.create(key, content_type=content_type) as writer:
        sink = HashingWriter(writer, gzip=params.gzipped)
        if params.format is ExportFormat.parquet:
            await write_parquet(
                reader,
                select,
                columns,
                sink,
                codec=params.compression.value,
                row_group_size=params.row_group_size,
            )
        else:
            await _copy_out(reader, params, select, columns, sink)
        await sink.finish()
    try:
        # Completion sets done to the total: make the total exact.
        await job.set_total(reader.rows)
        url, expires_at = await issue_link(
            ctx.settings,
            ctx.storage,
            path=download_path(job.id),
            key=key,
            filename=filename,
            content_type=content_type,
        )
    except BaseException:
        # Published, but this attempt will not complete with it: leave nothing behind.
        await asyncio.shield(ctx.storage.delete(key))
        raise
    log.info("export.written", rows=reader.rows, bytes=sink.size, key=key)
    read = reader.read
    return ExportResult(
        rows=reader.rows,
        datasets=[DatasetRead(dataset_id=d, rows=n) for d, n in islice(read.items(), LISTED)],
        datasets_read=len(read),
        skipped_incomplete=taken.skipped[:LISTED],
        skipped_count=len(taken.skipped),
        skipped_erased=reader.erased[:LISTED],
        bytes=sink.size,
        sha256=sink.sha256,
        format=params.format.value,
        compression=params.compression.value,
        fields=columns.fields,
        masked=describe_mask(params.mask or {}, columns.types),
        filename=filename,
        download_url=url,
        expires_at=expires_at,
    ).model_dump(mode="json")


async def _copy_out(
    reader: DatasetReader,
    params: ExportRequest,
    select: Select,
    columns: Columns,
    sink: HashingWriter,
) -> None:
    target: HashingWriter | JsonArrayFraming = sink
    options: dict[str, str]
    crlf = params.line_ending is LineEnding.crlf
    if params.format is ExportFormat.csv:
        if params.bom:
            await sink.write(codecs.BOM_UTF8)
        if params.header:
            header = csv_header(
                columns.fields,
                formula_escape=params.csv_formula_escape,
                delimiter=params.delimiter,
                line_ending="\r\n" if crlf else "\n",
            )
            await sink.write(header)
        values = csv_columns(select, columns, formula_escape=params.csv_formula_escape)
        options = {"format": "csv", "delimiter": params.delimiter, "null": params.null}
    else:
        # Uploaded columns are written in the file's order, as their types (as many as one
        # SELECT can build an object of: older datasets may have more).
        in_order = columns.in_file_order and len(columns.fields) <= MAX_COLUMNS
        fields = columns.fields if params.fields is None and in_order else params.fields
        if columns.mask and fields is None:
            # Masked values are built into the object, so it is built field by field.
            fields = columns.fields
        values = json_object_column(
            select,
            fields,
            big_int_as_string=params.big_int_as_string,
            types=columns.types,
            mask=columns.mask,
            mask_key=columns.mask_key,
        )
        options = _JSON_LINES
        if params.format is ExportFormat.json:
            target = JsonArrayFraming(sink)

    line_endings = CrlfLines() if crlf else None
    async with aclosing(reader.each()) as datasets:
        async for dataset_id in datasets:
            query = select.sql(values, dataset_id)
            await _copy_dataset(reader, query, select.args, target, options, line_endings)
    if isinstance(target, JsonArrayFraming):
        await target.finish()


async def _copy_dataset(
    reader: DatasetReader,
    query: str,
    args: list[Any],
    target: HashingWriter | JsonArrayFraming,
    options: dict[str, str],
    line_endings: CrlfLines | None,
) -> None:
    job = reader.job
    received = 0
    pipe = Pipe(target)

    async def output(data: bytes) -> None:
        nonlocal received
        received += len(data)
        await pipe.put(data if line_endings is None else line_endings.convert(data))
        if job.report_due():
            # Rows so far, from this chunk's rows per byte: counting every newline of the
            # stream would cost more than progress is worth. (COPY's status gives the exact
            # count at the end.)
            await job.report(reader.rows + received * data.count(b"\n") // len(data))

    try:
        status: str = await job.conn.copy_from_query(query, *args, output=output, **options)
        await pipe.close()
    finally:
        await pipe.abort()
    reader.rows += int(status.split()[-1])
