"""The service's HTTP API as a few typed calls. Every refusal becomes a `Problem` carrying the
RFC 9457 document the service sent, and every transport failure an `Unreachable` naming the
URL, so the commands have exactly two ways a request can go wrong to report."""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import IO, Any, Self
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

JSON = dict[str, Any]
DEFAULT_URL = "http://127.0.0.1:8000"
# A job in one of these will not change again.
FINAL = frozenset({"completed", "failed", "cancelled"})
# Refusals worth asking again a moment later: a dependency blipped, a proxy lost the API.
TRANSIENT = frozenset({502, 503, 504})


class ClientError(Exception):
    """What a command reports on stderr, and the exit status it ends with."""

    exit_code = 1


class Unreachable(ClientError):
    """The request never got an answer: nothing listens there, or it did not answer in time."""

    exit_code = 4

    def __init__(self, base_url: str, request: httpx.Request | None, cause: Exception) -> None:
        self.base_url = base_url
        self.cause = cause
        what = f"{request.method} {request.url.path}" if request is not None else "request"
        if isinstance(cause, httpx.TimeoutException):
            reason = f"no answer in time ({type(cause).__name__})"
        else:
            reason = f"{type(cause).__name__}: {cause}" if str(cause) else type(cause).__name__
        super().__init__(
            f"cannot reach the service at {redacted(base_url)} ({what}: {reason}); "
            "is it running? Set --url or DATATASKS_URL to where it is"
        )


class BadAnswer(ClientError):
    """An answer that is not the service's (a proxy's page, a truncated body)."""

    exit_code = 4


class CannotSave(ClientError):
    """The download could not be written here (no such directory, no room, no permission)."""

    exit_code = 1


class Problem(ClientError):
    """The service refused the request; its problem document says why."""

    exit_code = 3

    def __init__(self, status: int, body: Mapping[str, Any], *, method: str, path: str) -> None:
        self.status = status
        self.body = dict(body)
        self.method = method
        self.path = path
        self.title = str(body.get("title") or httpx.codes.get_reason_phrase(status) or "Error")
        self.detail = str(body.get("detail") or "")
        self.type = str(body.get("type") or "")
        errors = body.get("errors")
        self.errors: list[Mapping[str, Any]] = (
            [e for e in errors if isinstance(e, Mapping)] if isinstance(errors, list) else []
        )
        super().__init__(self.message())

    @classmethod
    def of(cls, response: httpx.Response) -> Problem:
        """The refusal in `response` (read), whatever shape its body has."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, Mapping):
            text = response.text.strip()
            body = {"detail": text[:300] + ("..." if len(text) > 300 else "")}
        request = response.request
        return cls(response.status_code, body, method=request.method, path=request.url.path)

    @property
    def route_missing(self) -> bool:
        """A 404 of the router (no such route: an older service), not of a resource. The
        service's own 404s (an unknown job) are typed `.../not-found`."""
        return self.status == 404 and not self.type.endswith("/not-found")

    @property
    def transient(self) -> bool:
        return self.status in TRANSIENT

    def message(self) -> str:
        head = f"{self.method} {self.path} refused: {self.status} {self.title}"
        if self.detail:
            head += f": {self.detail}"
        lines = [head]
        for error in self.errors:
            where = error.get("field") or ".".join(str(p) for p in error.get("loc") or [])
            lines.append(f"  {where}: {error.get('msg', '')}" if where else f"  {error}")
        return "\n".join(lines)


