"""The deployed service, from outside: live tests run with --live=on (or on main in CI)."""

import os
import uuid
from collections.abc import Iterator

import httpx
import pytest

from service.app import app


@pytest.fixture
def service() -> Iterator[httpx.Client]:
    url = os.environ.get("SERVICE_URL")
    if not url:
        pytest.fail("live e2e tests need SERVICE_URL, the deployed service's base URL")
    with httpx.Client(base_url=url, timeout=10) as client:
        yield client


@pytest.fixture
def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {os.environ['API_TOKEN']}"}


@pytest.mark.live
def test_deployed_service_is_healthy(service: httpx.Client) -> None:
    response = service.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["components"] and all(body["components"].values())


@pytest.mark.live
def test_deployed_items_refuse_without_token(service: httpx.Client) -> None:
    assert service.get("/items").status_code == 401


@pytest.mark.live
def test_deployed_items_round_trip(service: httpx.Client, auth: dict[str, str]) -> None:
    name = f"e2e-{uuid.uuid4()}"
    created = service.post("/items", json={"name": name}, headers=auth)
    assert created.status_code == 201, created.text
    assert created.json()["name"] == name
    listed = service.get("/items", headers=auth)
    assert listed.status_code == 200
    assert created.json() in listed.json()


def test_the_api_schema_lists_the_endpoints() -> None:
    paths = app.openapi()["paths"]
    assert set(paths) == {"/health", "/items"}
    assert set(paths["/items"]) == {"get", "post"}
    assert "201" in paths["/items"]["post"]["responses"]
