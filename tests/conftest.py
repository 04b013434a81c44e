"""Shared test configuration: settings and unique names; service fixtures live in integration/."""

from __future__ import annotations

import uuid

import pytest

from infra.settings import Settings, get_settings


@pytest.fixture(scope="session")
def settings() -> Settings:
    return get_settings()


@pytest.fixture
def uid() -> str:
    """A short unique token for naming topics, schemas, key prefixes and labels per test."""
    return uuid.uuid4().hex[:10]
