"""Shared test fixtures (a starter rendered by `invoke init`; yours to change).

The placeholder environment lives in pyproject.toml, [tool.shipline.tests] env:
shipline's pytest plugin sets it before this file is imported, so the app imports
without real secrets, and a real value in the environment always wins.
"""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from service.app import app


@pytest.fixture
def client() -> Iterator[TestClient]:
    """The app in-process, with its startup and shutdown run."""
    with TestClient(app) as test_client:
        yield test_client
