"""Typed configuration, read once at start-up from the environment (and an optional `.env`)."""

from __future__ import annotations

import base64
import hmac
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    PostgresDsn,
    RedisDsn,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from datatasks.core.errors import ConfigError


class Environment(StrEnum):
    development = "development"
    staging = "staging"
    production = "production"
    test = "test"


class StorageBackend(StrEnum):
    local = "local"
    s3 = "s3"


class QueueName(StrEnum):
    generation = "generation"
    ingest = "ingest"
    export = "export"
    erasure = "erasure"
    # Webhook deliveries (see datatasks.webhooks): not jobs of their own, announcements of them.
    webhooks = "webhooks"


class QueueSettings(BaseModel):
    """How one queue retries, times out and keeps its jobs. Nothing is left to library defaults."""

    attempts: int = Field(default=3, ge=1, le=100)
    backoff_ms: int = Field(default=2_000, ge=0, description="first retry delay; doubles each time")
    timeout_s: float = Field(default=3_600.0, gt=0, description="per-attempt time limit")
    concurrency: int = Field(default=2, ge=1, le=1_000)
    # A crashed worker's job is picked up again after about lock + 2 stalled intervals; the lock
    # is renewed every half duration, so it only lapses when the worker is gone or frozen.
    lock_duration_ms: int = Field(default=15_000, ge=1_000)
    stalled_interval_ms: int = Field(default=5_000, ge=1_000)
    # A job whose worker died is re-delivered this many times before it is failed as stalled;
    # a crash is not the job's fault, so allow several.
    max_stalled_count: int = Field(default=5, ge=0)
    keep_completed_s: int = Field(default=3_600, ge=0, description="completed jobs kept in Redis")
    keep_failed_count: int = Field(default=10_000, ge=0, description="dead letters kept in Redis")
    # New jobs are refused (503, Retry-After) while this many wait in the queue.
    max_backlog: int = Field(default=100_000, ge=1)


def _default_queues() -> dict[QueueName, dict[str, Any]]:
    """Each queue's defaults. A webhook is retried with backoff for about a day (5 s, 10 s,
    ... 11 h: 15 attempts over 22.7 h), many at once, each attempt short."""
    queues: dict[QueueName, dict[str, Any]] = {name: {} for name in QueueName}
    queues[QueueName.webhooks] = {
        "attempts": 15,
        "backoff_ms": 5_000,
        "timeout_s": 60.0,
        "concurrency": 16,
    }
    return queues


_PLACEHOLDER_SECRET = "change-me"  # noqa: S105 - the point is to refuse it in production


