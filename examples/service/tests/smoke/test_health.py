from fastapi.testclient import TestClient


def test_the_app_imports() -> None:
    from service.app import app

    assert {"/health", "/items"} <= {getattr(route, "path", "") for route in app.routes}


def test_health_answers_ok_with_every_component(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["components"] == {"app": True, "database": True}
