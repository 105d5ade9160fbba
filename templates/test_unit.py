"""Unit tests: the app in-process, through its test client (a starter from init)."""
[% if client == "starlette" %]

from [[ testclient ]] import TestClient


def test_the_health_route_answers(client: TestClient) -> None:
    """Answer the health route: the HEALTHCHECK, deploy and smoke checks call it."""
    assert client.get("[[ health_path ]]").status_code == 200
[% else %]

from flask.testing import FlaskClient


def test_the_health_route_answers(client: FlaskClient) -> None:
    """Answer the health route: the HEALTHCHECK, deploy and smoke checks call it."""
    assert client.get("[[ health_path ]]").status_code == 200
[% endif %]
