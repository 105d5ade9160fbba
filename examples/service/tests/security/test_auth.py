from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app import app

WRONG = [
    None,
    "",
    "Bearer",
    "Bearer ",
    "Bearer wrong",
    "Bearer test-token-and-more",
    "Bearer security-toke",
    "test-token",
    "Basic test-token",
    "Token test-token",
]


@pytest.mark.parametrize("header", WRONG)
def test_items_refuse_a_missing_or_wrong_token(
    client: TestClient, auth: dict[str, str], header: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header}
    listed = client.get("/items", headers=headers)
    added = client.post("/items", json={"name": "x"}, headers=headers)
    assert listed.status_code == added.status_code == 401
    assert listed.headers["www-authenticate"] == "Bearer"
    assert listed.json() == {"detail": "missing or wrong token"}
    # and nothing was added
    assert client.get("/items", headers=auth).json() == []


def test_the_right_token_gets_in(client: TestClient, auth: dict[str, str]) -> None:
    assert client.get("/items", headers=auth).status_code == 200
    assert client.get("/items", headers={"Authorization": "bearer test-token"}).status_code == 200


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Bearer  "])
@pytest.mark.parametrize("token", ["", None])
def test_an_empty_or_unset_api_token_lets_nobody_in(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, token: str | None, header: str | None
) -> None:
    if token is None:
        monkeypatch.delenv("API_TOKEN", raising=False)
    else:
        monkeypatch.setenv("API_TOKEN", token)
    headers = {} if header is None else {"Authorization": header}
    assert client.get("/items", headers=headers).status_code == 401
    assert client.post("/items", json={"name": "x"}, headers=headers).status_code == 401


def test_a_non_ascii_token_is_refused_not_an_error(
    client: TestClient, auth: dict[str, str]
) -> None:
    header = "Bearer sécurité".encode("latin-1")
    assert client.get("/items", headers={"Authorization": header}).status_code == 401


def test_authentication_comes_before_validation(client: TestClient) -> None:
    assert client.post("/items", json={"name": ""}).status_code == 401


def test_health_is_public_but_reveals_no_configuration(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    text = response.text
    assert "test-token" not in text
    assert "sqlite" not in text and "service.db" not in text


def test_a_database_failure_leaks_no_details(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, auth: dict[str, str]
) -> None:
    (tmp_path / "private-dir").write_text("a file where the database's directory should be")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'private-dir' / 'x' / 'db.sqlite'}")
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/items", json={"name": "x"}, headers=auth)
    assert response.status_code == 503
    assert response.json() == {"detail": "database unavailable"}
    assert "private-dir" not in response.text
    assert "Traceback" not in response.text and "sqlite3" not in response.text
