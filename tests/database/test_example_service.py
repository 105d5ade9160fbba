"""The example service's database tier, through real nox, against a real PostgreSQL."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import defusedxml.ElementTree as ET
import pytest
from support import postgres
from support.run import nox

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "service"
# What earlier runs left in the example: nothing of it may reach or come from the repo.
LEFTOVERS = shutil.ignore_patterns(
    ".nox",
    ".venv",
    "reports",
    "__pycache__",
    "*.db",
    ".coverage",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
)


def test_example_database_tier_passes_against_postgres(tmp_path: Path) -> None:
    project = tmp_path / "service"
    shutil.copytree(EXAMPLE, project, ignore=LEFTOVERS)
    try:
        with postgres.cluster("service_test") as url:
            result = nox(project, "-s", "database", env={"DATABASE_URL": url})
            psql_url = url.replace("postgresql+psycopg://", "postgresql://", 1)
            stored = subprocess.run(
                ["psql", psql_url, "-Atc", "SELECT name FROM items ORDER BY id"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
    except RuntimeError as exc:
        pytest.fail(f"cannot start PostgreSQL for the database tier: {exc}")

    assert result.code == 0, result
    assert "nox > pytest --tier database" in result.output

    # The example's tests say which backend they ran against.
    junit = ET.parse(project / "reports" / "database" / "junit.xml").getroot()
    cases = junit.findall(".//testcase")
    backends = {p.get("value") for p in junit.iter("property") if p.get("name") == "backend"}
    assert len(cases) >= 3
    outcomes = {child.tag for case in cases for child in case}
    assert outcomes <= {"properties", "system-out", "system-err"}  # no failure, error or skip
    assert backends == {"postgresql"}
    # And the item it created is in PostgreSQL itself.
    assert len(stored) == 1
    assert stored[0].startswith("round-trip-")
    assert not list(project.glob("*.db")), "the tier fell back to SQLite"
