"""Column types of an uploaded CSV: declared by the client (the upload's `schema`), or inferred
from all its values: integer, float, boolean, date, datetime (with a zone), naive_datetime
(without one) or, when nothing narrower fits every value, string; `null` for a column of nulls
only. Null tokens (by default an empty cell, NA, N/A, null, NULL, NaN) are nulls.

Values are stored as the file has them (text, or null); the dataset's schema records the types,
and exports write each column as its type (see exports/). Under inference, a column that stops
fitting a type falls back to string, with no row lost and none rewritten; a value that does not
fit a declared type is a rejected row. Checked a batch at a time with pyarrow's compute
functions (in C), so the per-cell cost stays off the Python loop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import itemgetter

import pyarrow as pa
import pyarrow.compute as pc

from datatasks.uploads.sniff import NULL_TOKENS

_MOMENT = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
# Narrowest first. A number has no leading zero (a postcode stays text); an integer fits in
# 64 bits. Times are ISO 8601, to the minute, second or microsecond.
PATTERNS = {
    "integer": r"^-?(0|[1-9][0-9]{0,17})$",
    "float": r"^-?((0|[1-9][0-9]*)(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$",
    "boolean": r"^(true|false|True|False|TRUE|FALSE)$",
    "date": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    "datetime": _MOMENT + r"(Z|[+-][0-9]{2}:?[0-9]{2})$",
    "naive_datetime": _MOMENT + "$",
}
# Those whose pattern admits impossible values (2026-02-31): they must also parse.
_PARSED = {
    "date": pa.date32(),
    "datetime": pa.timestamp("us", tz="UTC"),
    "naive_datetime": pa.timestamp("us"),
}


class Inference:
    """The types still possible for each column, narrowed batch by batch; a declared column's
    type is fixed (its values are checked by `misfits`)."""

    def __init__(
        self,
        width: int,
        nulls: frozenset[str] = NULL_TOKENS,
        declared: Mapping[int, str] | None = None,
    ) -> None:
        self._alive = [list(PATTERNS) for _ in range(width)]
        self._seen = [False] * width
        self._nulls = pa.array(sorted(nulls), pa.string())
        self._declared = dict(declared or {})
        for i in self._declared:
            self._alive[i] = []
            self._seen[i] = True

    def misfits(self, rows: Sequence[Sequence[str | None]]) -> dict[int, tuple[int, str]]:
        """The rows (by index) holding a value that does not fit its column's declared type:
        the first such column of each, and its value. `rows` are all of the header's width."""
        bad: dict[int, tuple[int, str]] = {}
        for i, kind in self._declared.items():
            if kind == "string" or not rows:
                continue
            values = pa.array([row[i] for row in rows], pa.string())
            texts = pc.unique(values).drop_null()
            wrong = _not_fitting(texts.filter(pc.invert(pc.is_in(texts, self._nulls))), kind)
            if len(wrong):
                for index in pc.indices_nonzero(pc.is_in(values, wrong)).to_pylist():
                    bad.setdefault(index, (i, str(rows[index][i])))
        return bad

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
            self._declared.get(i) or ((alive[0] if alive else "string") if seen else "null")
            for i, (alive, seen) in enumerate(zip(self._alive, self._seen, strict=True))
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


def _not_fitting(texts: pa.Array, kind: str) -> pa.Array:
    """Those of the distinct `texts` that do not fit `kind`."""
    shaped = pc.match_substring_regex(texts, PATTERNS[kind])
    wrong = texts.filter(pc.invert(shaped))
    if kind in _PARSED:
        candidates = texts.filter(shaped)
        try:
            candidates.cast(_PARSED[kind])
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            impossible = [t for t in candidates.to_pylist() if not _fits(pa.array([t]), kind)]
            wrong = pa.concat_arrays([wrong, pa.array(impossible, pa.string())])
    return wrong
