"""The readers of `[tool.shipline]`: one per table, each taking its keys from options.py.

A reader reads its table's options, works out what the next tables' computed
defaults need (the package, the app name, the tests' gate) and reports any key it
did not read. `parse` is pure apart from looking for the package and reading the
project's own coverage gate from its pytest and coverage settings.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from shipline import inputs
from shipline.config import projectgate
from shipline.config.deliveryoptions import QualityGateOptions, SwarmOptions
from shipline.config.kubeoptions import KubernetesOptions
from shipline.config.model import (
    Config,
    DeployConfig,
    ImageConfig,
    KubernetesConfig,
    LintConfig,
    QualityGateConfig,
    SecurityConfig,
    SmokeConfig,
    SwarmConfig,
    TestsConfig,
    Tier,
    TypeConfig,
)
from shipline.config.options import (
    Context,
    DatabaseTierOptions,
    DeployOptions,
    GateOptions,
    ImageOptions,
    LintOptions,
    RootOptions,
    Section,
    SecurityOptions,
    SmokeOptions,
    TestsOptions,
    TierOptions,
    TypeOptions,
)
from shipline.config.values import Table
from shipline.errors import ConfigError
from shipline.packages import Code, find_package, project_code
from shipline.tiers import SECURITY, TIERS


def read(table: Table, context: Context, *sections: type[Section]) -> dict[str, Any]:
    """Every option of `sections` by dataclass field, then fail on any key left unread."""
    found = {
        option.field: option.read(table, context)
        for section in sections
        for option in section.options()
    }
    table.done()
    return found


def load(root: Path | None = None) -> Config:
    """Read the configuration of the project whose pyproject.toml is at or above `root`."""
    start = (root or Path.cwd()).resolve()
    pyproject = find_pyproject(start)
    if pyproject is None:
        raise ConfigError(
            f"no pyproject.toml found in {start} or above; run from the project's directory"
        )
    return parse(read_pyproject(pyproject), pyproject.parent)


def _names(table: object) -> tuple[str, ...]:
    return tuple(table) if isinstance(table, Mapping) else ()


def _dynamic_extras(data: Mapping[str, Any]) -> tuple[str, ...]:
    """Extras setuptools reads from files (`dynamic`), as `init --adopt` writes the dev one."""
    project = data.get("project")
    dynamic = project.get("dynamic", ()) if isinstance(project, dict) else ()
    if not isinstance(dynamic, list) or "optional-dependencies" not in dynamic:
        return ()
    tool = data.get("tool")
    setuptools = tool.get("setuptools") if isinstance(tool, dict) else None
    table = setuptools.get("dynamic") if isinstance(setuptools, dict) else None
    return _names(table.get("optional-dependencies") if isinstance(table, dict) else None)


def parse(data: Mapping[str, Any], root: Path) -> Config:
    """Build a Config from a parsed pyproject; reads only the package and the project's gate."""
    project = data.get("project", {})
    project_name = project.get("name") if isinstance(project, dict) else None
    project_name = project_name if isinstance(project_name, str) else None
    tool = data.get("tool", {})
    table = Table(tool.get("shipline", {}) if isinstance(tool, dict) else {}, "tool.shipline")
    optional = project.get("optional-dependencies", {}) if isinstance(project, dict) else {}
    extras = (*_names(optional), *_dynamic_extras(data))
    context = Context(extras=extras, groups=_names(data.get("dependency-groups", {})))

    package, package_dir, code = _package(table, root, project_name)
    app = re.sub(r"[^a-z0-9-]+", "-", (project_name or package or "app").lower())
    context = replace(context, code_paths=tuple(c.path for c in code), app=app)
    extras, dependency_groups = _groups(table, context)
    default_branch = RootOptions.default_branch.read(table, context)
    python = RootOptions.python.read(table, context)
    venv_backend = RootOptions.venv_backend.read(table, context)
    reports_dir = RootOptions.reports_dir.read(table, context)
    lock = RootOptions.lock.read(table, context)
    requirements = RootOptions.requirements.read(table, context)
    constraints = RootOptions.constraints.read(table, context)
    lint = LintConfig(**read(table.sub("lint"), context, LintOptions, GateOptions))
    type_config = TypeConfig(**read(table.sub("type"), context, TypeOptions, GateOptions))
    security = SecurityConfig(**read(table.sub("security"), context, SecurityOptions, GateOptions))
    gate = projectgate.find(root, data)
    tests, tiers = _tests(
        table.sub("tests"), table.sub("tiers"), None if gate is None else gate.percent
    )
    image = ImageConfig(**read(table.sub("image"), context, ImageOptions))
    deploy = _deploy(table.sub("deploy"), context)
    smoke = SmokeConfig(**read(table.sub("smoke"), context, SmokeOptions))
    kubernetes = _kubernetes(table.sub("kubernetes"), replace(context, app=deploy.app), deploy)
    quality_gate = QualityGateConfig(**read(table.sub("gate"), context, QualityGateOptions))
    table.done()

    return Config(
        root=root,
        project_name=project_name,
        package=package,
        package_dir=package_dir,
        code=tuple(c.name for c in code),
        default_branch=default_branch,
        python=python,
        venv_backend=venv_backend,
        reports_dir=reports_dir,
        extras=extras,
        dependency_groups=dependency_groups,
        lint=lint,
        type=type_config,
        security=security,
        tests=tests,
        tiers=MappingProxyType(tiers),
        image=image,
        deploy=deploy,
        smoke=smoke,
        kubernetes=kubernetes,
        gate=quality_gate,
        raw_pyproject=data,
        lock=lock,
        requirements=requirements,
        constraints=constraints,
    )


