"""The test action, run step by step against sample projects."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.composite import make_runner_python, run_action
from support.sample import make_project, write

from shipline import reports

ACTION = Path(__file__).parents[2] / "actions" / "test" / "action.yml"


@pytest.fixture(scope="module")
def python_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_runner_python(tmp_path_factory.mktemp("runner") / "python")


def test_unit_tier_passes_with_outputs_and_summary(tmp_path: Path, python_bin: Path) -> None:
    root = make_project(tmp_path / "app")
    result = run_action(ACTION, {"python-version": "3.11"}, root, python_bin)
    assert result.code == 0, result
    assert "shipline: nox -s unit" in result.log
    junit = Path(result.outputs["junit"])
    assert junit == root / "reports" / "unit" / "junit.xml"
    counts = reports.junit_counts(junit)
    assert counts is not None
    assert counts.passed == 2
    assert result.outputs["coverage"] == str(root / "reports" / "unit" / "coverage.xml")
    assert float(result.outputs["coverage-percent"]) == pytest.approx(
        reports.coverage_percent(Path(result.outputs["coverage"]))
    )
    assert "| unit | 2 | 0 | 0 | 0 |" in result.summary
    assert "(gate 80%)" in result.summary
    assert "Slowest tests:" in result.summary


def test_args_pass_through_and_a_failing_tier_fails(tmp_path: Path, python_bin: Path) -> None:
    root = make_project(tmp_path / "app")
    write(root, "tests/integration/test_more.py", "def test_wrong():\n    assert 1 == 2\n")
    result = run_action(
        ACTION,
        {"python-version": "3.11", "tier": "integration", "args": "-k 'wrong or chain' -x"},
        root,
        python_bin,
    )
    assert result.code == 1, result
    assert "shipline: nox -s integration -- -k 'wrong or chain' -x" in result.log
    assert "### ❌ shipline `integration`" in result.summary
    assert "1 of 2 integration tests failed" in result.summary


def test_unknown_tier_lists_the_valid_ones(tmp_path: Path, python_bin: Path) -> None:
    root = make_project(tmp_path / "app")
    result = run_action(ACTION, {"python-version": "3.11", "tier": "unt"}, root, python_bin)
    assert result.code == 2, result
    assert (
        "::error title=shipline test::unknown tier 'unt' for shipline/actions/test; "
        "expected one of: smoke, unit, integration, database, e2e"
    ) in result.log
    assert "shipline: nox -s" not in result.log  # refused before any session ran
