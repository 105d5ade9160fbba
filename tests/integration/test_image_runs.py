"""The image `init` renders, built by `invoke build` and run until its health route answers.

Projects shaped as real ones are, two builds in all: (1) setuptools with dynamic
dependencies from requirements.txt that pin uvicorn and gunicorn below the newest,
templates in a folder without __init__.py, alembic.ini and migrations/ at the
root, and an app that writes under its own package dir at startup; (2) a uv.lock
that holds a dependency below its newest release.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.run import run
from support.sample import BASE_IMAGE, git, write
from support.sandbox import free_port, remove_images
from test_init import docker, engine, shipline, tool, wait_healthy

__all__ = ["engine"]  # the fixture (test_init's), used by name

SETUPTOOLS_PYPROJECT = """\
[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "0.1.0"
requires-python = ">=3.11"
dynamic = ["dependencies"]

[tool.setuptools.dynamic]
dependencies = {{file = ["requirements.txt"]}}
"""

OLD_UVICORN, OLD_GUNICORN = "0.29.0", "22.0.0"
"""Real releases older than the newest: the project's pins must win over the template's."""

FILES_APP = '''\
"""Reads its page and migrations from disk, and writes under its own package dir."""

import importlib.metadata
from pathlib import Path

from fastapi import FastAPI

from {package}.helpers.greeting import hello

HERE = Path(__file__).parent
UPLOADS = HERE / "uploads"
UPLOADS.mkdir(exist_ok=True)
(UPLOADS / "started.txt").write_text("started")

app = FastAPI()


@app.get("/health")
def health() -> dict[str, object]:
    return {{
        "page": (HERE / "templates" / "page.html").read_text().strip(),
        "hello": hello(),
        "uploads": (UPLOADS / "started.txt").read_text(),
        "alembic": Path("alembic.ini").is_file(),
        "migrations": sorted(p.name for p in Path("migrations/versions").glob("*.py")),
        "uvicorn": importlib.metadata.version("uvicorn"),
        "gunicorn": importlib.metadata.version("gunicorn"),
    }}
'''

UV_PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "{name}"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["flask", "idna{idna}"]
"""

LOCKED_IDNA = "3.6"
"""Below the newest idna: `pip install .` would take the newest, the lock keeps this."""

FLASK_APP = '''\
"""The site."""

import importlib.metadata

from flask import Flask

app = Flask(__name__)


@app.get("/health")
def health() -> dict[str, str]:
    return {"idna": importlib.metadata.version("idna")}
'''


@pytest.fixture
def app_name() -> Iterator[str]:
    """A project name unique to the test; its images are removed after."""
    name = f"image-app-{secrets.token_hex(3)}"
    yield name
    remove_images(name)


def init_build_and_probe(project: Path) -> dict[str, object]:
    """`shipline init`, a commit, `invoke build`, then the container's health body."""
    done = shipline(project, "init", "--base-image", BASE_IMAGE)
    assert done.returncode == 0, done
    hadolint = run([tool("hadolint"), "Dockerfile"], project)
    assert (hadolint.code, hadolint.output) == (0, ""), hadolint
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "init")
    built = run([sys.executable, "-m", "invoke", "build", "--json"], project)
    assert built.code == 0, built
    image = json.loads(built.output.strip().splitlines()[-1])
    port = free_port()
    container = docker(
        "run", "-d", "--network", "host", "-e", f"PORT={port}", "-e", "HOST=127.0.0.1",
        image["image_id"],
    )  # fmt: skip
    try:
        body = wait_healthy(container, f"http://127.0.0.1:{port}/health", timeout=60)
        assert docker("exec", container, "id", "-u") == "10001"
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True)
    result: dict[str, object] = json.loads(body)
    return result


def test_requirements_files_outside_packages_writes_and_server_pins(
    engine: None, tmp_path: Path, app_name: str
) -> None:
    project = tmp_path / "app"
    package = app_name.replace("-", "_")
    write(project, "pyproject.toml", SETUPTOOLS_PYPROJECT.format(name=app_name))
    write(
        project,
        "requirements.txt",
        f"fastapi\nuvicorn=={OLD_UVICORN}\ngunicorn=={OLD_GUNICORN}\n",
    )
    write(project, f"src/{package}/__init__.py", "")
    write(project, f"src/{package}/main.py", FILES_APP.format(package=package))
    write(project, f"src/{package}/templates/page.html", "<p>page</p>\n")
    write(project, f"src/{package}/helpers/greeting.py", "def hello() -> str:\n    return 'hi'\n")
    write(project, "alembic.ini", "[alembic]\nscript_location = migrations\n")
    write(project, "migrations/env.py", "")
    write(project, "migrations/versions/0001_first.py", "revision = '0001'\n")

    body = init_build_and_probe(project)
    dockerfile = (project / "Dockerfile").read_text()
    assert "COPY requirements.txt ./\n" in dockerfile
    assert '-r requirements.txt "gunicorn>=20.1" "uvicorn-worker>=0.2"\n' in dockerfile
    assert body == {
        "page": "<p>page</p>",
        "hello": "hi",
        "uploads": "started",
        "alembic": True,
        "migrations": ["0001_first.py"],
        "uvicorn": OLD_UVICORN,
        "gunicorn": OLD_GUNICORN,
    }


def test_uv_lock_is_installed_as_locked(engine: None, tmp_path: Path, app_name: str) -> None:
    project = tmp_path / "app"
    package = app_name.replace("-", "_")
    uv = str(Path(sys.executable).parent / "uv")
    write(project, "pyproject.toml", UV_PYPROJECT.format(name=app_name, idna=f"=={LOCKED_IDNA}"))
    write(project, f"src/{package}/__init__.py", "")
    write(project, f"src/{package}/app.py", FLASK_APP)
    locked = run([uv, "lock", "--no-config"], project)
    assert locked.code == 0, locked
    # Relaxed afterwards: the lock keeps 3.6, metadata alone would now take the newest.
    write(project, "pyproject.toml", UV_PYPROJECT.format(name=app_name, idna=">=3"))
    relocked = run([uv, "lock", "--no-config"], project)
    assert relocked.code == 0, relocked
    assert f'name = "idna"\nversion = "{LOCKED_IDNA}"' in (project / "uv.lock").read_text()

    body = init_build_and_probe(project)
    assert "uv export --frozen" in (project / "Dockerfile").read_text()
    assert body == {"idna": LOCKED_IDNA}