class Settings(BaseSettings):
    """All configuration. Nothing else in the code reads `os.environ`."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_nested_delimiter="__",
        extra="ignore",
    )

    app_env: Environment = Environment.development
    database_url: PostgresDsn = PostgresDsn("postgresql://postgres@127.0.0.1:5432/postgres")
    # A schema of its own keeps the service's tables apart (and gives each test run its own).
    database_schema: str = Field(default="datatasks", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    database_pool_size: int = Field(default=10, ge=1, le=200)
    redis_url: RedisDsn = RedisDsn("redis://127.0.0.1:6379/0")
    queue_prefix: str = Field(default="datatasks", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    # Optional API keys (none: the API is open, as for local use). A JSON list, or keys
    # separated by commas: API_KEYS=key-one,key-two.
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    # Signs download links. SecretStr: it never shows in a repr or a log line.
    secret_key: SecretStr = SecretStr(_PLACEHOLDER_SECRET)
    # The key of the `hash` and `fake` export masks. Unset: derived from SECRET_KEY. Changing
    # it changes every pseudonym, so joins across exports made before and after break.
    mask_key: SecretStr | None = None

    # Any case: `debug` is as good as `DEBUG`.
    log_level: Annotated[str, BeforeValidator(lambda v: v.upper() if isinstance(v, str) else v)] = (
        Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    )
    log_json: bool = True

    # `datatasks run` on a machine without Postgres or Redis keeps the embedded servers' data
    # here (see datatasks.embedded).
    embedded_dir: Path = Path("var")

    storage_backend: StorageBackend = StorageBackend.local
    # local: objects live under this directory (created if missing).
    storage_dir: Path = Path("var/storage")
    # s3: any S3-compatible service; credentials may also come from the usual AWS sources.
    s3_bucket: str = "datatasks"
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    # Lifetime of export download links (signed API links, or S3 presigned URLs).
    download_link_ttl_s: int = Field(default=24 * 3600, ge=60, le=7 * 24 * 3600)
    s3_part_size: int = Field(default=8 * 1024 * 1024, ge=5 * 1024 * 1024)

    # JSON request bodies; uploads have a cap of their own.
    max_body_bytes: int = Field(default=1_048_576, ge=1_024)
    upload_max_bytes: int = Field(default=100 * 1024 * 1024, ge=1_024)
    # A request whose next body chunk takes longer than this gets 408 and its connection closed.
    request_body_timeout_s: float = Field(default=30.0, gt=0, le=3_600)
    # Records per COPY transaction (one checkpoint each) when loading an upload, and a cap on a
    # transaction's JSON text (characters): a worker holds about two per running ingest job (one
    # being copied, the next being parsed).
    ingest_chunk_size: int = Field(default=50_000, ge=1_000, le=1_000_000)
    ingest_chunk_bytes: int = Field(default=64 * 1024 * 1024, ge=1024 * 1024)
    # The longest line (CSV, NDJSON), JSON array element or multi-line CSV record an ingest
    # keeps: a longer one is rejected as it streams past, so no one row costs more memory.
    ingest_max_record_bytes: int = Field(default=4 * 1024 * 1024, ge=1_024, le=1024 * 1024 * 1024)
    # More columns (CSV) or distinct keys (JSON) than an export can select fail the ingest.
    ingest_max_columns: int = Field(default=1_600, ge=1, le=1_600)
    # An ingest job fails (and its partial dataset is removed) when more rows than this share
    # are rejected.
    ingest_max_reject_share: float = Field(default=0.5, ge=0, le=1)
    generate_max_count: int = Field(default=10_000_000, ge=1)
    # Records per COPY transaction (one checkpoint each), and a cap on a chunk's JSON text: a
    # worker holds two chunks per running job (one being copied, the next being made).
    generate_chunk_size: int = Field(default=50_000, ge=1_000, le=1_000_000)
    generate_chunk_bytes: int = Field(default=64 * 1024 * 1024, ge=1024 * 1024)
    # How long an Idempotency-Key is remembered.
    idempotency_ttl_s: int = Field(default=24 * 3600, ge=60)
    # How long the API waits for Redis or Postgres before answering 503.
    dependency_timeout_s: float = Field(default=2.0, gt=0, le=60)
    # The longest a worker waits on any one Postgres step of a job (a chunk's COPY and
    # checkpoint, a status change, a connect): past it the connection is dropped and the job
    # handed back without spending an attempt. A lost connection ends the step at once.
    worker_db_timeout_s: float = Field(default=60.0, gt=0, le=3_600)
    # How long a stopping worker lets in-flight jobs run before releasing them.
    shutdown_grace_s: float = Field(default=25.0, ge=0)
    # Dispatchers (one per worker) are woken by each commit; they also sweep the outbox this
    # often, as a backstop (see worker/dispatcher).
    dispatch_sweep_s: float = Field(default=1.0, gt=0, le=60)
    # Jobs a dispatcher moves per transaction (one addBulk per queue).
    dispatch_batch: int = Field(default=1_000, ge=1, le=10_000)
    # Live job rows untouched this long are checked against their queue (see worker/reconciler).
    reconcile_interval_s: float = Field(default=30.0, gt=0)
    reconcile_quiet_s: float = Field(default=60.0, ge=0)

    # Webhooks: signed with this secret (Standard Webhooks: `whsec_` and base64, as
    # `datatasks webhook-secret` prints one). Unset: requests with a `callback_url` get a 422.
    webhook_secret: SecretStr | None = None
    # Hosts a `callback_url` may name, separated by commas: `*` (any host with a public
    # address), a name (`hooks.example.com`), a suffix (`*.example.com`), an address or a
    # network (`10.0.0.0/8`). A private, loopback or link-local address is only called when an
    # entry other than `*` names it (or the host that resolves to it).
    webhook_allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["*"])
    # Connecting and the whole exchange of one attempt; a receiver should answer fast and
    # do its work later.
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=120)

    queues: dict[QueueName, QueueSettings] = Field(
        default_factory=lambda: {
            name: QueueSettings.model_validate(values) for name, values in _default_queues().items()
        }
    )

    @model_validator(mode="before")
    @classmethod
    def _fill_queues(cls, data: Any) -> Any:
        # `QUEUES__EXPORT__ATTEMPTS=5` must not drop the other queues' defaults.
        if isinstance(data, dict) and isinstance(data.get("queues"), dict):
            queues = {QueueName(k): v for k, v in data["queues"].items()}
            data["queues"] = {
                name: given
                if isinstance(given := queues.get(name, {}), QueueSettings)
                else {**defaults, **given}
                for name, defaults in _default_queues().items()
            }
        return data

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if value.startswith("["):
                return json.loads(value)
            return [k.strip() for k in value.split(",") if k.strip()]
        return value

    @field_validator("webhook_allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [h.strip().lower() for h in value.split(",") if h.strip()]
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _usable_secret(cls, secret: SecretStr | None) -> SecretStr | None:
        # Standard Webhooks: `whsec_` and the base64 of 24 to 64 random bytes.
        if secret is not None:
            text = secret.get_secret_value().removeprefix("whsec_")
            try:
                key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
            except ValueError:
                key = b""
            if not 24 <= len(key) <= 64:
                raise ValueError(
                    "WEBHOOK_SECRET must be whsec_ and the base64 of 24 to 64 random bytes "
                    "(`datatasks webhook-secret` prints a new one)"
                )
        return secret

    @field_validator("api_keys")
    @classmethod
    def _long_keys(cls, keys: list[SecretStr]) -> list[SecretStr]:
        if any(len(k.get_secret_value()) < 16 for k in keys):
            raise ValueError("API keys must be at least 16 characters")
        return keys

    @field_validator("database_url")
    @classmethod
    def _asyncpg_url(cls, url: PostgresDsn) -> PostgresDsn:
        # Accept what people write (postgres://, postgresql://) and what SQLAlchemy users write
        # (postgresql+asyncpg://); refuse drivers this service does not use.
        if url.scheme not in ("postgres", "postgresql", "postgresql+asyncpg"):
            raise ValueError(f"use postgresql:// (got {url.scheme}://)")
        return url

    @model_validator(mode="after")
    def _refuse_placeholders_in_production(self) -> Self:
        secret = self.secret_key.get_secret_value()
        if self.app_env is Environment.production and (
            secret == _PLACEHOLDER_SECRET or len(secret) < 32
        ):
            raise ValueError("SECRET_KEY must be a real secret of 32+ characters in production")
        return self

    @property
    def masking_key(self) -> bytes:
        """MASK_KEY, or a key derived from SECRET_KEY (never SECRET_KEY itself, which signs
        download links)."""
        if self.mask_key is not None:
            return self.mask_key.get_secret_value().encode()
        secret = self.secret_key.get_secret_value().encode()
        return hmac.digest(secret, b"datatasks export masks", "sha256")

    def queue(self, name: QueueName) -> QueueSettings:
        return self.queues[name]

    @property
    def asyncpg_dsn(self) -> str:
        """The DSN in the form asyncpg itself accepts (no SQLAlchemy driver suffix)."""
        _, rest = str(self.database_url).split("://", 1)
        return f"postgresql://{rest}"

    @property
    def application_name(self) -> str:
        """What this instance's Postgres sessions are called in pg_stat_activity: instances
        sharing a server (each in its schema) tell theirs apart by it. Postgres keeps 63 bytes."""
        return f"datatasks:{self.database_schema}"[:63]

    @property
    def sqlalchemy_url(self) -> str:
        return self.asyncpg_dsn.replace("postgresql://", "postgresql+asyncpg://", 1)


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the configuration, or raise ConfigError with every problem listed."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from exc
