"""Shared test fixtures (a starter rendered by `invoke init`; yours to change).

The placeholder environment lives in pyproject.toml, [tool.shipline.tests] env:
shipline's pytest plugin sets it before this file is imported, so the app imports
without real secrets, and a real value in the environment always wins.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app import app

TOKEN = "test-token"


@pytest.fixture
def client() -> Iterator[TestClient]:
    """The app in-process, with its startup and shutdown run."""
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(autouse=True)
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """A fresh SQLite file per test, but in the tiers that test the configured database."""
    if not any(request.node.get_closest_marker(tier) for tier in ("smoke", "database", "e2e")):
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'service.db'}")
    return os.environ.get("DATABASE_URL", "")


@pytest.fixture
def auth(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The token the app expects, and the header that carries it."""
    monkeypatch.setenv("API_TOKEN", TOKEN)
    return {"Authorization": f"Bearer {TOKEN}"}
