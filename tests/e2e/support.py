"""Shared pieces of the end-to-end and integration tests: a cached generated corpus, a free
port, a CLI run in a child process, and namespace cleanup."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from infra.corpus.generate import generate_corpus
from infra.settings import Settings
from schemas.namespace import Namespace
from streams.ops.namespace import STORES, drop_namespace

CORPUS_CACHE = Path(__file__).resolve().parents[2] / ".stack" / "test-corpus"


def generated_corpus(name: str, count: int, seconds: float) -> Path:
    """Deterministic by seed, so it is generated once per machine and reused."""
    out = CORPUS_CACHE / name
    if not (out / "labels.json").exists():
        generate_corpus(out, count=count, seconds=seconds, seed=42)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli_output(*args: str, timeout: float = 120, **env: str) -> tuple[int, str]:
    """Run `tracktion ARGS` in a child with `env` added: its exit code and its stdout and
    stderr as one line (rich wraps long lines, so messages are matched whitespace-free)."""
    done = subprocess.run([sys.executable, "-m", "streams.cli.main", *args], timeout=timeout,
                          capture_output=True, text=True, env={**os.environ, **env})
    return done.returncode, " ".join((done.stdout + done.stderr).split())


async def cleanup_namespace(settings: Settings, prefix: str,
                            stores: Iterable[str] = STORES) -> None:
    """Drop the test's namespace from `stores`; a store that refuses fails the test (Kafka
    leftovers under a unique name are harmless). The one clean-up of every test namespace:
    the `prefix` fixture (tests/conftest.py) and the modules that name their own."""
    failed = await drop_namespace(settings, Namespace(prefix), stores)
    failed.pop("kafka", None)
    assert not failed, f"clean-up of namespace {prefix} failed: {failed}"
