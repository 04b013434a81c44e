"""Generated credentials: private file, read by the settings under the environment, no
password in the code's defaults."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from infra import credentials
from infra.settings import Settings, get_settings


@pytest.fixture
def stack_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in ("DATABASE_URL", "REDIS_URL", "RABBITMQ_URL", "NEO4J_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STACK_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_the_defaults_carry_no_password() -> None:
    fields = Settings.model_fields
    for name in ("database_url", "redis_url", "rabbitmq_url"):
        assert urlsplit(str(fields[name].default)).password is None, name
    assert fields["neo4j_password"].default == ""


def test_ensure_writes_a_private_file_once_and_the_settings_read_it(stack_dir: Path) -> None:
    assert credentials.ensure() is True
    path = stack_dir / "credentials.env"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    first = path.read_text()
    assert credentials.ensure() is False and path.read_text() == first
    s = get_settings()
    urls = [urlsplit(u) for u in (s.database_url, s.redis_url, s.rabbitmq_url)]
    passwords = {u.password for u in urls} | {s.neo4j_password}
    assert len(passwords) == 4 and all(p and len(p) == 32 for p in passwords)
    assert {u.username for u in urls} == {"tracktion"}
    assert urls[2].path == "/tracktion"  # RabbitMQ: its own vhost, not "/"


def test_the_environment_wins_over_the_file(stack_dir: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    credentials.ensure()
    monkeypatch.setenv("NEO4J_PASSWORD", "from-the-environment")
    get_settings.cache_clear()
    assert get_settings().neo4j_password == "from-the-environment"


def test_a_loosened_file_is_tightened_again(stack_dir: Path) -> None:
    credentials.ensure()
    path = stack_dir / "credentials.env"
    path.chmod(0o644)
    credentials.ensure()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
