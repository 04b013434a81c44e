"""`tracktion --prefix X COMMAND`: one root option names the namespace every command uses;
the older per-command flags and their environment variables still override it."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from infra.settings import Settings
from schemas.namespace import Namespace
from streams.cli import progress_cmd, query_cmd, root, topics_cmd, worker_cmd
from streams.cli.main import app


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What the commands hand over, with every service call replaced by a recorder."""
    got: dict[str, Any] = {}

    async def describe(_: str, ns: Namespace) -> list[object]:
        got["topics"] = ns
        return []

    async def show(_: str, prefix: str, *args: object) -> int:
        got["keys"] = prefix
        return 0

    async def tracks(_: object, schema: str) -> list[dict[str, Any]]:
        got["schema"] = schema
        return []

    async def run_roles(*_: object) -> int:
        return 0

    def build(_: str, ns: Namespace) -> list[object]:
        got["worker"] = ns
        return []

    monkeypatch.setattr(topics_cmd, "describe_topics", describe)
    monkeypatch.setattr(progress_cmd, "_show", show)
    monkeypatch.setattr(query_cmd, "fetch_tracks", tracks)
    monkeypatch.setattr(worker_cmd, "_build", build)
    monkeypatch.setattr(worker_cmd, "run_roles", run_roles)
    for env in ("TRACKTION_PREFIX", "TRACKTION_DB_SCHEMA", "REDIS_KEY_PREFIX"):
        monkeypatch.delenv(env, raising=False)
    monkeypatch.setattr(root, "get_settings", lambda: Settings(tracktion_prefix="tracktion"))
    return got


def invoke(*args: str, env: dict[str, str] | None = None) -> None:
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output


def test_the_root_option_reaches_every_command(seen: dict[str, Any]) -> None:
    invoke("--prefix", "p1", "topics", "describe")
    invoke("--prefix", "p1", "progress")
    invoke("--prefix", "p1", "query", "tracks", "--json")
    invoke("--prefix", "p1", "worker", "--role", "bridge")
    assert seen == {"topics": Namespace("p1"), "keys": "p1:", "schema": "p1",
                    "worker": Namespace("p1")}


def test_without_it_the_live_namespace(seen: dict[str, Any]) -> None:
    invoke("topics", "describe")
    invoke("progress")
    invoke("query", "tracks", "--json")
    assert seen == {"topics": Namespace(), "keys": "tracktion:", "schema": "tracktion"}


def test_the_settings_name_the_default(seen: dict[str, Any], monkeypatch: pytest.MonkeyPatch
                                       ) -> None:
    monkeypatch.setenv("TRACKTION_PREFIX", "fromenv")
    assert Settings().namespace == Namespace("fromenv")
    monkeypatch.setattr(root, "get_settings", lambda: Settings())
    invoke("topics", "describe")
    assert seen["topics"] == Namespace("fromenv")


def test_the_deprecated_flags_still_override(seen: dict[str, Any]) -> None:
    invoke("--prefix", "p1", "topics", "describe", "--prefix", "p2")
    invoke("--prefix", "p1", "worker", "--role", "bridge", "--prefix", "p2")
    invoke("--prefix", "p1", "progress", "--key-prefix", "k:")
    invoke("--prefix", "p1", "query", "tracks", "--json", "--schema", "s1")
    assert seen == {"topics": Namespace("p2"), "worker": Namespace("p2"), "keys": "k:",
                    "schema": "s1"}
    invoke("query", "tracks", "--json", env={"TRACKTION_DB_SCHEMA": "s2"})
    invoke("progress", env={"REDIS_KEY_PREFIX": "k2:"})
    assert (seen["schema"], seen["keys"]) == ("s2", "k2:")


def test_help_shows_one_namespace_option() -> None:
    assert "--prefix" in CliRunner().invoke(app, ["--help"]).output
    for command in (["topics", "create"], ["worker"], ["query", "tracks"], ["progress"]):
        shown = CliRunner().invoke(app, [*command, "--help"]).output
        assert not any(flag in shown for flag in ("--prefix", "--schema", "--key-prefix")), \
            command
