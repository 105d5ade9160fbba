import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize("header", [None, "Bearer wrong", "placeholder-token"])
def test_items_refuse_without_the_token(client: TestClient, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    assert client.get("/items", headers=headers).status_code == 401
