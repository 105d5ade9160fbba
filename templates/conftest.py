"""Shared test fixtures (a starter rendered by `invoke init`; yours to change).

The placeholder environment lives in pyproject.toml, [tool.shipline.tests] env:
shipline's pytest plugin sets it before this file is imported, so the app imports
without real secrets, and a real value in the environment always wins. The app is
imported inside the fixture, not at collection: importing it can have effects (a
log directory, a database engine) that a tier which never uses it should not pay.
"""
[% if client == "starlette" %]

from collections.abc import Iterator

import pytest
from [[ testclient ]] import TestClient


@pytest.fixture
def client() -> Iterator[TestClient]:
    """Run the app in-process, with its startup and shutdown."""
    from [[ app_module ]] import [[ app_name ]]

    with TestClient([[ app_value ]]) as test_client:
        yield test_client
[% elif client == "flask" %]

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient


@pytest.fixture
def client() -> Iterator[FlaskClient]:
    """Serve the app in-process."""
    from [[ app_module ]] import [[ app_name ]]

    with [[ app_value ]].test_client() as test_client:
        yield test_client
[% endif %]
