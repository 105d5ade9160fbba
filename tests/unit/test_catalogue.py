from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from shipline import catalogue, config, tiers
from shipline.catalogue import Invocation, Run
from shipline.errors import ConfigError, UsageError

ROOT = Path(__file__).parents[2]


def make(tmp_path: Path, toml: str = "") -> config.Config:
    (tmp_path / "src" / "app").mkdir(parents=True, exist_ok=True)
    base = '[project]\nname = "app"\n[project.optional-dependencies]\ndev = ["ruff==0.6.9"]\n'
    return config.parse(tomllib.loads(base + toml), tmp_path)


def argvs(cfg: config.Config, name: str, ctx: Invocation | None = None) -> list[tuple[str, ...]]:
    return [step.argv for step in catalogue.get(name).steps(cfg, ctx or Invocation())]


def test_catalogue_lists_every_session_once() -> None:
    assert catalogue.NAMES == (
        "lint",
        "type",
        "security",
        "smoke",
        "unit",
        "integration",
        "database",
        "e2e",
        "coverage",
    )
    assert all(check.description for check in catalogue.CHECKS)


def test_every_session_tier_has_its_check_and_only_security_runs_inside_another() -> None:
    tier_checks = {c.name: c.tier for c in catalogue.CHECKS if c.tier is not None}
    assert {t for n, t in tier_checks.items() if n != "security"} == set(tiers.SESSION_TIERS)
    assert tier_checks["security"] == tiers.SECURITY
    assert set(tier_checks.values()) == set(tiers.TIERS)


def test_runs_carry_their_tier_and_reports(tmp_path: Path) -> None:
    cfg = make(tmp_path)
    (unit,) = catalogue.get("unit").steps(cfg, Invocation())
    assert unit.kind == "pytest"
    assert unit.tier == "unit"
    assert unit.tier_reports == tiers.TierReports(
        Path("reports/unit/junit.xml"), Path("reports/unit/coverage.xml")
    )
    bandit, tests, _, audit = catalogue.get("security").steps(cfg, Invocation())
    assert bandit.report == Path("reports/security/bandit.json")
    assert audit.report == Path("reports/security/pip-audit.json")
    assert tests.tier == "security"
    with pytest.raises(ValueError, match="test runs only"):
        Run(("pytest",), "tests failed", kind="pytest")
    with pytest.raises(ValueError, match="judged report"):
        Run(("bandit",), "bandit failed", kind="bandit")
    with pytest.raises(ValueError, match="judged report"):
        Run(("ruff",), "ruff failed", report=Path("ruff.json"))


def test_lint_uses_github_annotations_only_in_actions(tmp_path: Path) -> None:
    cfg = make(tmp_path)
    assert argvs(cfg, "lint") == [("ruff", "check", "."), ("ruff", "format", "--check", ".")]
    in_ci = Invocation(environ={"GITHUB_ACTIONS": "true"})
    assert argvs(cfg, "lint", in_ci)[0] == ("ruff", "check", "--output-format=github", ".")


def test_type_runs_the_configured_checker(tmp_path: Path) -> None:
    assert argvs(make(tmp_path), "type") == [("mypy", "src/app")]
    cfg = make(tmp_path, '[tool.shipline.type]\nchecker = "pyright"\n')
    assert argvs(cfg, "type") == [("pyright", "src/app")]
    assert catalogue.tool_requirements(cfg, catalogue.get("type")) == ("pyright>=1.1.380",)


def test_type_without_a_package_is_a_config_error(tmp_path: Path) -> None:
    cfg = config.parse({}, tmp_path)
    with pytest.raises(ConfigError, match=r"tool.shipline.type.paths: no paths"):
        catalogue.get("type").steps(cfg, Invocation())


def test_tools_respect_the_projects_own_pins(tmp_path: Path) -> None:
    cfg = make(tmp_path)
    assert catalogue.tool_requirements(cfg, catalogue.get("lint")) == ("ruff==0.6.9",)
    assert catalogue.tool_requirements(cfg, catalogue.get("unit")) == (
        "pytest>=8",
        "pytest-xdist>=3.6",
        "pytest-cov>=5",
        "pytest-split>=0.10",
    )


