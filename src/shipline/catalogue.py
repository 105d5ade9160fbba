"""The catalogue of checks: the single source of truth for sessions, actions and docs.

Each check says what it is for, which tools it installs and which commands it
runs. Steps are computed from the configuration by pure functions, so the
sessions (`shipline.nox`), the GitHub Actions (`invoke actions`) and the table
in the README are all derived from here and tested as data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Final, Literal

from shipline import github, linters, pins, testrun, tiers
from shipline.config import Config, Tier
from shipline.errors import ConfigError, UsageError
from shipline.tiers import SecurityReports, TierReports

TOOL_FLOORS: Mapping[str, str] = MappingProxyType(
    {
        "ruff": "ruff>=0.6",
        "flake8": "flake8>=6",
        "black": "black>=23",
        "isort": "isort>=5.12",
        "mypy": "mypy>=1.11",
        "pyright": "pyright>=1.1.380",
        "bandit": "bandit>=1.7.9",
        "bandit[sarif]": "bandit[sarif]>=1.7.9",
        "pip-audit": "pip-audit>=2.7",
        "pytest": "pytest>=8",
        "pytest-xdist": "pytest-xdist>=3.6",
        "pytest-cov": "pytest-cov>=5",
    }
)
"""Requirements used for a tool unless the project declares it (`shipline.pins`)."""

PYTEST_TOOLS = ("pytest", "pytest-xdist", "pytest-cov")
SARIF_ENV = "SHIPLINE_SARIF"


RunKind = Literal["command", "pytest", "bandit", "pip-audit"]
"""What reads a command's result afterwards: nothing but its exit status (`command`),
the tier's reports (`pytest`), or the JSON report judged by shipline (`bandit`, `pip-audit`)."""


@dataclass(frozen=True)
class Run:
    """A command to run in the check's environment, with what its result is read from.

    The tier and the reports travel with the command, so what runs it never
    parses them back out of the argv.
    """

    argv: tuple[str, ...]
    explain: str
    """What a failure of this command means, in the words the user needs."""
    env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    success_codes: tuple[int, ...] = (0,)
    kind: RunKind = "command"
    tier: str | None = None
    """The tier a `pytest` run selects."""
    tier_reports: TierReports | None = None
    """What a `pytest` run writes: removed before it runs, read to say why it failed."""
    report: Path | None = None
    """The JSON report a `bandit` or `pip-audit` run writes for shipline to judge."""

    def __post_init__(self) -> None:
        pytest = self.tier is not None and self.tier_reports is not None
        if (self.kind == "pytest") != pytest:
            raise ValueError(f"{self.argv[0]}: a tier and its reports go with pytest runs only")
        if (self.kind in ("bandit", "pip-audit")) != (self.report is not None):
            raise ValueError(f"{self.argv[0]}: a judged report goes with bandit and pip-audit")


@dataclass(frozen=True)
class Invocation:
    """What a check's steps depend on besides the configuration: how the session was run.

    Not named Context: invoke's tasks take an `invoke.Context` of their own.
    """

    posargs: tuple[str, ...] = ()
    environ: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def sarif(self) -> bool:
        """SARIF for code scanning, asked for by the actions' `sarif: true` input."""
        return self.environ.get(SARIF_ENV) == "true"


@dataclass(frozen=True)
class Check:
    name: str
    description: str
    tools: Callable[[Config, Invocation], tuple[str, ...]]
    steps: Callable[[Config, Invocation], tuple[Run, ...]]
    installs_project: bool
    """Whether the project itself (with its dev extras) goes into the environment."""
    needs_plugin: bool
    """Whether shipline's pytest plugin must be importable there."""
    tier: str | None = None
    notes: Callable[[Config], tuple[str, ...]] = lambda config: ()
    """Lines the session logs before its steps (lint: which linters it adopted)."""


def _lint_tools(config: Config, ctx: Invocation) -> tuple[str, ...]:
    return linters.plan(config).tools(sarif=ctx.sarif)


def _lint_steps(config: Config, ctx: Invocation) -> tuple[Run, ...]:
    fmt = ("--output-format=github",) if github.in_actions(ctx.environ) else ()
    paths = config.lint.paths
    plan = linters.plan(config)
    sarif = Run(
        (
            "ruff",
            "check",
            "--exit-zero",
            "--output-format=sarif",
            f"--output-file={tiers.lint_sarif(config.reports())}",
            *paths,
        ),
        "ruff could not write SARIF",
    )
    check = Run(
        ("ruff", "check", *fmt, *paths, *ctx.posargs),
        "ruff check found lint errors (`ruff check --fix` fixes many)",
    )
    if plan.check == "flake8":
        check = Run(
            ("flake8", *paths, *ctx.posargs),
            f"flake8 found lint errors under the project's rules ({plan.setup.flake8})",
        )
    formatter = Run(
        ("ruff", "format", "--check", *paths),
        "ruff format would reformat files (run `ruff format`)",
    )
    if plan.format == "black":
        formatter = Run(
            ("black", "--check", *paths),
            f"black would reformat files (run `black {' '.join(paths)}`)",
        )
    isort = Run(
        ("isort", "--check-only", *paths),
        f"isort would reorder imports (run `isort {' '.join(paths)}`)",
    )
    return (*((sarif,) if ctx.sarif else ()), check, formatter, *((isort,) if plan.isort else ()))


