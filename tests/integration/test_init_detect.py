"""`shipline init` on projects shaped as real ones are, then their real sessions.

(a) A FastAPI app built by a factory (`app = create_app()`) in a distribution whose
name (`acme-server`) is not its package's (`app`): init finds the app, and `nox -s
unit type` pass. (b) A flat layout of routers/, services/, db/, models/ and main.py:
coverage measures every one of them and mypy checks every one. (c) A factory alone,
`app.main:create_app()`: the rendered starters call it, and the image's gunicorn
serves what it returns.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import defusedxml.ElementTree as ET
import pytest
from support.run import nox
from support.sample import BASE_IMAGE, app_pyproject, write
from support.sandbox import remove_images
from test_image_runs import engine, init_build_and_probe
from test_init import shipline

__all__ = ["engine"]  # the fixture, used by name

SRC_APP = '\n[tool.hatch.build.targets.wheel]\npackages = ["src/app"]\n'

FACTORY = '''\
"""The app factory: settings read when the app is built, not at import."""

from fastapi import FastAPI

from app.routes import router


def create_app() -> FastAPI:
    application = FastAPI(title="acme")
    application.include_router(router)
    return application
'''

ROUTES = '''\
"""The routes."""

from fastapi import APIRouter

router = APIRouter()


@router.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
'''

MAIN = '''\
"""The app gunicorn serves."""

from app.factory import create_app

app = create_app()
'''

MAIN_TEST = """\
from fastapi.testclient import TestClient

from app.main import app


def test_health() -> None:
    assert TestClient(app).get("/health").json() == {"status": "ok"}
"""

FACTORY_TEST = """\
from fastapi.testclient import TestClient


def test_health(client: TestClient) -> None:  # the fixture of the rendered conftest
    assert client.get("/health").json() == {"status": "ok"}
