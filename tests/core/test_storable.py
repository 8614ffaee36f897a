from __future__ import annotations

from datatasks.core.storable import find_unstorable, unstorable


def test_finds_nul_and_non_finite_numbers_with_their_path() -> None:
    assert unstorable({"a": [1, "x", {"b": "c\0"}]}) == "a.2.b: must not contain NUL characters"
    assert unstorable({"a": [0.5, float("nan")]}) == "a.1: nan is not a JSON number"
    assert unstorable({"k\0": 1}) is not None
    assert unstorable(float("inf")) == "value: inf is not a JSON number"
    # The first one, in document order.
    assert find_unstorable({"a": "ok", "b": ["\0", "\0"], "c": "\0"}) == (
        ("b", 0),
        "must not contain NUL characters",
        "\0",
    )


def test_ordinary_json_is_storable() -> None:
    assert unstorable({"a": [1, 2.5, "ü", None, True, {"b": []}]}) is None


def test_nesting_deeper_than_python_recurses() -> None:
    deep: list[object] = ["\0"]
    for _ in range(100_000):
        deep = [deep]
    found = find_unstorable(deep)
    assert found is not None
    assert found[0] == (0,) * 100_001