def _type_tools(config: Config, ctx: Invocation) -> tuple[str, ...]:
    return (config.type.checker,)


def _require_paths(paths: Sequence[str], key: str) -> tuple[str, ...]:
    if not paths:
        raise ConfigError(
            f"{key}: no paths, and none of the project's code (packages, modules) was found "
            f'to default to; set {key} = ["src/yourpackage"] or tool.shipline.package'
        )
    return tuple(paths)


def _type_steps(config: Config, ctx: Invocation) -> tuple[Run, ...]:
    paths = _require_paths(config.type.paths, "tool.shipline.type.paths")
    return (
        Run(
            (config.type.checker, *paths, *ctx.posargs),
            f"{config.type.checker} found type errors",
        ),
    )


def _security_steps(config: Config, ctx: Invocation) -> tuple[Run, ...]:
    sec = config.security
    targets = _require_paths(sec.bandit_targets, "tool.shipline.security.bandit-targets")
    uses_config = "bandit" in config.raw_pyproject.get("tool", {})
    reports = SecurityReports.of(config.reports())
    bandit = (
        *("bandit", "-r", *targets),
        *(("-c", "pyproject.toml") if uses_config else ()),
        *("--severity-level", sec.bandit_severity, "--confidence-level", sec.bandit_confidence),
    )
    sarif = (
        Run(
            (*bandit, "--exit-zero", "-f", "sarif", "-o", str(reports.bandit_sarif)),
            "bandit could not write SARIF",
        ),
    )
    requirements = str(reports.requirements)
    audit = (
        *("pip-audit", "--requirement", requirements, "--no-deps", "--disable-pip"),
        *("--progress-spinner", "off", "--format", "json"),
        *("--output", str(reports.pip_audit)),
    )
    return (
        *(sarif if ctx.sarif else ()),
        Run(
            (*bandit, "-f", "json", "-o", str(reports.bandit)),
            f"bandit found issues of {sec.bandit_severity} severity or above",
            success_codes=(0, 1),
            kind="bandit",
            report=reports.bandit,
        ),
        # The security tests before the audit, which alone needs the network.
        *_pytest_steps(config, config.tier(tiers.SECURITY), ctx),
        Run(
            ("python", "-m", "shipline.audit", "freeze", requirements),
            "could not list the installed dependencies for pip-audit",
        ),
        Run(
            audit,
            "pip-audit failed",
            success_codes=(0, 1),
            kind="pip-audit",
            report=reports.pip_audit,
        ),
    )


def pytest_argv(config: Config, tier: Tier, posargs: Sequence[str] = ()) -> tuple[str, ...]:
    """The pytest command line of a tier: selection, reports, coverage gate, xdist."""
    reports = TierReports.of(config.reports(), tier.name)
    argv = ["pytest", "--tier", tier.name, f"--junitxml={reports.junit}"]
    if config.code:
        argv += [
            *(f"--cov={name}" for name in config.code),
            "--cov-report=term-missing:skip-covered",
            f"--cov-report=xml:{reports.coverage}",
        ]
    argv += testrun.gate_args(config, tier)  # after the project's addopts, so it wins
    workers = testrun.workers(config, tier)
    if workers != "0":
        argv += ["-n", workers, "--dist", config.tests.dist]
    argv.append(f"--durations={config.tests.durations}")
    return (*argv, *posargs)


MIGRATION_COMMANDS: Final[Mapping[str, tuple[tuple[str, ...], tuple[str, ...], str]]] = (
    MappingProxyType(
        {
            "alembic": (
                ("alembic", "upgrade", "head"),
                ("alembic", "check"),
                "alembic revision --autogenerate",
            ),
            # Flask-Migrate's env.py needs the app (FLASK_APP): plain alembic cannot run it.
            "flask-migrate": (
                ("flask", "db", "upgrade"),
                ("flask", "db", "check"),
                "flask db migrate",
            ),
        }
    )
)
"""Upgrade to head, check the models have no change without a migration, and the fix."""


