import sqlite3
from contextlib import closing

from fastapi.testclient import TestClient

from service.app import app
from service.db import parse_url


def test_create_then_list_persists_in_the_sqlite_file(
    client: TestClient, auth: dict[str, str], database_url: str
) -> None:
    assert client.get("/health").json()["status"] == "ok"
    created = client.post("/items", json={"name": "widget"}, headers=auth)
    assert created.status_code == 201
    item = created.json()
    assert client.get("/items", headers=auth).json() == [item]

    # The row is in the file itself, read without the app.
    path = parse_url(database_url).location
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT id, name FROM items").fetchall() == [(item["id"], "widget")]


def test_items_survive_a_restart(database_url: str, auth: dict[str, str]) -> None:
    with TestClient(app) as first:
        assert first.post("/items", json={"name": "kept"}, headers=auth).status_code == 201
    with TestClient(app) as restarted:
        assert restarted.get("/health").status_code == 200
        names = [i["name"] for i in restarted.get("/items", headers=auth).json()]
    assert names == ["kept"]