"""
"""Uses the `client` fixture init renders, which calls the factory."""


def factory_project(root: Path, name: str, modules: dict[str, str], test: str) -> Path:
    """The acme server: its package `app` holds the routes and `modules`."""
    write(root, "pyproject.toml", app_pyproject(name, extra=SRC_APP))
    write(root, "src/app/__init__.py", '"""The acme server."""\n')
    write(root, "src/app/routes.py", ROUTES)
    for module, text in modules.items():
        write(root, f"src/app/{module}", text)
    write(root, "tests/test_health.py", test)
    return root


def passed(result: object, *sessions: str) -> None:
    for session in sessions:
        assert f"* {session}: success" in str(result), result


def test_a_factory_app_in_a_package_not_named_after_the_project(tmp_path: Path) -> None:
    modules = {"factory.py": FACTORY, "main.py": MAIN}
    project = factory_project(tmp_path / "acme", "acme-server", modules, MAIN_TEST)

    done = shipline(project, "init")
    assert done.returncode == 0, done
    assert "acme-server: package src/app, ASGI app app.main:app, Python 3.12" in done.stdout
    assert "apps found" not in done.stdout  # the factory main.py calls is not a second app
    assert "note:" not in done.stdout  # the /health route was found

    checks = nox(project, "-s", "smoke", "unit", "type")
    assert checks.code == 0, checks
    passed(checks, "smoke", "unit", "type")
    assert "nox > mypy src/app\n" in checks.output, checks
    assert "--cov=app " in checks.output, checks


FLAT_PYPROJECT = """\
[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "shop-api"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["fastapi"]

[project.optional-dependencies]
dev = ["pytest>=8", "httpx"]

[tool.setuptools]
packages = ["routers", "services", "db", "models"]
py-modules = ["main"]
"""

FLAT = {
    "routers/__init__.py": '"""HTTP routes."""\n',
    "routers/items.py": '''\
        """The items API."""

        from fastapi import APIRouter

        from services.pricing import price_of

        router = APIRouter()


        @router.get("/items/{name}")
        def item(name: str) -> dict[str, object]:
            return {"name": name, "price": price_of(name)}
        ''',
    "services/__init__.py": '"""Business rules."""\n',
    "services/pricing.py": '''\
        """Prices from the catalogue."""

        from db.store import lookup


        def price_of(name: str) -> int:
            return lookup(name).cents
        ''',
    "db/__init__.py": '"""Storage."""\n',
    "db/store.py": '''\
        """An in-memory store."""

        from models.item import Item

        ITEMS = {"tea": Item("tea", 250)}


        def lookup(name: str) -> Item:
            return ITEMS[name]
        ''',
    "models/__init__.py": '"""The domain."""\n',
    "models/item.py": '''\
        """An item for sale."""

        from dataclasses import dataclass


        @dataclass(frozen=True)
        class Item:
            name: str
            cents: int
        ''',
    "main.py": '''\
        """The app."""

        from fastapi import FastAPI

        from routers.items import router

        app = FastAPI()
        app.include_router(router)


        @app.get("/health")
        def health() -> dict[str, str]:
            return {"status": "ok"}
        ''',
    "services/legacy.py": "def unused() -> int:\n    return 1\n",  # no test imports it
    # Not the project's code: its migrations and its tests are never measured.
    "migrations/env.py": "print('never imported')\n",
    "migrations/versions/0001_items.py": "revision = '0001'\n",
    "tests/test_items.py": """\
        from fastapi.testclient import TestClient

        from main import app


        def test_item_priced() -> None:
            client = TestClient(app)
            assert client.get("/items/tea").json() == {"name": "tea", "price": 250}
            assert client.get("/health").json() == {"status": "ok"}
        """,
}
PACKAGES = ("db", "models", "routers", "services")


def measured(coverage_xml: Path) -> dict[str, int]:
    """Each file coverage.xml reports, as it names it, with its lines hit."""
    root = ET.parse(coverage_xml).getroot()
    return {
        klass.get("filename", ""): sum(
            int(line.get("hits", "0")) > 0 for line in klass.iter("line")
        )
        for klass in root.iter("class")
    }


def test_a_flat_layout_of_several_packages_is_measured_and_checked_whole(tmp_path: Path) -> None:
    project = tmp_path / "shop"
    write(project, "pyproject.toml", FLAT_PYPROJECT)
    for relative, text in FLAT.items():
        write(project, relative, text)

    done = shipline(project, "init")
    assert done.returncode == 0, done
    assert "shop-api: code db, main.py, models, routers, services, ASGI app main:app" in done.stdout

    checks = nox(project, "-s", "unit", "type")
    assert checks.code == 0, checks
    passed(checks, "unit", "type")
    for name in (*PACKAGES, "main"):
        assert f"--cov={name} " in checks.output, checks
    files = measured(project / "reports" / "unit" / "coverage.xml")
    # Every package's files, named from the root (not four `__init__.py` hiding each
    # other), the module, and code no test imports; neither tests nor migrations.
    assert set(files) == {
        *(f"{package}/__init__.py" for package in PACKAGES),
        "routers/items.py",
        "services/pricing.py",
        "services/legacy.py",
        "db/store.py",
        "models/item.py",
        "main.py",
    }, files
    assert files["services/legacy.py"] == 0
    assert files["db/store.py"] == 4
    assert re.search(r"^TOTAL +27 +2 +93%$", checks.output, re.MULTILINE), checks

    assert "nox > mypy db main.py models routers services\n" in checks.output, checks
    assert "Success: no issues found in 10 source files" in checks.output, checks


@pytest.fixture
def app_name() -> Iterator[str]:
    """The image's name; its images are removed after."""
    name = f"detect-factory-{secrets.token_hex(3)}"
    yield name
    remove_images(name)


def test_a_factory_alone_is_what_the_image_serves(
    engine: None, tmp_path: Path, app_name: str
) -> None:
    project = factory_project(tmp_path / "app", app_name, {"main.py": FACTORY}, FACTORY_TEST)

    dry = shipline(project, "init", "--dry-run")
    assert f"{app_name}: package src/app, ASGI app app.main:create_app()" in dry.stdout, dry

    body = init_build_and_probe(project)
    assert body == {"status": "ok"}
    dockerfile = (project / "Dockerfile").read_text()
    assert '"/app/gunicorn.conf.py", "app.main:create_app()"]' in dockerfile
    conftest = (project / "tests/conftest.py").read_text()
    assert "with TestClient(create_app()) as test_client:" in conftest
    assert BASE_IMAGE in dockerfile

    # The rendered smoke starter imports the factory; the conftest's client calls it.
    checks = nox(project, "-s", "smoke", "unit")
    assert checks.code == 0, checks
    passed(checks, "smoke", "unit")
