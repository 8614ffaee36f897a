from __future__ import annotations

import csv
import io

from datatasks.exports.query import csv_header


def test_the_csv_header_is_quoted_and_escaped_like_text_cells() -> None:
    names = ["plain", "=1+2", "a\rb", 'say "hi"', "-5", "@x"]
    raw = csv_header(names, formula_escape=True)
    assert list(csv.reader(io.StringIO(raw.decode(), newline=""))) == [
        ["plain", "'=1+2", "a\rb", 'say "hi"', "-5", "'@x"]
    ]
    unescaped = csv_header(names, formula_escape=False).decode()
    assert next(csv.reader(io.StringIO(unescaped, newline=""))) == names
