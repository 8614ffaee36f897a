"""The event-stream follower and the problem mapping, against a fake transport: how the stream is
parsed, resumed and given up on. (The commands are tested against the real service in
test_commands.py.)"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from datatasks.client.api import ApiClient, BadAnswer, Problem, Unreachable
from datatasks.client.events import Follower

JOB = "7b0c2a3e-0000-4000-8000-000000000001"
EVENTS = f"/status/{JOB}/events"
PROBLEM = {"content-type": "application/problem+json"}


def _progress(done: int) -> dict[str, Any]:
    return {
        "id": JOB,
        "type": "generate",
        "status": "in_progress",
        "progress": {"done": done, "total": 100, "percent": float(done)},
        "attempts": 1,
    }


FINAL = {**_progress(100), "status": "completed", "result": {"rows": 100}}


def _event(kind: str, event_id: str, data: dict[str, Any]) -> bytes:
    return f"event: {kind}\nid: {event_id}\ndata: {json.dumps(data)}\n\n".encode()


def _stream(*chunks: bytes, cut: bool = False) -> httpx.Response:
    """An event-stream answer; `cut`: the connection drops after the chunks."""

    def body() -> Iterator[bytes]:
        yield from chunks
        if cut:
            raise httpx.RemoteProtocolError("peer closed connection")

    return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=_Iter(body()))


class _Iter(httpx.SyncByteStream):
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks


Handler = Callable[[httpx.Request], httpx.Response]


def _follower(handler: Handler, **options: Any) -> tuple[Follower, list[float]]:
    slept: list[float] = []
    api = ApiClient("http://service.test", transport=httpx.MockTransport(handler))
    return Follower(api, sleep=slept.append, **options), slept


def _follow(follower: Follower) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []
    return follower.follow(JOB, seen.append), seen


def test_each_progress_event_then_the_end_document() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == EVENTS
        assert request.headers["accept"] == "text/event-stream"
        return _stream(
            b": keep-alive comment\n\n",
            _event("progress", "1", _progress(0)),
            # An event split across reads, and one of a kind this client does not know.
            _event("progress", "2", _progress(40))[:20],
            _event("progress", "2", _progress(40))[20:],
            _event("heartbeat", "3", {"now": 1}),
            _event("end", "4", FINAL),
        )

    final, seen = _follow(_follower(handler)[0])
    assert final == FINAL
    assert [s["progress"]["done"] for s in seen] == [0, 40, 100]


def test_a_dropped_connection_resumes_from_the_last_event_id() -> None:
    asked: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.headers.get("last-event-id"))
        if len(asked) == 1:
            return _stream(_event("progress", "a1", _progress(10)), cut=True)
        if len(asked) == 2:
            raise httpx.ConnectError("connection refused")
        return _stream(b"retry: 1500\n\n", _event("end", "a9", FINAL))

    follower, slept = _follower(handler)
    final, seen = _follow(follower)
    assert final == FINAL
    assert asked == [None, "a1", "a1"]
    assert [s["progress"]["done"] for s in seen] == [10, 100]
    assert len(slept) == 2


def test_a_stream_closed_before_the_end_is_resumed_too() -> None:
    asked: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.headers.get("last-event-id"))
        if len(asked) == 1:
            return _stream(_event("progress", "5", _progress(50)))
        return _stream(_event("end", "6", FINAL))

    assert _follow(_follower(handler)[0])[0] == FINAL
    assert asked == [None, "5"]


def test_204_on_resume_means_ended_and_the_status_is_read() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == EVENTS:
            if "last-event-id" not in request.headers:
                return _stream(_event("progress", "1", _progress(99)), cut=True)
            return httpx.Response(204)
        assert request.url.path == f"/status/{JOB}"
        return httpx.Response(200, json=FINAL)

    assert _follow(_follower(handler)[0])[0] == FINAL


def test_without_the_route_it_polls_status() -> None:
    fallbacks: list[bool] = []
    states = iter([_progress(5), _progress(60), FINAL])

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == EVENTS:
            # The router's 404: no such route, not no such job.
            return httpx.Response(
                404,
                headers=PROBLEM,
                json={
                    "type": "https://datatasks.dev/problems/http-404",
                    "title": "Not Found",
                    "status": 404,
                    "detail": "Not Found",
                },
            )
        return httpx.Response(200, json=next(states))

    follower, slept = _follower(handler, on_fallback=lambda: fallbacks.append(True))
    final, seen = _follow(follower)
    assert final == FINAL
    assert [s["progress"]["done"] for s in seen] == [5, 60, 100]
    assert fallbacks == [True]
    assert slept == [follower.poll_interval] * 2


def test_an_unknown_job_is_the_service_s_refusal() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == EVENTS
        return httpx.Response(
            404,
            headers=PROBLEM,
            json={
                "type": "https://datatasks.dev/problems/not-found",
                "title": "Not Found",
                "status": 404,
                "detail": f"no job with id '{JOB}'",
            },
        )

    with pytest.raises(Problem) as raised:
        _follow(_follower(handler)[0])
    assert raised.value.status == 404
    assert not raised.value.route_missing
    assert str(raised.value) == f"GET {EVENTS} refused: 404 Not Found: no job with id '{JOB}'"


def test_a_service_that_stays_away_ends_the_wait_naming_it() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    follower, slept = _follower(handler, tries=3)
    with pytest.raises(Unreachable) as raised:
        _follow(follower)
    assert "cannot reach the service at http://service.test" in str(raised.value)
    assert f"GET {EVENTS}" in str(raised.value)
    assert len(slept) == 2


def test_503_is_asked_again_and_401_is_not() -> None:
    answers = iter([503, 401])

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(answers)
        return httpx.Response(
            status, headers=PROBLEM, json={"title": "x", "status": status, "detail": "d"}
        )

    with pytest.raises(Problem) as raised:
        _follow(_follower(handler)[0])
    assert raised.value.status == 401


def test_problem_of_an_answer_that_is_not_a_problem_document() -> None:
    response = httpx.Response(
        502, text="<html>Bad gateway</html>", request=httpx.Request("GET", "http://s/jobs")
    )
    problem = Problem.of(response)
    assert problem.title == "Bad Gateway"
    assert problem.transient
    assert str(problem) == "GET /jobs refused: 502 Bad Gateway: <html>Bad gateway</html>"


def test_problem_lists_each_error() -> None:
    body = {
        "title": "Unprocessable Content",
        "status": 422,
        "detail": "body.count: too big",
        "errors": [{"loc": ["body", "count"], "field": "body.count", "msg": "too big"}],
    }
    problem = Problem(422, body, method="POST", path="/generate")
    assert str(problem).splitlines() == [
        "POST /generate refused: 422 Unprocessable Content: body.count: too big",
        "  body.count: too big",
    ]


def test_a_download_that_does_not_match_its_sha256_leaves_nothing(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"not the file")

    api = ApiClient("http://service.test", transport=httpx.MockTransport(handler))
    dest = tmp_path / "out.csv"
    with pytest.raises(BadAnswer, match="sha256"):
        api.download("/exports/x/download?sig=1", dest, sha256="0" * 64)
    assert list(tmp_path.iterdir()) == []


def test_a_download_elsewhere_goes_without_the_api_key(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"a,b\n")

    api = ApiClient("http://service.test", api_key="secret", transport=httpx.MockTransport(handler))
    api.download("https://bucket.s3.test/key?X-Amz-Signature=1", tmp_path / "a.csv")
    api.download("/exports/x/download?sig=1", tmp_path / "b.csv")
    assert "authorization" not in seen[0].headers
    assert seen[1].headers["authorization"] == "Bearer secret"
    assert (tmp_path / "a.csv").read_bytes() == b"a,b\n"


def test_a_quiet_wait_is_no_failure() -> None:
    """Idle timeouts on an open stream (a long pending job) never use up the tries."""
    opened = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal opened
        opened += 1
        if opened <= 8:

            def quiet() -> Iterator[bytes]:
                raise httpx.ReadTimeout("no event in a while")
                yield b""  # pragma: no cover

            return httpx.Response(
                200, headers={"content-type": "text/event-stream"}, stream=_Iter(quiet())
            )
        return _stream(_event("end", "1", FINAL))

    assert _follow(_follower(handler, tries=3)[0])[0] == FINAL
    assert opened == 9


def test_streams_that_close_at_once_are_given_up_for_polling() -> None:
    fallbacks: list[bool] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == EVENTS:
            return _stream()
        return httpx.Response(200, json=FINAL)

    follower, _ = _follower(handler, tries=3, on_fallback=lambda: fallbacks.append(True))
    assert _follow(follower)[0] == FINAL
    assert fallbacks == [True]
