"""RFC 9457 problem+json: the one shape every error response takes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from datatasks.core.db import DB_UNAVAILABLE, is_db_unavailable
from datatasks.core.errors import DataTasksError, DependencyUnavailable
from datatasks.core.queue import REDIS_ERRORS

PROBLEM_JSON = "application/problem+json"
_TYPE_BASE = "https://datatasks.dev/problems/"

log = structlog.stdlib.get_logger("datatasks.problems")


class ProblemResponse(Response):
    media_type = PROBLEM_JSON

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class ValidationIssue(BaseModel):
    loc: list[str | int] = Field(description="path to the offending value, e.g. body.fields.2.type")
    field: str = Field(description="the same path, dotted")
    msg: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem detail."""

    type: str = Field(examples=[f"{_TYPE_BASE}validation"])
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[ValidationIssue] | None = None


def problem_response(
    request: Request,
    *,
    status: int,
    title: str,
    detail: str,
    slug: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> ProblemResponse:
    body: dict[str, Any] = {
        "type": _TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    return ProblemResponse(body, status_code=status, headers=headers)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting the problems a route can answer with."""
    described = {
        400: "The body could not be read (a broken multipart body)",
        403: "The link is invalid or has expired",
        404: "Not found",
        409: "Conflict with the job's or dataset's state",
        410: "Erased: the file held rows of a dataset that was erased",
        413: "Payload too large",
        415: "Unsupported media type",
        422: "Invalid payload; `errors` names each field",
        503: "A dependency (Postgres or Redis) is unavailable; retry after `Retry-After`",
        507: "No room is left to store the file; try again later",
    }
    # `model` registers the Problem schema; core/openapi.py files it under problem+json.
    return {s: {"model": Problem, "description": described[s]} for s in statuses}


def _dotted(loc: Sequence[Any]) -> str:
    return ".".join(str(p) for p in loc)


async def _domain(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, DataTasksError)
    if exc.status >= 500:
        log.warning("request.dependency_error", error=exc.detail, cause=repr(exc.__cause__))
    return problem_response(
        request,
        status=exc.status,
        title=exc.title,
        detail=exc.detail,
        slug=exc.type_slug,
        headers=exc.headers,
        **exc.extra,
    )


def _issue(err: Mapping[str, Any]) -> dict[str, Any]:
    """One validation error, in words a client can act on rather than pydantic's."""
    loc: list[str | int] = list(err["loc"])
    kind: str = err["type"]
    ctx: Mapping[str, Any] = err.get("ctx") or {}
    msg: str = err["msg"].removeprefix("Value error, ")
    if kind == "json_invalid":
        # pydantic puts the character offset in the location; it is not a field.
        position = loc[1] if len(loc) > 1 else None
        loc = ["body"]
        msg = f"malformed JSON at character {position}: {ctx.get('error', 'invalid')}"
    elif kind == "missing" and loc == ["body"]:
        msg = "the request body is empty; expected a JSON object"
    elif kind == "union_tag_not_found":
        msg = f"'{ctx.get('discriminator', 'type').strip(chr(39))}' is required"
    elif kind == "union_tag_invalid":
        msg = f"{ctx.get('tag')!r} is not one of {ctx.get('expected_tags')}"
    return {"loc": loc, "field": _dotted(loc), "msg": msg, "type": kind}


def _unparsable_json(cause: UnicodeDecodeError | RecursionError) -> dict[str, Any]:
    if isinstance(cause, UnicodeDecodeError):
        msg = f"malformed JSON at byte {cause.start}: not UTF-8"
    else:
        msg = "malformed JSON: nested too deeply to read"
    return {"loc": ["body"], "field": "body", "msg": msg, "type": "json_invalid"}


def validation_problem(request: Request, issues: list[dict[str, Any]]) -> ProblemResponse:
    detail = "; ".join(f"{i['field']}: {i['msg']}" for i in issues[:5])
    return problem_response(
        request,
        status=422,
        title="Unprocessable Content",
        detail=detail or "invalid request",
        slug="validation",
        errors=issues,
    )


async def _validation(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, RequestValidationError)
    return validation_problem(request, [_issue(err) for err in exc.errors()])


async def _http(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc.__cause__, DataTasksError):
        # FastAPI turns any error while reading the body into "400 error parsing the body";
        # one of ours (the body size limit) keeps its own status.
        return await _domain(request, exc.__cause__)
    if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError | RecursionError):
        # Only a JSONDecodeError is "invalid JSON" (422) to FastAPI; a body that is not UTF-8,
        # or nested deeper than the parser goes, does not parse either.
        return validation_problem(request, [_unparsable_json(exc.__cause__)])
    titles = {
        400: "Bad Request",
        404: "Not Found",
        405: "Method Not Allowed",
        413: "Content Too Large",
        415: "Unsupported Media Type",
    }
    return problem_response(
        request,
        status=exc.status_code,
        title=titles.get(exc.status_code, "Error"),
        detail=str(exc.detail),
        slug=f"http-{exc.status_code}",
        headers=getattr(exc, "headers", None),
    )


async def _dependency(request: Request, exc: Exception) -> ProblemResponse:
    # Postgres or Redis went away mid-request: the client may retry, the log says why.
    log.warning("request.dependency_down", error=repr(exc))
    return await _domain(
        request, DependencyUnavailable("a dependency of the service is unavailable")
    )


def internal_error(request: Request) -> ProblemResponse:
    """A 5xx never says more than this; the log has the rest."""
    return problem_response(
        request,
        status=500,
        title="Internal Server Error",
        detail="an unexpected error occurred; it has been logged",
        slug="internal",
    )


async def _dbapi(request: Request, exc: Exception) -> ProblemResponse:
    # A connection lost mid-request is an outage (503, retry); any other DBAPI error is ours.
    if is_db_unavailable(exc):
        return await _dependency(request, exc)
    return await _unexpected(request, exc)


async def _unexpected(request: Request, exc: Exception) -> ProblemResponse:
    # Only errors raised outside RequestContextMiddleware (which handles the rest) land here.
    log.exception("request.unhandled_error")
    return internal_error(request)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DataTasksError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(DBAPIError, _dbapi)
    for exc_type in (*DB_UNAVAILABLE, *REDIS_ERRORS):
        app.add_exception_handler(exc_type, _dependency)
    app.add_exception_handler(Exception, _unexpected)
