"""`POST /upload`: a CSV or JSON file, streamed to storage and queued for ingest."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

import orjson
import structlog
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse
from pydantic import TypeAdapter, ValidationError
from starlette.requests import ClientDisconnect
from streaming_form_data import StreamingFormDataParser
from streaming_form_data.parser import (
    ParseFailedException,
    UnexpectedPartException,
    parse_content_boundary,
)
from streaming_form_data.validators import ValidationError as FieldTooLarge

from datatasks.core.config import QueueName
from datatasks.core.errors import (
    InsufficientStorage,
    InvalidParameters,
    MalformedBody,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from datatasks.core.middleware import current_request_id
from datatasks.core.openapi import file_content
from datatasks.core.problems import responses
from datatasks.core.storable import NO_NUL
from datatasks.deps import BacklogDep, PoolDep, SettingsDep, StorageDep
from datatasks.jobs.idempotency import IdempotencyKey, IdempotencyKeyHeader
from datatasks.jobs.schemas import status_url
from datatasks.models.dataset import RECORD_TYPE_MAX, RECORD_TYPE_PATTERN
from datatasks.storage import StorageFull
from datatasks.storage.links import serve, verify
from datatasks.uploads import service
from datatasks.uploads.encoding import UnknownEncoding
from datatasks.uploads.locations import original_key, rejects_key, rejects_path
from datatasks.uploads.preamble import LineBlanker
from datatasks.uploads.receive import (
    FORM_FIELDS,
    MAX_COMMENT,
    MAX_SKIP_ROWS,
    FileTarget,
    FormFields,
)
from datatasks.uploads.schemas import IngestParams, UploadAccepted
from datatasks.uploads.service import StoredUpload
from datatasks.uploads.sniff import (
    COLUMN_TYPES,
    NULL_TOKENS,
    SPACES,
    EmptyContent,
    Ragged,
    Sniffed,
    UnsupportedContent,
    UploadFormat,
)
from datatasks.webhooks.targets import CallbackUrl, accept_callback

router = APIRouter(tags=["uploads"])
log = structlog.stdlib.get_logger("datatasks.uploads")

_RECORD_TYPE = re.compile(RECORD_TYPE_PATTERN)
# multipart/form-data with a `file` part and optional text fields, for the OpenAPI document.
# The CSV options' defaults are in words, not `default`: a generated client sends a documented
# default as if it were given, and a CSV option given with a JSON file is a 422.
_FORM_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "record_type": {
                            "type": "string",
                            "pattern": RECORD_TYPE_PATTERN,
                            "minLength": 1,
                            "maxLength": RECORD_TYPE_MAX,
                            "default": "upload",
                        },
                        "dataset_name": {"type": "string", "maxLength": 255},
                        "callback_url": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": 2_048,
                            "format": "uri",
                            "description": "told when the job ends: the service POSTs the "
                            "job's status document here, signed per Standard Webhooks",
                        },
                        "delimiter": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": len(SPACES),
                            "description": "CSV: the field separator, one character, or "
                            f"`{SPACES}` for runs of spaces (found from the file if absent, "
                            "among , ; tab | and runs of spaces)",
                        },
                        "quotechar": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": 1,
                            "description": 'CSV: the quote character (by default ")',
                        },
                        "header": {
                            "type": "string",
                            "enum": ["true", "false"],
                            "description": "CSV: false when the first row is data (columns "
                            "are then column_1..n); by default true",
                        },
                        "skip_rows": {
                            "type": "integer",
                            "minimum": 0,
                            "maximum": MAX_SKIP_ROWS,
                            "description": "CSV: lines before the header to skip (a preamble); "
                            "by default 0",
                        },
                        "comment": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": MAX_COMMENT,
                            "description": "CSV: lines starting with this are skipped",
                        },
                        "ragged": {
                            "type": "string",
                            "enum": [r.value for r in Ragged],
                            "description": "CSV rows of another width than the header: "
                            "rejected; short ones padded with nulls; or also long ones cut (by "
                            "default reject)",
                        },
                        "null_values": {
                            "type": "string",
                            "description": "CSV: a JSON array of the cells read as null "
                            f"(default {orjson.dumps(sorted(NULL_TOKENS)).decode()}; [] for "
                            "none)",
                        },
                        "schema": {
                            "type": "string",
                            "description": "CSV: a JSON object of column name to type, one of "
                            + ", ".join(COLUMN_TYPES)
                            + '; for example {"age": "integer", "joined": "date"}. A value '
                            "that does not fit is a rejected row; the other columns' types "
                            "are inferred",
                        },
                        "encoding": {
                            "type": "string",
                            "description": "the file's text encoding (utf-8, utf-16, latin-1, "
                            "cp1252, or any name Python knows); found from the file if absent",
                        },
                    },
                }
            }
        },
    }
}


def _check_declared(
    declared: dict[str, str], target: FileTarget, sniffed: Sniffed, options: dict[str, Any]
) -> None:
    """A declared schema names only columns the file has (422 naming the first that is not)."""
    columns = target.columns(
        options.get("delimiter", sniffed.delimiter or ","),
        options.get("quotechar", sniffed.quotechar),
        header=options.get("header", True),
    )
    if columns is None:
        return  # no whole header in the head: the ingest job checks
    for name in declared:
        if name not in columns:
            shown = ", ".join(map(repr, columns[:20])) + (", ..." if len(columns) > 20 else "")
            raise InvalidParameters(
                ["body", "schema", name], f"the file has no such column; its columns: {shown}"
            )


# Enough of the body's end to hold the closing boundary (boundaries are at most 70 bytes).
_TAIL = 128


_CALLBACK_URL: TypeAdapter[str] = TypeAdapter(CallbackUrl)


def _callback_url(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return _CALLBACK_URL.validate_python(value)
    except ValidationError as exc:
        raise InvalidParameters(["body", "callback_url"], exc.errors()[0]["msg"]) from None


@router.post(
    "/upload",
    operation_id="createUpload",
    status_code=202,
    response_model=UploadAccepted,
    responses=responses(400, 413, 415, 422, 503, 507),
    openapi_extra=_FORM_SCHEMA,
    summary="Upload a CSV, JSON array or NDJSON file; an ingest job loads it into a dataset",
)
async def upload(
    request: Request,
    response: Response,
    pool: PoolDep,
    backlog: BacklogDep,
    settings: SettingsDep,
    storage: StorageDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> UploadAccepted:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "multipart/form-data":
        raise UnsupportedMediaType(
            f"expected multipart/form-data with a `file` part, got {media_type or 'none'!r}"
        )
    # Before reading 100 MB: a full ingest queue refuses the upload up front.
    backlog.ensure_room(QueueName.ingest)
    upload_id = uuid.uuid4()
    key = original_key(upload_id)
    form = FormFields()
    try:
        # strict: a part that is not one of ours is refused, not silently skipped (and with
        # each of ours allowed once, the number of parts is bounded).
        parser = StreamingFormDataParser(headers=request.headers, strict=True)
        closing = b"--" + parse_content_boundary(request.headers) + b"--"
        # Anything that goes wrong in this block (too large, wrong content, a bad field, the
        # client gone) leaves no object behind: storage publishes only on a clean exit.
        async with storage.create(key, content_type="application/octet-stream") as writer:
            target = FileTarget(writer, settings.upload_max_bytes)
            parser.register("file", target)
            for name, field in form.targets.items():
                parser.register(name, field)
            tail = b""
            async for chunk in request.stream():
                await parser.adata_received(chunk)
                tail = (tail + chunk)[-_TAIL:]
            if not tail.rstrip(b"\r\n").endswith(closing):
                # The parser takes a body cut short as complete; a truncated file must not be.
                raise MalformedBody("the multipart body ended before its closing boundary")
            if not target.parts:
                raise InvalidParameters(["body", "file"], "a `file` part is required")
            csv_options = form.csv_options()
            try:
                blanker = LineBlanker(csv_options.get("skip_rows", 0), csv_options.get("comment"))
                found, sniffed = target.sniff(form.value("encoding"), blanker)
            except UnknownEncoding as exc:
                raise InvalidParameters(["body", "encoding"], str(exc)) from exc
            if csv_options and sniffed.format is not UploadFormat.csv:
                name = next(iter(csv_options))
                raise InvalidParameters(
                    ["body", "schema" if name == "column_types" else name],
                    f"applies to CSV files; this one is {sniffed.format.value}",
                )
            if declared := csv_options.get("column_types"):
                _check_declared(declared, target, sniffed, csv_options)
            record_type = form.value("record_type") or "upload"
            if len(record_type) > RECORD_TYPE_MAX or not _RECORD_TYPE.match(record_type):
                raise InvalidParameters(["body", "record_type"], "1-64 of a-z, 0-9 and _")
            dataset_name = form.value("dataset_name")
            if dataset_name is not None and len(dataset_name) > 255:
                raise InvalidParameters(["body", "dataset_name"], "at most 255 characters")
            if dataset_name is not None and "\0" in dataset_name:
                raise InvalidParameters(["body", "dataset_name"], NO_NUL)
            callback_url = _callback_url(form.value("callback_url"))
            await accept_callback(callback_url, settings)
    except UnexpectedPartException as exc:
        raise InvalidParameters(
            ["body", exc.part_name],
            "unexpected part: send `file`, " + ", ".join(f"`{name}`" for name in FORM_FIELDS),
        ) from exc
    except (ParseFailedException, UnicodeDecodeError) as exc:
        # UnicodeDecodeError: a part header (its filename, say) that is not UTF-8.
        raise MalformedBody(f"the multipart body could not be parsed: {exc}") from exc
    except FieldTooLarge as exc:
        raise PayloadTooLarge(f"a form field is too large: {exc}") from exc
    except EmptyContent as exc:
        raise InvalidParameters(["body", "file"], str(exc) or "the file is empty") from exc
    except UnsupportedContent as exc:
        raise UnsupportedMediaType(str(exc)) from exc
    except StorageFull as exc:
        # Not the client's fault, nor a bug: the operator must make room (the log says where).
        raise InsufficientStorage("there is no room to store the file; try again later") from exc
    except ClientDisconnect:
        log.info("upload.client_disconnected", upload_id=str(upload_id))
        raise

    params = IngestParams(
        upload_id=upload_id,
        size=target.size,
        format=sniffed.format,
        delimiter=csv_options.get("delimiter", sniffed.delimiter),
        quotechar=csv_options.get("quotechar", sniffed.quotechar),
        encoding=found.encoding,
        **{k: v for k, v in csv_options.items() if k not in ("delimiter", "quotechar")},
        record_type=record_type,
        dataset_name=dataset_name,
    )
    # A repeat is the same key with the same file and fields.
    idempotency = IdempotencyKey.of(
        idempotency_key,
        {
            "sha256": target.sha256,
            "record_type": record_type,
            "dataset_name": dataset_name,
            # Only what was given: a repeat of an earlier upload keeps its fingerprint.
            **({"encoding": encoding} if (encoding := form.value("encoding")) else {}),
            **({"callback_url": callback_url} if callback_url else {}),
            **csv_options,
        },
    )
    # From here on the service decides what becomes of the stored file.
    accepted = await service.accept(
        pool,
        settings,
        storage,
        StoredUpload(
            upload_id, key, target.filename, target.size, target.sha256, params, callback_url
        ),
        idempotency=idempotency,
        request_id=current_request_id(),
    )
    location = status_url(accepted.job.job_id)
    response.headers["Location"] = location
    return UploadAccepted(
        job_id=accepted.job.job_id,
        status=accepted.job.status,
        status_url=location,
        upload_id=accepted.upload_id,
        size=accepted.size,
        sha256=accepted.sha256,
        content_type=accepted.params.format,
    )


@router.get(
    "/uploads/{upload_id}/rejects",
    operation_id="downloadRejects",
    response_class=FileResponse,
    responses={
        200: {
            "description": "the rejected rows, one JSON object per line (NDJSON); Range "
            "requests are supported",
            "content": file_content("application/x-ndjson"),
        },
        206: {
            "description": "the bytes a Range header asked for (several: multipart/byteranges)",
            "content": file_content("application/x-ndjson", "multipart/byteranges"),
        },
        307: {
            "description": "redirect to the file in object storage",
            "headers": {"Location": {"schema": {"type": "string"}}},
        },
        **responses(403, 404),
    },
    summary="Download the rows an ingest job rejected (the link in its result)",
)
@router.head("/uploads/{upload_id}/rejects", include_in_schema=False)
async def download_rejects(
    upload_id: str,
    settings: SettingsDep,
    storage: StorageDep,
    expires: Annotated[int, Query()],
    signature: Annotated[str, Query(pattern=r"^[0-9a-f]{64}$")],
) -> Response:
    try:
        parsed = uuid.UUID(upload_id)
    except ValueError:
        raise NotFound("no such upload (upload ids are UUIDs)") from None
    verify(settings.secret_key.get_secret_value(), rejects_path(parsed), expires, signature)
    return await serve(
        storage,
        rejects_key(parsed),
        filename=f"rejects-{parsed}.ndjson",
        content_type="application/x-ndjson",
        expires=expires,
    )
