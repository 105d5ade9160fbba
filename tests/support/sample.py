"""Small, real Python projects written into a temporary directory for the session tests."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from pathlib import Path

from support.sandbox import BASE_IMAGE

PROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "sample-app"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = []

[project.optional-dependencies]
dev = {dev}

[tool.hatch.build.targets.wheel]
packages = ["src/sample_app"]

"""

TOOL = """\
[tool.mypy]
strict = true

[tool.shipline.tests]
coverage-fail-under = 80
workers = {workers}
durations = 3
env = {{ APP_SECRET = "placeholder" }}
{extra}
"""
"""The session tests' [tool.*] tables: mypy strict, and a unit tier with the coverage gate."""

NOXFILE = "import shipline.nox\n\nshipline.nox.register()\n"
"""The noxfile `invoke init` writes: every session from shipline."""


def pyproject(tool: str, dev: Sequence[str] = ("pytest>=8",)) -> str:
    """The sample app's pyproject.toml: its build, name and `dev` extra, then `tool`, the
    [tool.*] tables of the caller (the session tests' TOOL, or the benchmark's)."""
    return PROJECT.format(dev=json.dumps(list(dev))) + tool


CORE = '''\
"""Arithmetic the sample app serves."""

import os


def add(a: int, b: int) -> int:
    return a + b


def secret() -> str:
    return os.environ["APP_SECRET"]
'''

TESTS = {
    "tests/test_core.py": """\
        from sample_app.core import add, secret


        def test_add() -> None:
            assert add(2, 3) == 5


        def test_secret_placeholder() -> None:
            assert secret() == "placeholder"
        """,
    "tests/smoke/test_smoke.py": """\
        import sample_app


        def test_imports() -> None:
            assert sample_app.__name__ == "sample_app"
        """,
    "tests/integration/test_flow.py": """\
        from sample_app.core import add


        def test_chain() -> None:
            assert add(add(1, 1), 1) == 3
        """,
    "tests/database/test_db.py": """\
        import sqlite3


        def test_sqlite_roundtrip() -> None:
            db = sqlite3.connect(":memory:")
            db.execute("create table t (x int)")
            db.execute("insert into t values (7)")
            assert db.execute("select x from t").fetchone() == (7,)
        """,
    "tests/e2e/test_e2e.py": """\
        import pytest


        @pytest.mark.live
        def test_against_deployed() -> None:
            assert True


        def test_offline_part() -> None:
            assert 1 + 1 == 2
        """,
    "tests/test_security.py": """\
        import pytest

        from sample_app.core import secret


        @pytest.mark.security
        def test_secret_not_empty() -> None:
            assert secret()
        """,
}


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def make_project(root: Path, *, workers: str = "0", extra: str = "") -> Path:
    """A clean project that passes every session; tests plant one fault at a time."""
    root.mkdir(parents=True, exist_ok=True)
    write(root, "pyproject.toml", pyproject(TOOL.format(workers=workers, extra=extra)))
    write(root, "noxfile.py", NOXFILE)
    write(root, "src/sample_app/__init__.py", '"""The sample app."""\n')
    write(root, "src/sample_app/core.py", CORE)
    for relative, text in TESTS.items():
        write(root, relative, text)
    return root


ALEMBIC = {
    "alembic.ini": """\
        [alembic]
        script_location = migrations

        [loggers]
        keys = root,alembic

        [handlers]
        keys = console

        [formatters]
        keys = generic

        [logger_root]
        level = WARNING
        handlers = console

        [logger_alembic]
        level = INFO
        handlers =
        qualname = alembic

        [handler_console]
        class = StreamHandler
        args = (sys.stderr,)
        formatter = generic

        [formatter_generic]
        format = %(levelname)-5.5s [%(name)s] %(message)s
        """,
    "migrations/env.py": """\
        import os
        from logging.config import fileConfig

        from alembic import context
        from sqlalchemy import create_engine

        from sample_app.models import metadata

        fileConfig(context.config.config_file_name)
        engine = create_engine(os.environ["DATABASE_URL"])
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=metadata)
            with context.begin_transaction():
                context.run_migrations()
        """,
    "migrations/script.py.mako": "",
    "migrations/versions/0001_items.py": """\
        import sqlalchemy as sa
        from alembic import op

        revision = "0001"
        down_revision = None


        def upgrade() -> None:
            op.create_table(
                "items",
                sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("name", sa.String(50), nullable=False),
            )


        def downgrade() -> None:
            op.drop_table("items")
        """,
    "src/sample_app/models.py": """\
        \"\"\"The tables, as the migrations must build them.\"\"\"

        import sqlalchemy as sa

        metadata = sa.MetaData()
        items = sa.Table(
            "items",
            metadata,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("name", sa.String(50), nullable=False),
        )
        """,
    "tests/database/test_db.py": """\
        import os

        import sqlalchemy as sa

        from sample_app.models import items


        def test_items_table_is_migrated() -> None:
            engine = sa.create_engine(os.environ["DATABASE_URL"])
            with engine.begin() as conn:
                conn.execute(items.insert().values(name="x"))
                assert conn.execute(sa.select(items.c.name)).scalars().all() == ["x"]
        """,
}


def add_alembic(root: Path) -> Path:
    """Turn a sample project into one whose database tier checks alembic migrations."""
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text().replace(
        "dependencies = []",
        'dependencies = ["sqlalchemy>=2", "alembic>=1.13", "psycopg[binary]>=3.1"]',
    )
    pyproject.write_text(text + '\n[tool.shipline.tiers.database]\nmigrations = "alembic"\n')
    for relative, text in ALEMBIC.items():
        write(root, relative, text)
    return root