def _pytest_steps(config: Config, tier: Tier, ctx: Invocation) -> tuple[Run, ...]:
    steps: list[Run] = []
    env = dict(config.tests.env)
    if tier.migrations is not None and tier.migrations in MIGRATION_COMMANDS:
        url = ctx.environ.get("DATABASE_URL") or config.tests.env.get("DATABASE_URL")
        if not url:
            raise ConfigError(
                "tool.shipline.tiers.database.migrations: the migration check needs the test "
                "database; set DATABASE_URL (e.g. postgresql://user@127.0.0.1:5432/test)"
            )
        env["DATABASE_URL"] = url
        upgrade, check, fix = MIGRATION_COMMANDS[tier.migrations]
        steps += [
            Run(
                upgrade,
                f"{upgrade[0]} could not upgrade the test database to head",
                env=MappingProxyType(dict(env)),
            ),
            Run(
                check,
                f"{' '.join(check)} found model changes with no migration (run `{fix}`)",
                env=MappingProxyType(dict(env)),
            ),
        ]
    steps.append(
        Run(
            pytest_argv(config, tier, ctx.posargs),
            f"the {tier.name} tests failed",
            kind="pytest",
            tier=tier.name,
            tier_reports=TierReports.of(config.reports(), tier.name),
        )
    )
    return (*steps, *_coverage_xml(config, tier))


def _coverage_xml(config: Config, tier: Tier) -> tuple[Run, ...]:
    """coverage.xml written again from the data pytest-cov saved, for code in several parts.

    coverage.py names a file in its XML relative to the `--cov` directory it is in, so
    the packages of a flat layout (routers/, services/, ... directories beside the
    tests) all had an `__init__.py`, and one hid the others. Written from the saved
    data with no source given, every file is named from the project's root; the data
    holds the files never imported too (coverage records them when it saves).
    """
    if len(config.code) < 2:
        return ()
    reports = TierReports.of(config.reports(), tier.name)
    return (
        Run(
            ("coverage", "xml", "-q", "--fail-under=0", "-o", str(reports.coverage)),
            "coverage could not write the XML report from the tests' data",
        ),
    )


def _tier_check(name: str, description: str) -> Check:
    def steps(config: Config, ctx: Invocation) -> tuple[Run, ...]:
        return _pytest_steps(config, config.tier(name), ctx)

    return Check(
        name=name,
        description=description,
        tools=lambda config, ctx: PYTEST_TOOLS,
        steps=steps,
        installs_project=True,
        needs_plugin=True,
        tier=name,
    )


CHECKS: tuple[Check, ...] = (
    Check(
        name="lint",
        description=(
            "ruff check and ruff format --check (GitHub annotations in Actions), "
            "or the project's own flake8, black and isort"
        ),
        tools=_lint_tools,
        steps=_lint_steps,
        installs_project=False,
        needs_plugin=False,
        notes=linters.notes,
    ),
    Check(
        name="type",
        description="static types with mypy, or pyright by config",
        tools=_type_tools,
        steps=_type_steps,
        installs_project=True,
        needs_plugin=False,
    ),
    Check(
        name="security",
        description="bandit, the security tests, and pip-audit of the installed dependencies",
        tools=lambda config, ctx: (
            "bandit[sarif]" if ctx.sarif else "bandit",
            "pip-audit",
            *PYTEST_TOOLS,
        ),
        steps=_security_steps,
        installs_project=True,
        needs_plugin=True,
        tier=tiers.SECURITY,
    ),
    # One session per session tier, made from the tier list so none can be missed.
    *(_tier_check(name, description) for name, description in tiers.SESSIONS.items()),
)

NAMES: tuple[str, ...] = tuple(check.name for check in CHECKS)


def get(name: str) -> Check:
    for check in CHECKS:
        if check.name == name:
            return check
    raise UsageError(f"unknown check {name!r}; expected one of: {', '.join(NAMES)}")


def select(names: Sequence[str]) -> tuple[Check, ...]:
    """The named checks in catalogue order, or all of them when none are named."""
    if not names:
        return CHECKS
    wanted = [get(name).name for name in names]
    return tuple(c for c in CHECKS if c.name in wanted)


def tool_requirements(
    config: Config, check: Check, ctx: Invocation | None = None
) -> tuple[str, ...]:
    """Requirements for a check's tools: the project's pin if it has one, else our floor.

    Raises ConfigError when a pin is below what shipline needs (see `shipline.pins`).
    """
    tools = check.tools(config, ctx or Invocation())
    # A tool with no floor (a flake8 plugin) is only ever one the project declares.
    floors = {**{tool: tool for tool in tools}, **TOOL_FLOORS}
    return pins.resolve(tools, floors, pins.declared(config), config)


def markdown_table() -> str:
    """The README's table of checks, generated so the docs cannot drift."""
    rows = ["| session | what it runs |", "| --- | --- |"]
    rows += [f"| `{c.name}` | {c.description} |" for c in CHECKS]
    return "\n".join(rows)
