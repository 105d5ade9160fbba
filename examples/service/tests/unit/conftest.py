from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app import app


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh SQLite file per test."""
    url = f"sqlite:///{tmp_path / 'service.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    return url


@pytest.fixture
def auth(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("API_TOKEN", "unit-token")
    return {"Authorization": "Bearer unit-token"}


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    """The app with its lifespan (startup creates the table)."""
    with TestClient(app) as client:
        yield client
