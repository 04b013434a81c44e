"""`tracktion progress` against the real Redis: listing, one batch, following, exit codes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
import typer
from typer.testing import CliRunner

from infra.settings import Settings
from projections.redis.apply import RedisProgressProjector
from projections.redis.writer import RedisProgressWriter, connect, delete_prefix
from streams.cli.progress_cmd import progress
from tests.integration.projections.redis_support import T0, batch_events, feed, position

SERVICES = ("redis",)  # the conftest fails loudly if one is down

app = typer.Typer()
app.command()(progress)



async def _load(url: str, prefix: str, batches: dict[str, int]) -> None:
    writer = RedisProgressWriter(connect(url), prefix)
    await writer.setup()
    for n, (cid, files) in enumerate(batches.items()):
        events = batch_events(cid, files, T0.replace(hour=n))
        await feed(writer, position(events))
    await writer.close()


@pytest.fixture
def prefix(settings: Settings, uid: str) -> Iterator[str]:
    name = f"t:{uid}:cli:"
    # "ok" has only successes (3 files, none of i%10==3); "bad" has failures.
    asyncio.run(_load(settings.redis_url, name, {"bad": 30, "ok": 3}))
    yield name

    async def clean() -> None:
        redis = connect(settings.redis_url)
        await delete_prefix(redis, name)
        await redis.aclose()

    asyncio.run(clean())


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout


def test_lists_recent_batches_newest_first(prefix: str) -> None:
    code, out = run("--json", "--key-prefix", prefix)
    assert code == 0
    assert [b["correlation_id"] for b in json.loads(out)] == ["ok", "bad"]
    code, out = run("--key-prefix", prefix)
    assert code == 0 and "recent batches" in out and "bad" in out


def test_shows_one_batch(prefix: str) -> None:
    code, out = run("ok", "--json", "--key-prefix", prefix)
    assert code == 0
    shown = json.loads(out)
    assert (shown["total"], shown["succeeded"], shown["done"]) == (3, 3, True)
    code, out = run("ok", "--key-prefix", prefix)
    assert code == 0 and "succeeded" in out and "3 / 3" in out


def test_unknown_batch_exits_2(prefix: str) -> None:
    assert run("nope", "--key-prefix", prefix)[0] == 2


def test_follow_exit_codes(prefix: str) -> None:
    code, out = run("bad", "--follow", "--json", "--key-prefix", prefix)
    assert code == 1 and json.loads(out.splitlines()[-1])["failed"] > 0
    code, out = run("ok", "--follow", "--key-prefix", prefix)
    assert code == 0 and "done" in out
    assert run("nope", "--follow", "--timeout", "0.3", "--key-prefix", prefix)[0] == 3


def test_projector_name_matches_checkpoint_key(prefix: str, settings: Settings) -> None:
    async def names() -> list[str]:
        redis = connect(settings.redis_url)
        found = [k async for k in redis.scan_iter(match=f"{prefix}checkpoint:*")]
        await redis.aclose()
        return found

    assert asyncio.run(names()) == [f"{prefix}checkpoint:{RedisProgressProjector.name}"]
