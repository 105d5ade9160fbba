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
        "pytest-split": "pytest-split>=0.10",
        "coverage": "coverage>=7.4",
    }
)
"""Requirements used for a tool unless the project declares it (`shipline.pins`)."""

PYTEST_TOOLS = ("pytest", "pytest-xdist", "pytest-cov", "pytest-split")
SARIF_ENV = "SHIPLINE_SARIF"


RunKind = Literal["command", "pytest", "coverage", "bandit", "pip-audit"]
"""What reads a command's result afterwards: nothing but its exit status (`command`),
the tier's reports (`pytest`; `coverage`, the gate on a sharded tier's total), or the
JSON report judged by shipline (`bandit`, `pip-audit`)."""


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
    shard: str | None = None
    """`K/N` for one shard of a tier: its run applies no gate (the total's job does)."""
    prepare: tuple[Path, ...] = ()
    """Directories made before the command runs (a tool that writes a file makes none)."""

    def __post_init__(self) -> None:
        pytest = self.tier is not None and self.tier_reports is not None
        if (self.kind in ("pytest", "coverage")) != pytest:
            raise ValueError(f"{self.argv[0]}: a tier and its reports go with test runs only")
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
    tags: tuple[str, ...] = ()
    """nox tags (`nox -t fast`): `checks`, `tests`, and `fast`, the sessions a bare `nox` runs."""


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


def tier_reports(config: Config, tier: str, shard: testrun.Shard | None) -> TierReports:
    """Where a tier run writes: the tier's reports, or its shard's own directory."""
    if shard is None:
        return TierReports.of(config.reports(), tier)
    return TierReports.shard(config.reports(), tier, shard.index, shard.total)


def _split_args(tier: Tier, args: testrun.TierArgs) -> tuple[str, ...]:
    """pytest-split's flags: this shard's group, or recording the tier's durations."""
    path = str(tiers.durations(tier.name))
    if args.store_durations:
        return ("--store-durations", "--durations-path", path)
    if args.shard is None:
        return ()
    return (
        *("--splits", str(args.shard.total), "--group", str(args.shard.index)),
        *("--durations-path", path, "--splitting-algorithm", "least_duration"),
    )


def pytest_argv(config: Config, tier: Tier, posargs: Sequence[str] = ()) -> tuple[str, ...]:
    """The pytest command line of a tier: selection, reports, coverage gate, xdist, shard.

    A shard's gate is 0: its coverage is a part; the coverage session gates the total.
    """
    args = testrun.tier_args(posargs)
    reports = tier_reports(config, tier.name, args.shard)
    argv = ["pytest", "--tier", tier.name, f"--junitxml={reports.junit}"]
    if config.code:
        argv += [
            *(f"--cov={name}" for name in config.code),
            "--cov-report=term-missing:skip-covered",
            f"--cov-report=xml:{reports.coverage}",
        ]
    gate = testrun.gate_args(config, tier)  # after the project's addopts, so it wins
    argv += ["--cov-fail-under=0"] if gate and args.shard else gate
    # Durations are recorded in one process: xdist workers would each write the file.
    workers = "0" if args.store_durations else testrun.workers(config, tier)
    if workers != "0":
        argv += ["-n", workers, "--dist", config.tests.dist]
    argv.append(f"--durations={config.tests.durations}")
    return (*argv, *_split_args(tier, args), *args.pytest)


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
    args = testrun.tier_args(ctx.posargs)
    reports = tier_reports(config, tier.name, args.shard)
    # A shard keeps its data for the coverage session; tests.env stays the plugin's to set.
    data = {"COVERAGE_FILE": str(reports.data)} if reports.data else {}
    steps.append(
        Run(
            pytest_argv(config, tier, ctx.posargs),
            f"the {tier.name} tests failed" + (f" (shard {args.shard})" if args.shard else ""),
            env=MappingProxyType(data),
            kind="pytest",
            tier=tier.name,
            tier_reports=reports,
            shard=None if args.shard is None else str(args.shard),
            prepare=(tiers.durations(tier.name).parent,) if args.store_durations else (),
        )
    )
    return (*steps, *_coverage_xml(config, reports))


