"""Receiving an upload when the disk fills up, the client goes away or its body stops coming:
a clear answer (or none, to a client that is gone), the right log, and nothing stored."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from datatasks.core.config import Settings
from datatasks.core.db import SessionMaker
from tests.helpers import api_client, served
from tests.uploads.test_upload import assert_nothing_left, upload

BOUNDARY = "b0undary"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs, really full once 1 MiB is written (ENOSPC), unmounted afterwards."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        # Lazy: a file left open by a failed test must not leave the mount behind.
        subprocess.run(["umount", "--lazy", str(mount)], check=True)


async def test_a_full_disk_is_507_and_leaves_nothing(
    settings: Settings, sessionmaker: SessionMaker, small_disk: Path
) -> None:
    settings = settings.model_copy(update={"storage_dir": small_disk / "storage"})
    async with api_client(settings) as client:
        response = await upload(client, b"a,b\n" + b"1,2\n" * 1_000_000)  # 4 MB
        assert response.status_code == 507, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["title"] == "Insufficient Storage"
        await assert_nothing_left(settings, sessionmaker)  # not even a partial file
        # The space is free again: a file that fits is taken.
        fits = await upload(client, b"a,b\n" + b"1,2\n" * 50_000)
        assert fits.status_code == 202, fits.text


def head(content_length: int) -> bytes:
    return (
        f"POST /upload HTTP/1.1\r\nHost: test\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {content_length}\r\n\r\n"
    ).encode()


# The start of a multipart body: the file part's headers and its first rows.
BODY_START = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="x.csv"\r\n'
    "Content-Type: text/csv\r\n\r\na,b\r\n"
).encode() + b"1,2\r\n" * 100_000


def events(caplog: pytest.LogCaptureFixture, name: str | None = None) -> list[dict[str, Any]]:
    """The structlog events captured (a record's `msg` is its event dict, to which its level
    and traceback are added here), or those named `name`."""
    return [
        {**r.msg, "levelno": r.levelno, "exc_info": r.exc_info}
        for r in caplog.records
        if isinstance(r.msg, dict) and (name is None or r.msg["event"] == name)
    ]


async def test_a_client_gone_mid_upload_is_logged_once_without_a_traceback(
    settings: Settings, sessionmaker: SessionMaker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with served(settings) as port:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(head(10_000_000) + BODY_START)
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        async with asyncio.timeout(10):
            while not events(caplog, "http.request"):
                await asyncio.sleep(0.01)
    [disconnected] = events(caplog, "upload.client_disconnected")
    assert disconnected["levelno"] <= logging.WARNING
    [request] = events(caplog, "http.request")
    assert (request["levelno"], request["status"]) == (logging.INFO, 499)
    assert events(caplog, "request.unhandled_error") == []
    assert all(not e["exc_info"] and "exception" not in e for e in events(caplog))
    await assert_nothing_left(settings, sessionmaker)


async def test_an_upload_whose_body_stops_is_408_and_leaves_nothing(
    settings: Settings, sessionmaker: SessionMaker
) -> None:
    settings = settings.model_copy(update={"request_body_timeout_s": 0.5})
    async with served(settings) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(head(10_000_000) + BODY_START)  # and then nothing more
        await writer.drain()
        async with asyncio.timeout(10):
            # Read to the end: the server closes the connection after its answer.
            answer = await reader.read()
        writer.close()
    status, _, rest = answer.partition(b"\r\n")
    assert status == b"HTTP/1.1 408 Request Timeout"
    headers, _, body = rest.partition(b"\r\n\r\n")
    assert b"content-type: application/problem+json" in headers.lower()
    assert b"connection: close" in headers.lower()
    assert b"0.5 s" in body
    await assert_nothing_left(settings, sessionmaker)
