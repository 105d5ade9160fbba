from fastapi.testclient import TestClient


def test_health_then_items(client: TestClient) -> None:
    assert client.get("/health").status_code == 200
    token = {"Authorization": "Bearer placeholder-token"}
    assert client.get("/items", headers=token).status_code == 200
