"""Encodings of uploaded files: declared, found by byte order mark, UTF-8 or detection; the
transcoding the ingest job reads through; and what a client is told when none fits."""

# The text is about smart quotes and dashes: the ambiguous characters are the point.
# ruff: noqa: RUF001
from __future__ import annotations

import codecs
from typing import Any

import httpx
import pytest

from datatasks.core.config import QueueName
from datatasks.core.db import SessionMaker
from datatasks.uploads.encoding import ToUtf8, UnknownEncoding, canonical, find
from datatasks.uploads.sniff import UnsupportedContent
from tests.conftest import WaitJob, WorkerRunner
from tests.uploads.test_upload import dataset_rows, upload

TEXT = "id,quote,city\n1,“Smart” quotes – and ‘more’,Zürich\n2,naïve café,São Paulo\n"


@pytest.mark.parametrize(
    ("content", "declared", "expected", "by"),
    [
        (TEXT.encode(), None, "utf-8", "utf-8"),
        (codecs.BOM_UTF8 + TEXT.encode(), None, "utf-8", "bom"),
        (TEXT.encode("utf-16"), None, "utf-16", "bom"),
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), None, "utf-16", "bom"),
        (TEXT.encode("utf-32"), None, "utf-32", "bom"),
        (TEXT.encode("cp1252"), None, "cp1252", "detected"),
        (TEXT.encode("cp1252"), "windows-1252", "cp1252", "declared"),
        ("id,name\n1,Ærø Øster\n".encode("latin-1"), "latin-1", "iso8859-1", "declared"),
    ],
)
def test_an_encoding_is_declared_marked_or_found(
    content: bytes, declared: str | None, expected: str, by: str
) -> None:
    found = find(content, declared, complete=True)
    assert (found.encoding, found.by) == (expected, by)


def test_binary_content_says_how_to_declare_an_encoding() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
    with pytest.raises(UnsupportedContent, match="declare it in the `encoding` form field"):
        find(png, None, complete=True)
    with pytest.raises(UnsupportedContent, match="not valid in the declared encoding utf-8"):
        find(b"id\n\xff\xfe\n", "utf-8", complete=True)


def test_unknown_or_non_text_encodings_are_refused() -> None:
    for name in ("klingon", "rot13", "zip", "utf\x008", "idna"):
        with pytest.raises(UnknownEncoding):
            canonical(name)


def test_transcoding_survives_characters_cut_between_chunks() -> None:
    data = TEXT.encode("utf-16")
    for size in (1, 3, 7):
        text = ToUtf8("utf-16")
        chunks = [data[i : i + size] for i in range(0, len(data), size)]
        out = b"".join(text.convert(c) for c in chunks) + text.finish()
        assert out.decode() == TEXT


@pytest.mark.parametrize(
    ("encoding", "declared"),
    [("utf-16", None), ("cp1252", None), ("cp1252", "cp1252"), ("utf-8-sig", None)],
)
async def test_an_upload_in_another_encoding_loads_as_the_same_text(
    client: httpx.AsyncClient,
    run_worker: WorkerRunner,
    wait_job: WaitJob,
    sessionmaker: SessionMaker,
    encoding: str,
    declared: str | None,
) -> None:
    run_worker.start(queues=(QueueName.ingest,))
    form: dict[str, Any] = {"encoding": declared} if declared else {}
    response = await upload(client, TEXT.encode(encoding), **form)
    assert response.status_code == 202, response.text
    job = await wait_job(response.json()["job_id"])
    assert job["result"]["encoding"] == {"utf-8-sig": "utf-8"}.get(encoding, encoding)
    rows = await dataset_rows(sessionmaker, job["result"]["dataset_id"])
    assert rows == [
        {"id": "1", "quote": "“Smart” quotes – and ‘more’", "city": "Zürich"},
        {"id": "2", "quote": "naïve café", "city": "São Paulo"},
    ]


async def test_a_bad_encoding_field_is_a_422_naming_it(client: httpx.AsyncClient) -> None:
    response = await upload(client, TEXT.encode(), encoding="klingon")
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["loc"] == ["body", "encoding"]
    assert "klingon" in problem["errors"][0]["msg"]
