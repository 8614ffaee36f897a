"""The service's commands keep their flags, defaults and exit statuses (what scripts, the
Makefile, the Dockerfile and the e2e tests spawn): each command's work is replaced here, so
only the command line is tested."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from datatasks import cli
from datatasks.core.config import QueueName, Settings
from datatasks.core.preflight import Refused


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[Any, ...]]]:
    """What the commands would have run, with which arguments (settings left out)."""
    made: list[tuple[str, tuple[Any, ...]]] = []

    def recorder(name: str, code: int = 0) -> Any:
        def record(settings: Settings, *args: Any) -> int:
            assert isinstance(settings, Settings)
            made.append((name, args))
            return code

        return record

    async def nothing(settings: Settings) -> None:
        return None

    monkeypatch.setattr(cli, "_api_preflight", nothing)
    monkeypatch.setattr(cli, "_api", recorder("api"))
    monkeypatch.setattr(cli, "_worker", recorder("worker"))
    monkeypatch.setattr(cli, "_run_all", recorder("run"))
    monkeypatch.setattr(cli, "_migrate", recorder("migrate"))
    # The test session's logging stays as its conftest set it.
    monkeypatch.setattr("datatasks.core.logging.configure_logging", lambda *a, **k: None)
    return made


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["api"], ("api", ("127.0.0.1", 8000, 1))),
        (
            ["api", "--host", "0.0.0.0", "--port", "8123", "--workers", "2"],
            ("api", ("0.0.0.0", 8123, 2)),
        ),
        (["worker"], ("worker", (list(QueueName), None, None, "127.0.0.1"))),
        (
            [
                "worker",
                "--queues",
                "generation, export",
                "--concurrency",
                "4",
                "--metrics-port",
                "9100",
                "--metrics-host",
                "0.0.0.0",
            ],
            ("worker", ([QueueName.generation, QueueName.export], 4, 9100, "0.0.0.0")),
        ),
        (["run"], ("run", ("127.0.0.1", 8000))),
        (["run", "--host", "0.0.0.0", "--port", "8080"], ("run", ("0.0.0.0", 8080))),
        (["migrate"], ("migrate", ())),
    ],
)
def test_flags_and_defaults(
    calls: list[tuple[str, tuple[Any, ...]]], argv: list[str], expected: tuple[str, Any]
) -> None:
    assert cli.main(argv) == 0
    assert calls == [expected]


def test_the_command_s_status_is_the_exit_status(
    calls: list[tuple[str, tuple[Any, ...]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "_run_all", lambda settings, host, port: 1)
    assert cli.main(["run"]) == 1


def test_an_unknown_queue_is_a_usage_error(
    calls: list[tuple[str, tuple[Any, ...]]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["worker", "--queues", "generation,nope"]) == 2
    err = capsys.readouterr().err
    assert "'nope' is not a valid QueueName; queues are" in err
    assert calls == []


@pytest.mark.parametrize("argv", [[], ["api", "--port", "x"], ["serve"]])
def test_usage_errors_exit_2(calls: list[tuple[str, tuple[Any, ...]]], argv: list[str]) -> None:
    assert cli.main(argv) == 2
    assert calls == []


def test_help_names_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["-h"]) == 0
    out = capsys.readouterr().out
    for command in ("migrate", "api", "worker", "run", "generate", "upload", "export", "jobs"):
        assert command in out
    assert cli.main(["api", "--help"]) == 0
    assert "API processes sharing the port (default 1)" in capsys.readouterr().out


def test_a_refusal_is_one_line_and_exit_2(
    calls: list[tuple[str, tuple[Any, ...]]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def refuse(settings: Settings) -> int:
        raise Refused("Postgres at postgresql://x is unreachable: start it")

    monkeypatch.setattr(cli, "_migrate", refuse)
    assert cli.main(["migrate"]) == 2
    assert capsys.readouterr().err == (
        "datatasks: Postgres at postgresql://x is unreachable: start it\n"
    )


def test_a_bad_setting_is_one_line_and_exit_2(
    calls: list[tuple[str, tuple[Any, ...]]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_SCHEMA", "Not A Schema")
    assert cli.main(["api"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("datatasks: invalid configuration: database_schema")
    assert len(err.splitlines()) == 1
    assert calls == []


def test_webhook_secret_prints_a_secret_the_settings_and_receivers_accept(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pydantic import SecretStr
    from standardwebhooks.webhooks import Webhook

    assert cli.main(["webhook-secret"]) == 0
    first = capsys.readouterr().out.strip()
    assert cli.main(["webhook-secret"]) == 0
    assert capsys.readouterr().out.strip() != first
    assert first.startswith("whsec_")
    assert Settings(webhook_secret=SecretStr(first)).webhook_secret is not None
    signature = Webhook(first).sign("msg_1", datetime.now(UTC), "{}")
    assert signature.startswith("v1,")
