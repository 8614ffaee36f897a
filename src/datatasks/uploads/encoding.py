"""Text encodings of uploaded files: the one the client declares, or one found from the file's
first bytes (a byte order mark, then UTF-8, then charset-normalizer's best guess), and the
transcoding to UTF-8 that everything after reads.

The stored original stays as uploaded (its sha256 is the client's file); the ingest job
transcodes it as it streams.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from datatasks.uploads.sniff import UnsupportedContent

UTF8 = "utf-8"
# Byte order marks, longest first (UTF-32 LE's starts with UTF-16 LE's).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, UTF8),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Below this, charset-normalizer's guess is no better than noise: the file is called binary.
_MIN_COHERENCE = 0.2
# Among code pages a head fits equally well, in this order: Western European first.
_COMMONEST = ("cp1252", "iso8859-1", "iso8859-15", "cp1250", "cp1251")
HOW_TO_DECLARE = "declare it in the `encoding` form field (for example encoding=cp1252)"


class UnknownEncoding(ValueError):
    """A declared encoding Python does not know."""


def canonical(name: str) -> str:
    """Python's name for an encoding (`latin-1` -> `iso8859-1`), or UnknownEncoding. Only text
    encodings: `rot13` or `zip` are codecs, not encodings of a file."""
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):  # ValueError: a NUL in the name
        raise UnknownEncoding(f"unknown encoding {name!r}") from None
    if not getattr(info, "_is_text_encoding", True):
        raise UnknownEncoding(f"{name!r} is not a text encoding")
    try:
        # The ingest streams with errors="replace": a codec that cannot (idna) is no use.
        codecs.getincrementaldecoder(info.name)(errors="replace").decode(b"a", final=True)
    except (UnicodeError, LookupError, TypeError, ValueError):
        raise UnknownEncoding(f"{name!r} cannot be read as a file's text encoding") from None
    return info.name


@dataclass(frozen=True)
class Found:
    """The encoding a file is read with, and how it was known (declared, bom, utf-8,
    detected)."""

    encoding: str
    by: str


def find(head: bytes, declared: str | None, *, complete: bool) -> Found:
    """The encoding of a file that starts with `head`. Raises UnsupportedContent saying what
    was found and how to declare another."""
    if declared is not None:
        encoding = canonical(declared)
        _decode(head, encoding, complete, by="declared")
        return Found(encoding, "declared")
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return Found(_decode(head, encoding, complete, by="bom"), "bom")
    try:
        codecs.getincrementaldecoder(UTF8)().decode(head, final=complete)
    except UnicodeDecodeError:
        pass
    else:
        if b"\x00" not in head:
            return Found(UTF8, "utf-8")
    # A head cut mid-character throws a detector off multi-byte encodings: whole lines only.
    lines = head if complete or b"\n" not in head else head[: head.rindex(b"\n") + 1]
    return Found(_detected(lines), "detected")


def _decode(head: bytes, encoding: str, complete: bool, *, by: str) -> str:
    try:
        codecs.getincrementaldecoder(encoding)().decode(head, final=complete)
    except UnicodeDecodeError as exc:
        what = "the declared" if by == "declared" else "its byte order mark's"
        raise UnsupportedContent(
            f"text that is not valid in {what} encoding {encoding} ({exc.reason} at byte "
            f"{exc.start})"
        ) from None
    return encoding


def _detected(head: bytes) -> str:
    from charset_normalizer import from_bytes

    matches = from_bytes(head)
    best = matches.best()
    if best is None or b"\x00" in head or best.coherence < _MIN_COHERENCE:
        raise UnsupportedContent(
            "binary content (not UTF-8, no byte order mark, and no text encoding fits); "
            f"if it is text, {HOW_TO_DECLARE}"
        )
    # A short head often fits several code pages equally well (cp1250, cp1252, cp1257 for
    # Western text with smart quotes): among the equals, the commonest one wins.
    tied = {
        canonical(m.encoding)
        for m in matches
        if (m.chaos, m.coherence) == (best.chaos, best.coherence)
    }
    return next((name for name in _COMMONEST if name in tied), canonical(best.encoding))


def head_as_utf8(head: bytes, encoding: str, *, complete: bool) -> bytes:
    """The head transcoded, for the sniffer (a character cut at its end dropped)."""
    if encoding == UTF8:
        return head
    text = codecs.getincrementaldecoder(encoding)(errors="strict").decode(head, final=complete)
    return text.encode(UTF8)


class ToUtf8:
    """Transcodes a file's chunks to UTF-8 as they stream (UTF-8 passes as it is). A byte the
    encoding cannot read becomes U+FFFD, so one bad byte costs that cell, not the file."""

    def __init__(self, encoding: str) -> None:
        self._decoder = (
            None if encoding == UTF8 else codecs.getincrementaldecoder(encoding)(errors="replace")
        )

    def convert(self, chunk: bytes) -> bytes:
        return chunk if self._decoder is None else self._decoder.decode(chunk).encode(UTF8)

    def finish(self) -> bytes:
        return b"" if self._decoder is None else self._decoder.decode(b"", final=True).encode(UTF8)