def _package(
    table: Table, root: Path, project_name: str | None
) -> tuple[str | None, str | None, tuple[Code, ...]]:
    """The import package and its path (configured, and then it must exist, or found, else
    none) and the project's code around it."""
    configured = RootOptions.package.read(table, Context())
    found = find_package(root, project_name, configured)
    code = project_code(root, found, configured is not None)
    return (*(found or (None, None)), code)


def _groups(table: Table, context: Context) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The extras and PEP 735 groups sessions install: configured ones must exist."""
    extras = RootOptions.extras.read(table, context)
    _declared(table.key("extras"), extras, context.extras, "project.optional-dependencies")
    groups = RootOptions.dependency_groups.read(table, context)
    _declared(table.key("dependency-groups"), groups, context.groups, "dependency-groups")
    return extras, groups


def _declared(path: str, names: tuple[str, ...], declared: tuple[str, ...], where: str) -> None:
    """Each configured name must be one the pyproject declares in [where]."""
    for name in names:
        if name not in declared:
            raise ConfigError(
                f"{path}: {name!r} is not in [{where}]; "
                f"expected one of: {', '.join(declared) or '(none declared)'}"
            )


def _tests(
    tests_table: Table, tiers_table: Table, project_gate: float | None
) -> tuple[TestsConfig, dict[str, Tier]]:
    """[tool.shipline.tests] and [tool.shipline.tiers.*]: a tier's defaults follow tests',
    whose gate defaults to the project's own."""
    tests = TestsConfig(**read(tests_table, Context(project_gate=project_gate), TestsOptions))
    tiers: dict[str, Tier] = {}
    for name in TIERS:
        context = Context(
            tier=name,
            test_paths=tests.paths,
            coverage_fail_under=tests.coverage_fail_under,
            shards=tests.shards,
        )
        # The security tier runs inside the security check, whose table has the gate keys.
        sections: tuple[type[Section], ...] = (TierOptions,)
        sections += (GateOptions,) if name != SECURITY else ()
        sections += (DatabaseTierOptions,) if name == "database" else ()
        tiers[name] = Tier(name=name, **read(tiers_table.sub(name), context, *sections))
    tiers_table.done()
    return tests, tiers


def _deploy(table: Table, context: Context) -> DeployConfig:
    """[tool.shipline.deploy]: every value that reaches a host is validated here."""
    swarm = SwarmConfig(**read(table.sub("swarm"), context, SwarmOptions))
    deploy = DeployConfig(**read(table, context, DeployOptions), swarm=swarm)
    if deploy.target == "swarm" and deploy.migrations:
        raise ConfigError(
            f'{table.key("migrations")}: not supported with target = "swarm" yet; run '
            "migrations as a one-off service or job before the deploy, and remove the key"
        )
    inputs.slot_ports_check(table.path, deploy.base_port, deploy.proxy_port, len(deploy.services))
    return deploy


def _kubernetes(table: Table, context: Context, deploy: DeployConfig) -> KubernetesConfig:
    """[tool.shipline.kubernetes], named after the deploy's app unless set; a rollout's
    deadline must outlast the time a new pod has to become healthy, or it fails while the
    pods are still starting."""
    kubernetes = KubernetesConfig(**read(table, context, KubernetesOptions))
    if kubernetes.progress_deadline <= deploy.health_timeout:
        raise ConfigError(
            f"{table.key('progress-deadline')}: {kubernetes.progress_deadline} seconds is not "
            f"more than tool.shipline.deploy.health-timeout ({deploy.health_timeout:g}), the "
            "time a new pod has to become healthy; raise progress-deadline"
        )
    return kubernetes


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above `start`."""
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def read_pyproject(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}; fix the file and run again") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save it as UTF-8 and run again") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from None
