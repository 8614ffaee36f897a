"""What of a CSV upload's lines is not data: a preamble of `skip_rows` lines before the header,
and comment lines (starting with a prefix), are blanked - each becomes an empty line, which the
CSV reader skips - so every line keeps its number in the rejects; the spaces that end the lines
of a file whose columns are separated by runs of spaces are dropped."""

from __future__ import annotations

import re

# The longest run of spaces held back at the end of a chunk: beyond that the line is too long
# to be a record anyway (see parsing.LongLines), and the rest is passed on.
_MAX_HELD = 64 * 1024


class LineBlanker:
    """Blanks the first `skip_rows` lines, and every line starting with `comment`, of a
    stream fed in chunks (UTF-8: a line break is one byte, never inside a character)."""

    def __init__(self, skip_rows: int = 0, comment: str | None = None) -> None:
        self._skip = skip_rows
        self._comment = comment.encode() if comment else None
        self._line = 0
        # Where the current line stands: None at its start (not decided yet), True when it is
        # being blanked, False when it is kept. `_start` holds the bytes of an undecided line
        # start shorter than the comment prefix.
        self._blanking: bool | None = None
        self._start = b""

    @property
    def active(self) -> bool:
        return self._skip > 0 or self._comment is not None

    def convert(self, data: bytes) -> bytes:
        if not self.active:
            return data
        out = bytearray()
        pos = 0
        while pos < len(data):
            if self._blanking is None and not self._decide(data, pos, out):
                break  # an undecided start, kept in _start for the next chunk
            end = data.find(b"\n", pos)
            stop = len(data) if end < 0 else end + 1
            if not self._blanking:
                out += data[pos:stop]
            elif end >= 0:
                out += b"\n"
            if end < 0:
                break
            self._line += 1
            self._blanking = None
            pos = stop
        return bytes(out)

    def finish(self) -> bytes:
        rest, self._start = self._start, b""
        return b"" if self._blanking or not rest else rest

    def _decide(self, data: bytes, pos: int, out: bytearray) -> bool:
        """Decide whether the line starting at `pos` is blanked. False: not yet (too few bytes
        of it to compare with the prefix: they wait in _start, and the chunk is used up)."""
        if self._line < self._skip:
            self._blanking = True
            return True
        if self._comment is None:
            self._blanking = False
            return True
        need = len(self._comment) - len(self._start)
        available = data[pos : pos + need]
        if len(available) < need and b"\n" not in available:
            self._start += available
            return False
        self._blanking = (self._start + available).startswith(self._comment)
        if not self._blanking:
            out += self._start
        self._start = b""
        return True


class TrailingSpaces:
    """Drops the spaces before each line's end (LF or CRLF) of a stream fed in chunks: with runs
    of spaces as the delimiter they would make an empty last cell. (Inside a quoted cell over
    several lines, they go too.)"""

    _RUN = re.compile(rb" +(?=\r?\n)")

    def __init__(self) -> None:
        self._held = b""

    def convert(self, data: bytes) -> bytes:
        data = self._held + data
        # Spaces (and a CR) at the end may be followed by a line break in the next chunk.
        keep = max(len(data.rstrip(b" \r")), len(data) - _MAX_HELD)
        data, self._held = data[:keep], data[keep:]
        return self._RUN.sub(b"", data)

    def finish(self) -> bytes:
        rest, self._held = self._held, b""
        return rest.rstrip(b" ")
