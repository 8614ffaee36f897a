from __future__ import annotations

import pytest

from datatasks.core.config import Environment, QueueName, load_settings
from datatasks.core.errors import ConfigError


def test_defaults_work_without_any_env() -> None:
    settings = load_settings()
    assert settings.app_env is Environment.development
    assert str(settings.redis_url).startswith("redis://127.0.0.1:6379")
    for name in QueueName:
        q = settings.queue(name)
        assert q.attempts == (15 if name is QueueName.webhooks else 3)
        assert q.backoff_ms > 0
        assert q.timeout_s > 0


def test_nested_queue_settings_from_env_keep_other_queues(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUEUES__EXPORT__ATTEMPTS", "7")
    monkeypatch.setenv("QUEUES__GENERATION__TIMEOUT_S", "12.5")
    settings = load_settings()
    assert settings.queue(QueueName.export).attempts == 7
    assert settings.queue(QueueName.generation).timeout_s == 12.5
    assert settings.queue(QueueName.ingest).attempts == 3
    # A queue's own defaults survive another queue's override.
    assert settings.queue(QueueName.webhooks).attempts == 15
    assert settings.queue(QueueName.webhooks).backoff_ms == 5_000


def test_webhook_settings_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_ALLOWED_HOSTS", " Hooks.Example.com, 10.0.0.0/8 ,*.corp.example")
    assert load_settings().webhook_allowed_hosts == [
        "hooks.example.com",
        "10.0.0.0/8",
        "*.corp.example",
    ]
    monkeypatch.setenv("WEBHOOK_SECRET", "not base64 at all!")
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET must be"):
        load_settings()


def test_bad_config_fails_with_a_message_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("APP_ENV", "prod")
    monkeypatch.setenv("GENERATE_CHUNK_SIZE", "-1")
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert "app_env" in message
    assert "generate_chunk_size" in message


def test_production_refuses_the_placeholder_secret() -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_settings(app_env="production")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_settings(app_env="production", secret_key="short")
    settings = load_settings(app_env="production", secret_key="s3cret-" * 5)
    assert "s3cret" not in repr(settings)


def test_dsns_for_both_drivers() -> None:
    settings = load_settings(database_url="postgresql+asyncpg://u@h:5432/d")
    assert settings.asyncpg_dsn == "postgresql://u@h:5432/d"
    assert settings.sqlalchemy_url == "postgresql+asyncpg://u@h:5432/d"
