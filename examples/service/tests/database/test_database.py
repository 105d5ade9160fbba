"""Against the configured DATABASE_URL: SQLite by default, PostgreSQL in CI."""

import os
import sqlite3
import uuid
from collections.abc import Callable
from contextlib import closing
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.db import DEFAULT_URL, parse_url

TARGET = parse_url(os.environ.get("DATABASE_URL") or DEFAULT_URL)


def read_name(item_id: int) -> Any:
    """The item's name read straight from the database, without the app's code."""
    if TARGET.backend == "postgresql":
        import psycopg

        with psycopg.connect(TARGET.location, connect_timeout=5) as pg:
            row = pg.execute("SELECT name FROM items WHERE id = %s", (item_id,)).fetchone()
    else:
        with closing(sqlite3.connect(TARGET.location)) as lite:
            row = lite.execute("SELECT name FROM items WHERE id = ?", (item_id,)).fetchone()
    return row[0] if row else None


def test_the_database_component_is_healthy(
    client: TestClient, record_property: Callable[[str, object], None]
) -> None:
    record_property("backend", TARGET.backend)
    response = client.get("/health")
    assert response.json()["components"]["database"] is True
    assert response.status_code == 200


def test_an_item_round_trips_through_the_database(
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    record_property: Callable[[str, object], None],
) -> None:
    record_property("backend", TARGET.backend)
    monkeypatch.setenv("API_TOKEN", "database-token")
    auth = {"Authorization": "Bearer database-token"}
    name = f"round-trip-{uuid.uuid4()}"
    created = client.post("/items", json={"name": name}, headers=auth)
    assert created.status_code == 201
    item = created.json()
    assert item["name"] == name
    assert item in client.get("/items", headers=auth).json()
    assert read_name(item["id"]) == name


def test_the_target_is_the_configured_backend() -> None:
    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    expected = "postgresql" if url.startswith("postgresql") else "sqlite"
    assert TARGET.backend == expected
