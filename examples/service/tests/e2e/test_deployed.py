import os

import httpx
import pytest


@pytest.mark.live
def test_deployed_service_is_healthy() -> None:
    url = os.environ.get("SERVICE_URL", "http://127.0.0.1:8000")
    assert httpx.get(f"{url}/health", timeout=5).json()["status"] == "ok"


def test_client_refuses_without_token_offline() -> None:
    from fastapi.testclient import TestClient

    from service.app import app

    assert TestClient(app).get("/items").status_code == 401
