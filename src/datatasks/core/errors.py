"""Domain exceptions. Each HTTP-facing one carries its status; `problems.py` renders them."""

from __future__ import annotations

import uuid
from typing import Any


class ConfigError(Exception):
    """The configuration is invalid; the process cannot start."""


class DataTasksError(Exception):
    """An error a client can act on. Rendered as RFC 9457 problem+json."""

    status: int = 500
    title: str = "Internal Server Error"
    type_slug: str = "internal"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


class NotFound(DataTasksError):
    status = 404
    title = "Not Found"
    type_slug = "not-found"


def parse_path_id(raw: str, noun: str) -> uuid.UUID:
    """An id from a path; a malformed one names nothing: 404, like an unknown one."""
    try:
        return uuid.UUID(raw)
    except ValueError:
        shown = raw if len(raw) <= 64 else raw[:64] + "..."
        raise NotFound(f"no {noun} with id {shown!r} ({noun} ids are UUIDs)") from None


class Conflict(DataTasksError):
    """The request does not fit the resource's current state (a job that is not failed)."""

    status = 409
    title = "Conflict"
    type_slug = "conflict"


class Gone(DataTasksError):
    """The resource existed and was deliberately removed (an export file erased with its
    dataset)."""

    status = 410
    title = "Gone"
    type_slug = "gone"


class InvalidParameters(DataTasksError):
    """A value that passed the schema but not a rule checked later; shaped like a 422 from
    request validation (`errors[]` with the field's location)."""

    status = 422
    title = "Unprocessable Content"
    type_slug = "validation"

    def __init__(self, loc: list[str | int], msg: str, *, kind: str = "value_error"):
        field = ".".join(str(p) for p in loc)
        issue = {"loc": loc, "field": field, "msg": msg, "type": kind}
        super().__init__(f"{field}: {msg}", errors=[issue])


class DependencyUnavailable(DataTasksError):
    """Postgres or Redis did not answer in time. The request may be retried."""

    status = 503
    title = "Service Unavailable"
    type_slug = "dependency-unavailable"

    def __init__(self, detail: str, *, retry_after_s: int = 5, **extra: Any):
        super().__init__(detail, headers={"Retry-After": str(retry_after_s)}, **extra)


class JobFailed(Exception):
    """A task handler's failure that retrying cannot fix (bad parameters, missing rows)."""


class JobCancelled(JobFailed):
    """The job was cancelled while it ran: stop at the next chunk, and do not retry."""


class MalformedBody(DataTasksError):
    status = 400
    title = "Bad Request"
    type_slug = "malformed-multipart"


class InsufficientStorage(DataTasksError):
    """No room left to store a file: not the client's fault; the operator must make room."""

    status = 507
    title = "Insufficient Storage"
    type_slug = "insufficient-storage"


class PayloadTooLarge(DataTasksError):
    status = 413
    title = "Content Too Large"
    type_slug = "too-large"


class HeadersTooLarge(DataTasksError):
    status = 431
    title = "Request Header Fields Too Large"
    type_slug = "headers-too-large"


class RequestTimeout(DataTasksError):
    status = 408
    title = "Request Timeout"
    type_slug = "request-timeout"


class UnsupportedMediaType(DataTasksError):
    status = 415
    title = "Unsupported Media Type"
    type_slug = "unsupported-media-type"