def redacted(url: str) -> str:
    """The URL without a password, fit for a message."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def request_of(exc: Exception) -> httpx.Request | None:
    """The request a transport error happened to, when httpx knows it."""
    try:
        return exc.request if isinstance(exc, httpx.RequestError) else None
    except RuntimeError:  # raised outside a request
        return None


def _user_agent() -> str:
    try:
        return f"datatasks-cli/{version('datatasks')}"
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "datatasks-cli"


@dataclass(frozen=True, slots=True)
class Downloaded:
    path: Path
    bytes: int
    sha256: str


class _Reading:
    """A file httpx streams into a multipart body, reporting how much it has read. httpx reads
    it in 64 KiB chunks (and sizes it with fstat), so the file is never held in memory."""

    def __init__(self, file: IO[bytes], on_read: Callable[[int], None]) -> None:
        self._file = file
        self._on_read = on_read
        self.name = file.name

    def read(self, size: int = -1) -> bytes:
        chunk = self._file.read(size)
        self._on_read(len(chunk))
        return chunk

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def fileno(self) -> int:
        return self._file.fileno()


@dataclass
class ApiClient:
    """One connection pool to the service; the API key, when given, on every request to it."""

    base_url: str = DEFAULT_URL
    api_key: str | None = None
    timeout: float = 30.0
    transport: httpx.BaseTransport | None = None
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        headers = {"User-Agent": _user_agent(), "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        self.http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=self.timeout,
            transport=self.transport,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    # -- plumbing ---------------------------------------------------------------------------

    @contextmanager
    def reaching(self) -> Iterator[None]:
        """Turn a transport failure inside the block into `Unreachable` for this service."""
        try:
            yield
        except httpx.TransportError as exc:
            raise Unreachable(self.base_url, request_of(exc), exc) from exc

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with self.reaching():
            response = self.http.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise Problem.of(response)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> JSON:
        response = self.request(method, path, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise BadAnswer(
                f"{method} {path} answered {response.status_code} with no JSON document "
                f"({response.headers.get('content-type', 'no content type')}): is "
                f"{redacted(self.base_url)} a datatasks service?"
            )
        return body

    def absolute(self, url: str) -> str:
        """A link the service gave (often a path) as a full URL."""
        return str(httpx.URL(self.base_url + "/").join(url))

    def same_origin(self, url: str) -> bool:
        mine, theirs = httpx.URL(self.base_url), httpx.URL(url)
        return (mine.scheme, mine.host, mine.port) == (theirs.scheme, theirs.host, theirs.port)

    @staticmethod
    def _idempotency(key: str | None) -> dict[str, str]:
        return {"Idempotency-Key": key} if key else {}

    # -- routes -----------------------------------------------------------------------------

    def generate(self, body: Mapping[str, Any], *, idempotency_key: str | None = None) -> JSON:
        """POST /generate: the 202's document (job_id, status, status_url)."""
        return self._json(
            "POST", "/generate", json=body, headers=self._idempotency(idempotency_key)
        )

    def export(self, body: Mapping[str, Any], *, idempotency_key: str | None = None) -> JSON:
        """POST /export: the 202's document."""
        return self._json("POST", "/export", json=body, headers=self._idempotency(idempotency_key))

    def upload(
        self,
        path: Path,
        form: Mapping[str, str],
        *,
        idempotency_key: str | None = None,
        on_sent: Callable[[int], None] | None = None,
    ) -> JSON:
        """POST /upload: the file streamed from disk as the `file` part, beside `form`."""
        with path.open("rb") as file:
            part: IO[bytes] | _Reading = file if on_sent is None else _Reading(file, on_sent)
            return self._json(
                "POST",
                "/upload",
                data=dict(form),
                files={"file": (path.name, part)},
                headers=self._idempotency(idempotency_key),
            )

    def status(self, job_id: str) -> JSON:
        """GET /status/{id}: the job's status document."""
        return self._json("GET", f"/status/{quote(job_id, safe='')}")

    def jobs(
        self,
        *,
        status: str | None = None,
        job_type: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> JSON:
        """GET /jobs: a page of jobs, newest first ({items, next_cursor})."""
        params = {
            name: value
            for name, value in (
                ("status", status),
                ("type", job_type),
                ("limit", limit),
                ("cursor", cursor),
            )
            if value is not None
        }
        return self._json("GET", "/jobs", params=params)

    def new_link(self, job_id: str) -> JSON:
        """POST /exports/{id}/link: a fresh download link ({download_url, expires_at})."""
        return self._json("POST", f"/exports/{quote(job_id, safe='')}/link")

    def download(
        self,
        url: str,
        dest: Path,
        *,
        sha256: str | None = None,
        on_progress: Callable[[int, int | None], None] | None = None,
    ) -> Downloaded:
        """Stream `url` into a file beside `dest`, then rename it into place: `dest` is either
        the whole file (checked against `sha256` when given) or untouched."""
        target = self.absolute(url)
        request = self.http.build_request("GET", target)
        if not self.same_origin(target):
            # A presigned object-store URL carries its own proof; a second one is refused.
            request.headers.pop("Authorization", None)
        request.headers["Accept"] = "*/*"
        partial = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.part")
        digest = hashlib.sha256()
        written = 0
        total: int | None = None
        try:
            with self.reaching():
                response = self.http.send(request, stream=True, follow_redirects=True)
                try:
                    if response.status_code >= 400:
                        response.read()
                        raise Problem.of(response)
                    length = response.headers.get("content-length", "")
                    # With a content coding the length is of the coded bytes, not the file's.
                    coded = response.headers.get("content-encoding", "identity") != "identity"
                    total = int(length) if length.isdigit() and not coded else None
                    # "x": never over a file of the same name; the umask applies, as to any.
                    with partial.open("xb") as out:
                        for chunk in response.iter_bytes():
                            out.write(chunk)
                            digest.update(chunk)
                            written += len(chunk)
                            if on_progress is not None:
                                on_progress(written, total)
                        out.flush()
                        os.fsync(out.fileno())
                finally:
                    response.close()
            if total is not None and written != total:
                raise BadAnswer(f"the download ended after {written} of {total} bytes")
            if sha256 is not None and digest.hexdigest() != sha256:
                raise BadAnswer(
                    f"the downloaded file's sha256 is {digest.hexdigest()}, "
                    f"the export's result says {sha256}"
                )
            partial.replace(dest)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise CannotSave(f"cannot save {dest}: {exc.strerror or exc}") from exc
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return Downloaded(dest, written, digest.hexdigest())
