"""A clean sample project through every session, with real tools."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.run import Result, nox
from support.sample import make_project

PASSING = ("lint", "type", "smoke", "unit", "integration", "database", "e2e")


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    project = make_project(tmp_path_factory.mktemp("clean") / "app", workers="2")
    return project, nox(project, "-s", *PASSING)


def test_clean_project_passes_every_session(clean: tuple[Path, Result]) -> None:
    project, result = clean
    assert result.code == 0, result
    for name in PASSING:
        assert f"* {name}: success" in result.output, result
    # The plugin ran in the session, the tier selected its tests, and xdist was on.
    assert "shipline: tier unit; unmarked tests count as unit" in result.output
    assert "created: 2/2 workers" in result.output
    assert "Required test coverage of 80% reached" in result.output
    # Reports land in one predictable place per tier.
    for tier in ("smoke", "unit", "integration", "database", "e2e"):
        assert (project / "reports" / tier / "junit.xml").is_file()
        assert (project / "reports" / tier / "coverage.xml").is_file()
    # The live e2e test is skipped locally and says why.
    assert "live tests skipped (auto: local run" in result.output


def test_warm_rerun_reuses_and_passes_arguments_through(clean: tuple[Path, Result]) -> None:
    project, _ = clean
    result = nox(project, "-R", "-s", "unit", "--", "-k", "secret", "-p", "no:randomly")
    assert result.code == 0, result
    assert "pip install" not in result.output
    assert "1 passed, 7 deselected" in result.output or "1 passed" in result.output, result
    assert "test_add" not in result.output


def test_security_fails_loudly_when_the_audit_service_is_unreachable(
    tmp_path: Path,
) -> None:
    # This machine reaches the package index but not PyPI's JSON API, exactly the
    # case where pip-audit itself exits 0 with "No known vulnerabilities found".
    project = make_project(tmp_path / "app")
    result = nox(project, "-s", "security")
    assert result.code != 0, result
    assert "bandit: no findings" in result.output  # bandit ran and passed first
    assert "pip-audit could not audit" in result.output, result
    assert "is the vulnerability service reachable?" in result.output
    assert "Session security aborted: pip-audit could not audit" in result.output
