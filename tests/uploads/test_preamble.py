from __future__ import annotations

import pytest

from datatasks.uploads.preamble import LineBlanker

TEXT = b"# Data source: somewhere\nexported 2026-01-01\na,b\n1,2\n#x,y\n## more\n3,4\n#"


@pytest.mark.parametrize("size", [1, 2, 3, 5, len(TEXT)])
def test_a_preamble_and_comment_lines_are_blanked_and_keep_their_line_numbers(size: int) -> None:
    blanker = LineBlanker(skip_rows=2, comment="##")
    chunks = [TEXT[i : i + size] for i in range(0, len(TEXT), size)]
    out = b"".join(blanker.convert(c) for c in chunks) + blanker.finish()
    assert out == b"\n\na,b\n1,2\n#x,y\n\n3,4\n#"
    assert out.count(b"\n") == TEXT.count(b"\n")


def test_one_character_comment_and_nothing_asked() -> None:
    blanker = LineBlanker(comment="#")
    assert blanker.convert(TEXT) + blanker.finish() == b"\nexported 2026-01-01\na,b\n1,2\n\n\n3,4\n"
    assert LineBlanker().convert(TEXT) == TEXT