def _coverage_xml(config: Config, reports: TierReports) -> tuple[Run, ...]:
    """coverage.xml written again from the data pytest-cov saved, for code in several parts.

    coverage.py names a file in its XML relative to the `--cov` directory it is in, so
    the packages of a flat layout (routers/, services/, ... directories beside the
    tests) all had an `__init__.py`, and one hid the others. Written from the saved
    data with no source given, every file is named from the project's root; the data
    holds the files never imported too (coverage records them when it saves).
    """
    if len(config.code) < 2:
        return ()
    env = {"COVERAGE_FILE": str(reports.data)} if reports.data else {}
    return (
        Run(
            ("coverage", "xml", "-q", "--fail-under=0", "-o", str(reports.coverage)),
            "coverage could not write the XML report from the tests' data",
            env=MappingProxyType(env),
        ),
    )


def _combined_tier(ctx: Invocation) -> str:
    """The tier the coverage session combines: its one argument, else the default tier."""
    names = ctx.posargs or (tiers.DEFAULT_TIER,)
    if len(names) != 1 or names[0] not in tiers.SESSION_TIERS:
        raise UsageError(
            f"coverage takes one tier after --, got {' '.join(names)!r}; "
            f"expected one of: {', '.join(tiers.SESSION_TIERS)}"
        )
    return names[0]


def shard_data(config: Config, tier: str) -> tuple[Path, ...]:
    """Every shard's coverage data of the tier's one sharded run, all N of them, or why not.

    A shard missing (a job that never uploaded) would lower the total, never raise it,
    but its tests would not have run: that is an error, not a smaller number.
    """
    directory = config.reports(tier)
    found = tiers.shard_dirs(config.root / config.reports(), tier)
    if not found:
        raise UsageError(
            f"no shards of tier {tier!r} in {directory}; run `nox -s {tier} -- --shard K/N` "
            "for every K first (in CI: download every shard's artifact there)"
        )
    if len(found) > 1:
        counts = sorted(found)
        raise UsageError(
            f"{directory} holds runs of {' and '.join(map(str, counts))} shards; remove the "
            f"stale ones (rm -r {directory}/{tiers.SHARD_PREFIX}*-of-{counts[0]})"
        )
    ((total, shards),) = found.items()
    data: list[Path] = []
    for index in range(1, total + 1):
        path = tiers.shard_dir(config.reports(), tier, index, total) / tiers.COVERAGE_DATA
        if index not in shards or not (config.root / path).is_file():
            raise UsageError(
                f"shard {index} of {total} has no coverage data ({path}); run "
                f"`nox -s {tier} -- --shard {index}/{total}` (in CI: its artifact is missing)"
            )
        data.append(path)
    return tuple(data)


def _coverage_steps(config: Config, ctx: Invocation) -> tuple[Run, ...]:
    """Combine every shard's data, write the total's XML, and gate the total."""
    tier = _combined_tier(ctx)
    data = shard_data(config, tier)
    combined = TierReports.combined(config.reports(), tier)
    env = MappingProxyType({"COVERAGE_FILE": str(combined.data)})
    gate = config.tier(tier).coverage_fail_under
    return (
        Run(
            ("coverage", "combine", "--keep", "-q", *map(str, data)),
            f"coverage could not combine the data of the {len(data)} {tier} shards",
            env=env,
        ),
        Run(
            ("coverage", "xml", "-q", "--fail-under=0", "-o", str(combined.coverage)),
            "coverage could not write the XML report of the combined data",
            env=env,
        ),
        Run(
            ("coverage", "report", f"--fail-under={gate or 0:g}"),
            f"the {tier} tier's combined coverage is under its gate",
            env=env,
            kind="coverage",
            tier=tier,
            tier_reports=combined,
            shard=f"{len(data)}",
        ),
    )


FAST = ("lint", "type", "smoke", "unit")
"""The sessions a bare `nox` runs (tagged `fast`): the quick local loop."""


def _tags(name: str, kind: str) -> tuple[str, ...]:
    return (kind, *(("fast",) if name in FAST else ()))


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
        tags=_tags(name, "tests"),
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
        tags=_tags("lint", "checks"),
    ),
    Check(
        name="type",
        description="static types with mypy, or pyright by config",
        tools=_type_tools,
        steps=_type_steps,
        installs_project=True,
        needs_plugin=False,
        tags=_tags("type", "checks"),
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
        tags=_tags("security", "checks"),
    ),
    # One session per session tier, made from the tier list so none can be missed.
    *(_tier_check(name, description) for name, description in tiers.SESSIONS.items()),
    Check(
        name="coverage",
        description=(
            "a sharded tier's total (`-- <tier>`, default unit): every shard's coverage "
            "data combined, the tier's gate applied to it"
        ),
        tools=lambda config, ctx: ("coverage",),
        steps=_coverage_steps,
        installs_project=False,
        needs_plugin=False,
    ),
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
