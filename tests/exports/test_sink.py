from __future__ import annotations

import asyncio
import gzip
import hashlib
import json

import pytest

from datatasks.exports.sink import CrlfLines, JsonArrayFraming, Pipe
from datatasks.storage import ObjectWriter
from datatasks.storage.hashing import HashingWriter


class Collect(ObjectWriter):
    def __init__(self, fail_after: int | None = None) -> None:
        self.data = bytearray()
        self.bytes_written = 0
        self.fail_after = fail_after

    async def write(self, data: bytes) -> None:
        if self.fail_after is not None and len(self.data) >= self.fail_after:
            raise OSError(28, "No space left on device")
        await asyncio.sleep(0)
        self.data += data
        self.bytes_written += len(data)


async def test_a_failing_writer_surfaces_its_error_instead_of_hanging_the_copy() -> None:
    writer = Collect(fail_after=1)
    pipe = Pipe(HashingWriter(writer, gzip=False), max_chunks=2)

    async def feed() -> None:
        for _ in range(1000):
            await pipe.put(b"x" * (1 << 20))
        await pipe.close()

    with pytest.raises(OSError, match="No space left"):
        await asyncio.wait_for(feed(), 5)
    await pipe.abort()


async def test_gzip_and_sha256_describe_the_stored_bytes() -> None:
    writer = Collect()
    sink = HashingWriter(writer, gzip=True)
    framing = JsonArrayFraming(sink)
    lines = [json.dumps({"i": i}).encode() + b"\n" for i in range(50_000)]
    blob = b"".join(lines)
    for start in range(0, len(blob), 7_777):  # chunk boundaries anywhere
        await framing.write(blob[start : start + 7_777])
    await framing.finish()
    await sink.finish()
    assert sink.size == len(writer.data)
    assert sink.sha256 == hashlib.sha256(writer.data).hexdigest()
    assert json.loads(gzip.decompress(writer.data)) == [{"i": i} for i in range(50_000)]


async def test_an_empty_json_array() -> None:
    writer = Collect()
    sink = HashingWriter(writer, gzip=False)
    framing = JsonArrayFraming(sink)
    await framing.finish()
    await sink.finish()
    assert json.loads(writer.data) == []


def test_crlf_lines_convert_record_ends_but_not_newlines_inside_quoted_values() -> None:
    text = b'a,b\n"line one\nline two",x\n"say ""hi""\n",y\nplain,z\n'
    expected = b'a,b\r\n"line one\nline two",x\r\n"say ""hi""\n",y\r\nplain,z\r\n'
    for size in (1, 2, 3, 5, 7, len(text)):
        lines = CrlfLines()
        chunks = [text[i : i + size] for i in range(0, len(text), size)]
        assert b"".join(lines.convert(chunk) for chunk in chunks) == expected, size
