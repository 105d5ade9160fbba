"""The database tier's migration check, against a real PostgreSQL started here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support import postgres
from support.run import nox
from support.sample import add_alembic, make_project, write


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    try:
        with postgres.cluster() as url:
            yield url
    except RuntimeError as exc:
        pytest.fail(f"cannot start PostgreSQL for the database tier: {exc}")


def test_migrations_then_tests_against_real_postgres(tmp_path: Path, database_url: str) -> None:
    project = add_alembic(make_project(tmp_path / "app"))
    result = nox(project, "-s", "database", env={"DATABASE_URL": database_url})
    assert result.code == 0, result
    upgrade = result.output.index("nox > alembic upgrade head")
    check = result.output.index("nox > alembic check")
    tests = result.output.index("nox > pytest --tier database")
    assert upgrade < check < tests
    assert "Running upgrade  -> 0001" in result.output
    assert "No new upgrade operations detected" in result.output
    assert "1 passed" in result.output


def test_model_change_without_migration_fails_the_check(tmp_path: Path, database_url: str) -> None:
    project = add_alembic(make_project(tmp_path / "app"))
    models = project / "src/sample_app/models.py"
    write(
        project,
        "src/sample_app/models.py",
        models.read_text().replace(
            "nullable=False),\n)", 'nullable=False),\n    sa.Column("price", sa.Integer),\n)'
        ),
    )
    assert "price" in models.read_text()
    result = nox(project, "-s", "database", env={"DATABASE_URL": database_url})
    assert result.code == 1, result
    assert "New upgrade operations detected" in result.output
    assert "alembic check found model changes with no migration" in result.output
    assert "nox > pytest" not in result.output


def test_migration_check_without_a_database_says_so(tmp_path: Path) -> None:
    project = add_alembic(make_project(tmp_path / "app"))
    result = nox(project, "-s", "database")
    assert result.code == 1
    assert "the migration check needs the test database; set DATABASE_URL" in result.output
