"""Usage errors the client commands catch before asking the service: exit status 2, and no
request made (the URL here answers nothing)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from datatasks.cli import app
from datatasks.embedded import free_port


def _run(*args: str) -> tuple[int, str]:
    """The exit status, and stderr's words without the error box rich draws around them."""
    url = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(app, ["--url", url, *args], env={"DATATASKS_URL": None})
    words = re.sub(r"[\u2500-\u257f]", " ", result.stderr).split()
    return result.exit_code, " ".join(words)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["export", "-d", "a", "-d", "b", "--format", "csv"], "one dataset per request"),
        (["export", "-d", "a"], "give --format"),
        (["export", "-d", "a", "-o", "/no/such/dir/x.csv"], "is not a directory"),
        (["jobs", "--failed", "--status", "completed"], "--failed contradicts --status"),
        (["status", "x", "--url", "ftp://host"], "not an http:// or https:// URL"),
        (["upload", "/no/such/file.csv"], "does not exist"),
    ],
)
def test_usage_errors(args: list[str], says: str) -> None:
    code, err = _run(*args)
    assert code == 2, err
    assert says in err


def test_a_schema_that_is_not_json(tmp_path: Path) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text("{not json")
    code, err = _run("generate", str(schema))
    assert code == 2
    assert "is not JSON" in err


def test_an_upload_option_that_is_not_json(tmp_path: Path) -> None:
    csv = tmp_path / "a.csv"
    csv.write_text("a\n1\n")
    code, err = _run("upload", str(csv), "--null-values", '{"NA": 1}')
    assert code == 2
    assert "must be a JSON list" in err