def test_unit_tier_has_the_coverage_gate_and_xdist(tmp_path: Path) -> None:
    cfg = make(tmp_path, "[tool.shipline.tests]\ncoverage-fail-under = 85\nworkers = 4\n")
    (unit,) = argvs(cfg, "unit", Invocation(posargs=("-k", "slow")))
    assert unit == (
        "pytest",
        "--tier",
        "unit",
        "--junitxml=reports/unit/junit.xml",
        "--cov=app",
        "--cov-report=term-missing:skip-covered",
        "--cov-report=xml:reports/unit/coverage.xml",
        "--cov-fail-under=85",
        "-n",
        "4",
        "--dist",
        "loadfile",
        "--durations=10",
        "-k",
        "slow",
    )
    (integration,) = argvs(cfg, "integration")
    # No gate of its own: 0, after any gate in the project's addopts, so that one cannot fail it.
    assert [a for a in integration if a.startswith("--cov-fail-under")] == ["--cov-fail-under=0"]


def test_workers_zero_turns_xdist_off_and_gates_are_per_tier(tmp_path: Path) -> None:
    cfg = make(
        tmp_path,
        "[tool.shipline.tests]\nworkers = 0\n"
        "[tool.shipline.tiers.smoke]\ncoverage-fail-under = 30\n",
    )
    (smoke,) = argvs(cfg, "smoke")
    assert "-n" not in smoke
    assert "--cov-fail-under=30" in smoke


def test_security_runs_bandit_audit_and_security_tests(tmp_path: Path) -> None:
    cfg = make(tmp_path, '[tool.shipline.security]\nbandit-severity = "high"\n')
    steps = catalogue.get("security").steps(cfg, Invocation())
    assert [s.argv[0] for s in steps] == ["bandit", "pytest", "python", "pip-audit"]
    assert steps[0].argv == (
        *("bandit", "-r", "src/app", "--severity-level", "high", "--confidence-level", "low"),
        *("-f", "json", "-o", "reports/security/bandit.json"),
    )
    assert steps[0].kind == "bandit"
    assert steps[3].kind == "pip-audit"
    assert steps[3].success_codes == (0, 1)
    assert steps[1].argv[1:3] == ("--tier", "security")


def test_sarif_is_written_only_when_asked(tmp_path: Path) -> None:
    cfg = make(tmp_path)
    asked = Invocation(environ={"SHIPLINE_SARIF": "true"})
    lint = argvs(cfg, "lint", asked)
    assert lint[0] == (
        *("ruff", "check", "--exit-zero", "--output-format=sarif"),
        *("--output-file=reports/lint/ruff.sarif", "."),
    )
    security = argvs(cfg, "security", asked)
    assert security[0][-5:] == ("--exit-zero", "-f", "sarif", "-o", "reports/security/bandit.sarif")
    assert catalogue.tool_requirements(cfg, catalogue.get("security"), asked)[0] == (
        "bandit[sarif]>=1.7.9"
    )
    assert len(argvs(cfg, "lint")) == 2
    assert catalogue.tool_requirements(cfg, catalogue.get("security"))[0] == "bandit>=1.7.9"


def test_database_migrations_need_a_database(tmp_path: Path) -> None:
    cfg = make(tmp_path, '[tool.shipline.tiers.database]\nmigrations = "alembic"\n')
    with pytest.raises(ConfigError, match="set DATABASE_URL"):
        catalogue.get("database").steps(cfg, Invocation())
    url = "postgresql://u@127.0.0.1:5433/t"
    steps = catalogue.get("database").steps(cfg, Invocation(environ={"DATABASE_URL": url}))
    assert [s.argv for s in steps[:2]] == [("alembic", "upgrade", "head"), ("alembic", "check")]
    assert steps[0].env["DATABASE_URL"] == url
    assert steps[2].argv[:3] == ("pytest", "--tier", "database")


def test_select_and_unknown_names() -> None:
    assert [c.name for c in catalogue.select(["unit", "lint"])] == ["lint", "unit"]
    assert catalogue.select([]) == catalogue.CHECKS
    with pytest.raises(UsageError, match="unknown check 'lnt'; expected one of: lint, type"):
        catalogue.select(["lnt"])


def test_readme_table_is_generated_from_the_catalogue() -> None:
    assert catalogue.markdown_table() in (ROOT / "README.md").read_text()
