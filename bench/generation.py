"""The worker's end-to-end generation rate against a raw binary COPY of the same rows, for a
typical 10-field schema and a realistic 12-field one (person, address, template, reference,
distribution, locale)."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import orjson

from bench.service import Service
from datatasks.generation.fields import FieldSpec, ReferenceField, parse_field
from datatasks.generation.generator import Source, generate_json_rows
from datatasks.jobs.execution import COPY_COLUMNS

# A typical 10-field record.
FIELDS: list[dict[str, Any]] = [
    {"name": "id", "type": "uuid"},
    {"name": "n", "type": "sequence"},
    {"name": "first_name", "type": "first_name"},
    {"name": "last_name", "type": "last_name"},
    {"name": "email", "type": "email"},
    {"name": "age", "type": "integer", "min": 18, "max": 90},
    {"name": "score", "type": "float", "min": 0, "max": 100, "decimals": 2},
    {"name": "active", "type": "boolean"},
    {"name": "signed_up", "type": "datetime"},
    {"name": "city", "type": "city"},
]
SEED = 1234

# A realistic 12-field record: a person, an address, a template email, a reference to
# another dataset, a normal-distributed amount, in a locale other than en-US.
REALISTIC_LOCALE = "de"
USERS: list[dict[str, Any]] = [{"name": "id", "type": "uuid", "unique": True}]
USER_COUNT = 20_000


def realistic(users_id: str) -> list[dict[str, Any]]:
    return [
        {"name": "id", "type": "uuid", "unique": True},
        {"name": "first_name", "type": "first_name"},
        {"name": "last_name", "type": "last_name"},
        {"name": "gender", "type": "gender"},
        {
            "name": "email",
            "type": "template",
            "template": "{first_name|ascii|lower}.{last_name|ascii|lower}@acme.test",
        },
        {"name": "street", "type": "street_address"},
        {"name": "city", "type": "city"},
        {"name": "postcode", "type": "postcode"},
        {"name": "country_code", "type": "country_code"},
        {"name": "referrer_id", "type": "reference", "dataset_id": users_id, "field": "id"},
        {
            "name": "amount",
            "type": "float",
            "min": 0,
            "max": 10_000,
            "distribution": {"type": "normal", "mean": 120, "stddev": 40},
        },
        {"name": "signed_up", "type": "datetime"},
    ]


@dataclass(frozen=True)
class Schema:
    label: str
    fields: list[dict[str, Any]]
    locale: str
    target: float


async def _truncate(service: Service) -> None:
    conn = await asyncpg.connect(service.settings.asyncpg_dsn)
    try:
        await conn.execute(f'TRUNCATE "{service.settings.database_schema}".records')
    finally:
        await conn.close()


async def _job(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/generate", json=body)
    response.raise_for_status()
    status_url = response.headers["location"]
    while True:
        status: dict[str, Any] = (await client.get(status_url)).json()
        if status["status"] == "completed":
            return status
        if status["status"] in ("failed", "cancelled"):
            raise RuntimeError(f"benchmark job ended {status['status']}: {status['error']}")
        await asyncio.sleep(0.2)


async def _users(service: Service) -> str:
    """A dataset for the realistic schema to refer to (made again after every TRUNCATE)."""
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
        body = {"record_type": "user", "count": USER_COUNT, "seed": SEED, "fields": USERS}
        status = await _job(client, body)
    return str(status["result"]["dataset_id"])


async def raw_copy_rate(service: Service, rows: int, schema: Schema) -> float:
    """Rows/s of one binary COPY of pre-made rows: the floor under any generation path."""
    specs: list[FieldSpec] = [parse_field(f) for f in schema.fields]
    sources = {}
    conn = await asyncpg.connect(service.settings.asyncpg_dsn)
    try:
        for spec in specs:
            if isinstance(spec, ReferenceField):
                values = await conn.fetch(
                    f'SELECT data -> $2 FROM "{service.settings.database_schema}".records'
                    " WHERE dataset_id = $1 ORDER BY id",
                    spec.dataset_id,
                    spec.field,
                )
                sources[spec.name] = Source.of(spec, [orjson.loads(v[0]) for v in values])
        dataset_id = uuid.uuid4()
        docs = generate_json_rows(
            specs, SEED, 0, rows, locale=schema.locale, count=rows, sources=sources
        )
        records = [(dataset_id, "bench", doc) for doc in docs]
        started = time.perf_counter()
        await conn.copy_records_to_table(
            "records",
            records=records,
            columns=COPY_COLUMNS,
            schema_name=service.settings.database_schema,
        )
        elapsed = time.perf_counter() - started
    finally:
        await conn.close()
    await _truncate(service)
    return rows / elapsed


async def worker_rate(service: Service, rows: int, schema: Schema) -> float:
    """Rows/s of a real worker running a real job, from its start to its completion."""
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
        body = {
            "record_type": "bench",
            "count": rows,
            "seed": SEED,
            "locale": schema.locale,
            "fields": schema.fields,
        }
        status = await _job(client, body)
    elapsed = _seconds(status["finished_at"]) - _seconds(status["started_at"])
    await _truncate(service)
    return rows / elapsed


def _seconds(timestamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(timestamp).timestamp()


async def _measure(
    service: Service, rows: int, repeat: int, realistic_schema: bool
) -> dict[str, Any]:
    """Alternate raw and worker runs so a drift in the machine's speed hits both alike."""
    raw: list[float] = []
    worker: list[float] = []
    schema = Schema("typical", FIELDS, "en-US", 0.85)
    for _ in range(repeat):
        if realistic_schema:
            schema = Schema("realistic", realistic(await _users(service)), REALISTIC_LOCALE, 0.7)
        raw.append(await raw_copy_rate(service, rows, schema))
        if realistic_schema:
            schema = Schema("realistic", realistic(await _users(service)), REALISTIC_LOCALE, 0.7)
        worker.append(await worker_rate(service, rows, schema))
    ratios = [w / r for w, r in zip(worker, raw, strict=True)]
    return {
        "schema": schema.label,
        "locale": schema.locale,
        "fields": len(schema.fields),
        "raw_copy_rows_per_min": round(statistics.median(raw) * 60),
        "worker_rows_per_min": round(statistics.median(worker) * 60),
        "ratio": round(statistics.median(ratios), 3),
        "ratios": [round(r, 3) for r in ratios],
        "target_ratio": schema.target,
    }


async def run(service: Service, rows: int, repeat: int) -> dict[str, Any]:
    """The typical 10-field schema, then the realistic 12-field one, in the same run."""
    await _truncate(service)
    return {
        "rows": rows,
        "schemas": [
            await _measure(service, rows, repeat, realistic_schema=False),
            await _measure(service, rows, repeat, realistic_schema=True),
        ],
    }
