import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app import app


def test_health_reports_every_component_and_the_version(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_VERSION", "1.2.3")
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "version": "1.2.3",
        "components": {"app": True, "database": True},
    }


def test_version_defaults_to_dev(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APP_VERSION", raising=False)
    assert client.get("/health").json()["version"] == "dev"


def degraded(monkeypatch: pytest.MonkeyPatch, url: str) -> dict[str, object]:
    monkeypatch.setenv("DATABASE_URL", url)
    with TestClient(app) as client:
        response = client.get("/health")
    assert response.status_code == 503
    body: dict[str, object] = response.json()
    assert body["status"] == "degraded"
    assert body["components"] == {"app": True, "database": False}
    return body


def test_degraded_when_the_sqlite_file_cannot_be_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "not-a-dir").write_text("a file where the database's directory should be")
    degraded(monkeypatch, f"sqlite:///{tmp_path / 'not-a-dir' / 'service.db'}")


def test_degraded_when_postgres_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    degraded(monkeypatch, "postgresql+psycopg://app:pw@127.0.0.1:1/app")


def test_degraded_and_logged_with_an_unsupported_scheme(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="service.db"):
        degraded(monkeypatch, "mysql://app:hunter2@db/app")
    assert "unsupported DATABASE_URL (scheme 'mysql')" in caplog.text
    assert "hunter2" not in caplog.text


def test_items_start_empty_then_list_what_was_added(
    client: TestClient, auth: dict[str, str]
) -> None:
    assert client.get("/items", headers=auth).json() == []
    first = client.post("/items", json={"name": "first"}, headers=auth)
    second = client.post("/items", json={"name": "second"}, headers=auth)
    assert first.status_code == second.status_code == 201
    assert first.json() == {"id": 1, "name": "first"}
    assert second.json() == {"id": 2, "name": "second"}
    listed = client.get("/items", headers=auth)
    assert listed.status_code == 200
    assert listed.json() == [first.json(), second.json()]


def test_a_name_of_100_characters_is_accepted(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post("/items", json={"name": "x" * 100}, headers=auth)
    assert response.status_code == 201
    assert response.json()["name"] == "x" * 100


@pytest.mark.parametrize(
    "body", [{"name": ""}, {"name": "x" * 101}, {}, {"name": 5}, {"title": "first"}]
)
def test_an_invalid_item_is_refused(
    client: TestClient, auth: dict[str, str], body: dict[str, object]
) -> None:
    response = client.post("/items", json=body, headers=auth)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:2] == ["body", "name"]
    assert client.get("/items", headers=auth).json() == []


def test_items_say_503_when_the_database_is_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, auth: dict[str, str]
) -> None:
    (tmp_path / "not-a-dir").write_text("a file where the database's directory should be")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'not-a-dir' / 'service.db'}")
    with TestClient(app) as client:
        assert client.get("/items", headers=auth).status_code == 503
        response = client.post("/items", json={"name": "first"}, headers=auth)
    assert response.status_code == 503
    assert response.json() == {"detail": "database unavailable"}
