"""The embedded servers (the wheels' PostgreSQL and Valkey) as `datatasks run` uses them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import redis
from pydantic import PostgresDsn, RedisDsn

from datatasks.core.config import load_settings
from datatasks.embedded import Missing, answers, embedded_servers, free_port


def test_a_configured_url_is_never_replaced_even_when_nothing_answers_there() -> None:
    nowhere = free_port()
    settings = load_settings(
        database_url=PostgresDsn(f"postgresql://postgres@127.0.0.1:{nowhere}/postgres"),
        redis_url=RedisDsn(f"redis://127.0.0.1:{nowhere}/0"),
    )
    assert not answers(nowhere)
    assert Missing.on_this_machine(settings) == Missing(postgres=False, redis=False)


def test_data_survives_a_restart_and_nothing_runs_after_stop(tmp_path: Path) -> None:
    both = Missing(postgres=True, redis=True)

    async def sql(url: str, query: str) -> object:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetchval(query)
        finally:
            await conn.close()

    with embedded_servers(tmp_path, both, default_ports=False) as urls:
        asyncio.run(sql(urls["DATABASE_URL"], "CREATE TABLE kept AS SELECT 42 AS answer"))
        redis.from_url(urls["REDIS_URL"]).set("kept", "yes")
    for url in urls.values():
        assert not answers(int(url.rsplit(":", 1)[1].split("/")[0]))

    with embedded_servers(tmp_path, both, default_ports=False) as urls:
        assert asyncio.run(sql(urls["DATABASE_URL"], "SELECT answer FROM kept")) == 42
        assert redis.from_url(urls["REDIS_URL"]).get("kept") == b"yes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["postgres", "postgres.log", "valkey"]
