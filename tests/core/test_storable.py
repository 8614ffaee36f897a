from __future__ import annotations

from datatasks.core.storable import unstorable


def test_finds_nul_and_non_finite_numbers_with_their_path() -> None:
    assert unstorable({"a": [1, "x", {"b": "c\0"}]}) == (
        "a.2.b: NUL characters (\\u0000) are not allowed"
    )
    assert unstorable({"a": [0.5, float("nan")]}) == "a.1: nan is not a JSON number"
    assert unstorable({"k\0": 1}) is not None
    assert unstorable(float("inf")) == "value: inf is not a JSON number"


def test_ordinary_json_is_storable() -> None:
    assert unstorable({"a": [1, 2.5, "ü", None, True, {"b": []}]}) is None