DOCKERFILE = """\
ARG BASE_IMAGE=python:3.12-slim
FROM ${BASE_IMAGE} AS build
# Dependencies first: a code-only change leaves this layer cached.
RUN python3 -m venv /venv \\
 && /venv/bin/pip install --quiet --disable-pip-version-check --no-cache-dir idna==3.10

FROM ${BASE_IMAGE}
COPY --from=build /venv /venv
COPY src/ /app/
ARG APP_VERSION=dev
ENV APP_VERSION=${APP_VERSION} PYTHONPATH=/app
CMD ["/venv/bin/python", "-c", "import os, idna, sample_app.core; print(os.environ['APP_VERSION'])"]
"""


def git(root: Path, *args: str) -> str:
    import subprocess

    done = subprocess.run(
        ["git", "-c", "user.email=dev@example.invalid", "-c", "user.name=dev", *args],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def add_image(root: Path, name: str, tags: list[str] | None = None) -> Path:
    """Give a sample project a Dockerfile, image config, tasks.py and a git commit."""
    pyproject = root / "pyproject.toml"
    rules = "" if tags is None else f"tags = {tags!r}\n".replace("'", '"')
    pyproject.write_text(
        pyproject.read_text().replace('version = "0.1.0"', 'version = "0.1.0"\nlicense = "MIT"')
        + f'\n[tool.shipline.image]\nname = "{name}"\n'
        f'build-args = {{ BASE_IMAGE = "{BASE_IMAGE}" }}\n{rules}'
    )
    write(root, "Dockerfile", DOCKERFILE)
    write(root, ".dockerignore", ".nox\nreports\n.git\n")
    write(root, "tasks.py", "from shipline.tasks import namespace\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "remote", "add", "origin", "https://github.com/acme/sample-app.git")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "sample")
    return root


FASTAPI_APP = '''\
"""The API."""

from fastapi import FastAPI

app = FastAPI()


@app.get("{health}")
def health() -> dict[str, str]:
    """Answer the health check."""
    return {{"status": "ok"}}
'''

APP_PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "{name}"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["{framework}"]

[project.optional-dependencies]
dev = ["pytest>=8", "httpx"]
"""
"""A web app's pyproject as a user has it before init: hatchling, the framework, a dev extra."""


def app_pyproject(name: str, framework: str = "fastapi", extra: str = "") -> str:
    """APP_PYPROJECT for `name`, with `extra` tables after it."""
    return APP_PYPROJECT.format(name=name, framework=framework) + extra


def fastapi_project(root: Path, name: str, *, health: str = "/health", extra: str = "") -> Path:
    """A FastAPI project with no tests and no git: what a user has before `shipline init`."""
    package = name.replace("-", "_")
    write(root, "pyproject.toml", app_pyproject(name, extra=extra))
    write(root, f"src/{package}/__init__.py", '"""The app."""\n')
    (root / f"src/{package}/main.py").write_text(FASTAPI_APP.format(health=health))
    return root


def subdirectory_project(project: Path, repository_depth: int = 2) -> Path:
    """A FastAPI project `repository_depth` folders below the root of a git repository
    (services/api: 2) whose own CI already runs Python 3.11."""
    repository = project.parents[repository_depth - 1]
    fastapi_project(project, "api")
    write(
        repository,
        ".github/workflows/tests.yml",
        """\
        on: push
        jobs:
          test:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/setup-python@v5
                with:
                  python-version: "3.11"
        """,
    )
    git(repository, "init", "-q", "-b", "main")
    return project


def timed_durations(count: int = 30, per_file: int = 6) -> dict[str, float]:
    """The recorded durations of `add_timed_tests`' tests, by pytest node id: their sleeps,
    varied from 0.01 to 0.20 s (a fixed shuffle, so the largest are not all in one file)."""
    return {
        f"tests/unit/test_calc_{i // per_file}.py::test_f{i}": round(0.01 + (i * 7 % 20) * 0.01, 2)
        for i in range(count)
    }


def add_timed_tests(root: Path, count: int = 30, uncovered: int = 3) -> dict[str, float]:
    """Give a sample project `count` unit tests that sleep their recorded durations, each
    covering one function of sample_app.calc (`uncovered` more are never called, so the
    figure is under 100 %), and commit the durations file pytest-split splits by."""
    durations = timed_durations(count)
    functions = [
        f"def f{i}(x: int) -> int:\n    if x > {i}:\n        return x - {i}\n    return x + {i}\n"
        for i in range(count + uncovered)
    ]
    write(root, "src/sample_app/calc.py", '"""Sums to cover."""\n\n\n' + "\n\n".join(functions))
    files: dict[str, list[str]] = {}
    for i, (node, seconds) in enumerate(durations.items()):
        path = node.partition("::")[0]
        files.setdefault(path, []).append(
            f"def test_f{i}() -> None:\n    time.sleep({seconds})\n"
            f"    assert calc.f{i}({i + 1}) == 1\n    assert calc.f{i}(0) == {i}\n"
        )
    for path, tests in files.items():
        header = "import time\n\nfrom sample_app import calc\n\n\n"
        write(root, path, header + "\n\n".join(tests))
    write(root, ".durations/unit.json", json.dumps(durations, indent=4, sort_keys=True))
    return durations
