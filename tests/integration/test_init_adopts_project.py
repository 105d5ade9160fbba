"""`shipline init` on projects that already have their own image, or no [project] table.

Through the real command line, then the real build and the real checks: a kept
Dockerfile is the one `invoke build` builds, and an adopted requirements project
passes `nox -s lint unit` with the tables init added.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.run import clean_env, nox, run
from support.sample import git, write
from support.sandbox import BASE_IMAGE, remove_images


def shipline(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real `shipline` command next to the interpreter running the tests."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "shipline"), *args],
        cwd=project,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def commit(project: Path) -> None:
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "init")


@pytest.fixture
def app_name() -> Iterator[str]:
    """A project name unique to the test; its images are removed after."""
    name = f"adopt-app-{secrets.token_hex(3)}"
    yield name
    remove_images(name)


OWN_DOCKERFILE = f"""\
# Our image, not shipline's.
FROM {BASE_IMAGE}
LABEL org.example.built-from=our-dockerfile
WORKDIR /app
COPY . /app
CMD ["python3", "-c", "import sys; sys.path.insert(0, 'src'); import {{package}}"]
"""


def test_the_projects_own_dockerfile_is_kept_configured_and_built(
    tmp_path: Path, app_name: str
) -> None:
    package = app_name.replace("-", "_")
    project = tmp_path / "app"
    write(project, "pyproject.toml", f'[project]\nname = "{app_name}"\ndependencies = ["flask"]\n')
    flask_app = "from flask import Flask\n\napp = Flask(__name__)\n"
    write(project, f"src/{package}/__init__.py", flask_app)
    write(project, "docker/Dockerfile", OWN_DOCKERFILE.format(package=package))
    write(project, ".dockerignore", ".git\nsecret.txt\n")
    write(project, "secret.txt", "left out by our .dockerignore\n")
    kept = {p: (project / p).read_bytes() for p in ("docker/Dockerfile", ".dockerignore")}

    done = shipline(project, "init")
    assert done.returncode == 0, done
    assert done.stderr == ""
    assert "    adopt  docker/Dockerfile  (yours, kept)\n" in done.stdout
    assert "    adopt  .dockerignore  (yours, kept)\n" in done.stdout
    assert "     skip  gunicorn.conf.py  (docker/Dockerfile does not use it)\n" in done.stdout
    assert (
        "shipline: keeping your docker/Dockerfile: [tool.shipline.image] dockerfile = "
        '"docker/Dockerfile", context = "."; `invoke build` builds it\n'
    ) in done.stdout
    assert {p: (project / p).read_bytes() for p in kept} == kept
    assert not (project / "Dockerfile").exists()
    assert not (project / "gunicorn.conf.py").exists()
    with (project / "pyproject.toml").open("rb") as handle:
        image = tomllib.load(handle)["tool"]["shipline"]["image"]
    assert image == {"dockerfile": "docker/Dockerfile", "context": "."}

    commit(project)
    built = run([sys.executable, "-m", "invoke", "build", "--json"], project)
    assert built.code == 0, built
    result = json.loads(built.output.strip().splitlines()[-1])
    assert result["tags"][0] == f"{app_name}:main"
    labels = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{json .Config.Labels}}", result["image_id"]],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(labels)["org.example.built-from"] == "our-dockerfile"
    listed = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", result["image_id"], "ls", "/app"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "src" in listed
    assert "secret.txt" not in listed  # our .dockerignore filtered the context


FLASK_APP = '''\
"""The site."""

from flask import Flask

app = Flask(__name__)


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
'''

FLASK_TEST = '''\
"""The site answers its health check."""

from app import app


def test_health() -> None:
    assert app.test_client().get("/health").json == {"status": "ok"}
'''


def test_a_requirements_project_is_adopted_and_passes_its_checks(tmp_path: Path) -> None:
    project = tmp_path / "flask-site"
    write(project, "requirements.txt", "flask>=3\n")
    write(project, "requirements-dev.txt", "pytest>=8\n")
    write(project, "app/__init__.py", FLASK_APP)
    write(project, "tests/test_app.py", FLASK_TEST)
    write(project, ".python-version", "3.11\n")

    refused = shipline(project, "init")
    assert refused.returncode == 2, refused
    assert refused.stderr.count("\n") == 1
    assert refused.stderr.startswith("shipline: error: no [project] table in pyproject.toml")
    assert "rerun init with --adopt" in refused.stderr
    assert '[project]\nname = "flask-site"\nversion = "0.0.0"\n' in refused.stdout
    assert 'optional-dependencies.dev = { file = ["requirements-dev.txt"] }' in refused.stdout
    assert not (project / "pyproject.toml").exists()

    adopted = shipline(project, "init", "--adopt")
    assert adopted.returncode == 0, adopted
    assert "adding [project] to pyproject.toml (--adopt)" in adopted.stdout
    assert "WSGI app app:app" in adopted.stdout
    text = (project / "pyproject.toml").read_text()
    assert text.startswith(refused.stdout)  # exactly what was proposed, then [tool.shipline]
    assert "[tool.shipline]" in text

    commit(project)
    checks = nox(project, "-s", "lint", "unit")
    assert checks.code == 0, checks
    for session in ("lint", "unit"):
        assert f"* {session}: success" in checks.output, checks
    junit = (project / "reports" / "unit" / "junit.xml").read_text()
    assert 'name="test_health"' in junit  # pytest from the dev extra ran the project's test
