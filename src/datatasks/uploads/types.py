"""Column types of an uploaded CSV, inferred from all its values: integer, float, boolean, date,
datetime (with a zone) or, when nothing narrower fits every value, string; `null` for a column
of nulls only. Null tokens (an empty cell, NA, N/A, null, NULL, NaN) are nulls.

Values are stored as the file has them (text, or null); the dataset's schema records the types,
and exports write each column as its type (see exports/). A column that stops fitting a type
falls back to string, with no row lost and none rewritten. Checked a batch at a time with
pyarrow's compute functions (in C), so the per-cell cost stays off the Python loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter

import pyarrow as pa
import pyarrow.compute as pc

NULL_TOKENS = frozenset({"", "NA", "N/A", "null", "NULL", "NaN"})
# Narrowest first. A number has no leading zero (a postcode stays text); an integer fits in
# 64 bits.
PATTERNS = {
    "integer": r"^-?(0|[1-9][0-9]{0,17})$",
    "float": r"^-?((0|[1-9][0-9]*)(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$",
    "boolean": r"^(true|false|True|False|TRUE|FALSE)$",
    "date": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    "datetime": (
        r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})$"
    ),
}
# Those whose pattern admits impossible values (2026-02-31): they must also parse.
_PARSED = {"date": pa.date32(), "datetime": pa.timestamp("s", tz="UTC")}


class Inference:
    """The types still possible for each column, narrowed batch by batch."""

    def __init__(self, width: int, nulls: frozenset[str] = NULL_TOKENS) -> None:
        self._alive = [list(PATTERNS) for _ in range(width)]
        self._seen = [False] * width
        self._nulls = pa.array(sorted(nulls), pa.string())

    def observe(self, rows: Sequence[Sequence[str | None]]) -> None:
        """Narrow by one batch of rows (all of the header's width). Only the columns still
        open are taken out of the rows: a column known to be text costs nothing more."""
        open_ = [i for i, alive in enumerate(self._alive) if alive or not self._seen[i]]
        if not open_ or not rows:
            return
        columns: list[Sequence[str | None]]
        if len(open_) == len(self._alive):
            columns = list(zip(*rows, strict=True))
        elif len(open_) == 1:
            columns = [[row[open_[0]] for row in rows]]
        else:
            columns = list(zip(*map(itemgetter(*open_), rows), strict=True))
        for i, values in zip(open_, columns, strict=True):
            # The distinct values are enough to judge by (codes, flags and dates repeat).
            texts = pc.unique(pa.array(values, pa.string())).drop_null()
            texts = texts.filter(pc.invert(pc.is_in(texts, self._nulls)))
            if not len(texts):
                continue
            self._seen[i] = True
            self._alive[i] = _still_fitting(texts, self._alive[i])

    def types(self) -> list[str]:
        return [
            (alive[0] if alive else "string") if seen else "null"
            for alive, seen in zip(self._alive, self._seen, strict=True)
        ]


def _still_fitting(texts: pa.Array, alive: list[str]) -> list[str]:
    fitting: list[str] = []
    for kind in alive:
        # Every integer is a float: when the integers fit, so do the floats.
        if (kind == "float" and "integer" in fitting) or _fits(texts, kind):
            fitting.append(kind)
    return fitting


def _fits(texts: pa.Array, kind: str) -> bool:
    if not pc.all(pc.match_substring_regex(texts, PATTERNS[kind])).as_py():
        return False
    if kind in _PARSED:
        try:
            texts.cast(_PARSED[kind])
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return False
    return True
