import pytest
from fastapi.testclient import TestClient

from service import app as service


def test_health_reports_every_component(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["components"] == {"app": True, "database": True}
    assert body["version"] == service.VERSION


def test_degraded_when_the_database_fails(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "database_ok", lambda: False)
    response = client.get("/health")
    assert response.status_code == 503
    assert response.json()["status"] == "degraded"


def test_items_with_token(client: TestClient) -> None:
    response = client.get("/items", headers={"Authorization": "Bearer placeholder-token"})
    assert response.json() == [{"id": 1, "name": "first"}]
