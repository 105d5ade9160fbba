from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from shipline import catalogue, config, reports, tiers


def test_junit_counts_from_a_real_pytest_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_mix="""
        import time, pytest

        def test_ok():
            pass

        def test_slow():
            time.sleep(0.05)

        def test_bad():
            assert False

        @pytest.mark.skip
        def test_skipped():
            pass
        """
    )
    junit = pytester.path / "junit.xml"
    pytester.runpytest_inprocess(f"--junitxml={junit}", "-p", "no:shipline")
    counts = reports.junit_counts(junit)
    assert counts is not None
    assert (counts.tests, counts.failures, counts.errors, counts.skipped, counts.passed) == (
        4,
        1,
        0,
        1,
        2,
    )
    assert counts.slowest[0][0] == "test_mix::test_slow"
    assert counts.slowest[0][1] >= 0.05
    assert reports.junit_counts(pytester.path / "missing.xml") is None


def test_coverage_percent_matches_coverage_py(tmp_path: Path) -> None:
    (tmp_path / "measured.py").write_text(
        "def f(x):\n    if x:\n        return 1\n    return 2\n\n\n"
        "def g():\n    return 3\n\n\nf(1)\n"
    )

    def cov(*args: str) -> str:
        return subprocess.run(
            [sys.executable, "-m", "coverage", *args],
            cwd=tmp_path,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    cov("run", "--branch", "measured.py")
    cov("xml", "-o", "coverage.xml")
    total = float(cov("report", "--format=total", "--precision=4"))
    assert 0 < total < 100
    assert reports.coverage_percent(tmp_path / "coverage.xml") == pytest.approx(total, abs=1e-3)
    assert reports.coverage_percent(tmp_path / "none.xml") is None


def test_pytest_failure_names_each_cause(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = config.parse(tomllib.loads("[tool.shipline.tests]\ncoverage-fail-under = 90\n"), tmp_path)
    cfg = config.Config(**{**cfg.__dict__, "package": "app"})
    (step,) = catalogue.get("unit").steps(cfg, catalogue.Invocation())
    paths = tiers.TierReports.of(cfg.reports(), "unit")
    assert (step.tier, step.tier_reports) == ("unit", paths)
    assert reports.pytest_failure(cfg, step) == "the unit tests failed"
    paths.junit.parent.mkdir(parents=True)
    paths.junit.write_text(
        '<testsuites><testsuite tests="5" failures="2" errors="1"/></testsuites>'
    )
    paths.coverage.write_text('<coverage lines-valid="10" lines-covered="5"/>')
    assert reports.pytest_failure(cfg, step) == (
        "3 of 5 unit tests failed; coverage 50.0% is under the 90% gate"
    )
    assert reports.pytest_failure(cfg, step, 3) == (
        "pytest hit an internal error: a plugin or conftest failed (see above)"
    )
    paths.junit.write_text('<testsuite tests="0"/>')
    assert reports.pytest_failure(cfg, step).startswith("tier 'unit' selected no tests")


def test_a_run_that_ran_tests_never_blames_selecting_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The project's own gate (in addopts) is the unit default, and is named as the project's.
    monkeypatch.chdir(tmp_path)
    data = tomllib.loads('[tool.pytest.ini_options]\naddopts = "--cov=app --cov-fail-under=85"\n')
    cfg = config.Config(**{**config.parse(data, tmp_path).__dict__, "package": "app"})
    (step,) = catalogue.get("unit").steps(cfg, catalogue.Invocation())
    paths = tiers.TierReports.of(cfg.reports(), "unit")
    paths.junit.parent.mkdir(parents=True)
    paths.junit.write_text(
        '<testsuites><testsuite tests="4" failures="0" errors="0"/></testsuites>'
    )
    paths.coverage.write_text('<coverage lines-valid="100" lines-covered="82"/>')
    assert reports.pytest_failure(cfg, step, 1) == (
        "coverage 82.0% is under the 85% gate (the project's --cov-fail-under=85 in "
        "pyproject.toml [tool.pytest.ini_options] addopts)"
    )
    # An optional tier's empty run exits 1 only when something else failed: not "no tests".
    (smoke,) = catalogue.get("smoke").steps(cfg, catalogue.Invocation())
    empty = tiers.TierReports.of(cfg.reports(), "smoke")
    empty.junit.parent.mkdir(parents=True)
    empty.junit.write_text('<testsuites><testsuite tests="0"/></testsuites>')
    said = reports.pytest_failure(cfg, smoke, 1)
    assert "selected no tests" not in said
    assert said.startswith("no smoke test failed, yet pytest failed")
    assert reports.pytest_failure(cfg, smoke, 5).startswith("tier 'smoke' selected no tests")
