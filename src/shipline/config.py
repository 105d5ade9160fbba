"""`[tool.shipline]` read once into frozen objects, with errors that name the key.

This module is imported by the pytest plugin inside every test environment, so
it depends on the standard library only.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from shipline import inputs
from shipline.errors import ConfigError
from shipline.tiers import TIERS

LIVE_MODES = ("auto", "on", "off")
DIST_MODES = ("load", "loadscope", "loadfile", "loadgroup", "worksteal", "each", "no")
SEVERITIES = ("low", "medium", "high")
CHECKERS = ("mypy", "pyright")
MIGRATION_TOOLS = ("alembic",)
DEFAULT_GROUPS = ("dev", "test", "tests")

T = TypeVar("T")


@dataclass(frozen=True)
class AuditIgnore:
    """A pip-audit finding accepted for a stated reason until a date."""

    id: str
    reason: str
    until: dt.date | None


@dataclass(frozen=True)
class Tier:
    name: str
    marker: str
    paths: tuple[str, ...]
    optional: bool
    coverage_fail_under: float | None
    migrations: str | None = None


@dataclass(frozen=True)
class LintConfig:
    paths: tuple[str, ...]


@dataclass(frozen=True)
class TypeConfig:
    checker: str
    paths: tuple[str, ...]


@dataclass(frozen=True)
class SecurityConfig:
    bandit_targets: tuple[str, ...]
    bandit_severity: str
    bandit_confidence: str
    audit_ignore: tuple[AuditIgnore, ...]


@dataclass(frozen=True)
class TestsConfig:
    paths: tuple[str, ...]
    coverage_fail_under: float
    workers: str
    dist: str
    durations: int
    default_tier: str
    live: str
    env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class ImageConfig:
    name: str | None
    """Image name, e.g. ghcr.io/acme/app (lowercased); None: derived where it can be."""
    dockerfile: str
    context: str
    build_args: Mapping[str, str]
    target: str | None
    tags: tuple[str, ...] | None
    """metadata-action `tags` rules; None: shipline's defaults."""
    flavor: tuple[str, ...]
    username: str | None
    token_env: str
    platforms: tuple[str, ...]
    cache_from: tuple[str, ...]
    cache_to: tuple[str, ...]


@dataclass(frozen=True)
class DeployConfig:
    app: str
    """Compose project prefix on the hosts: <app>-blue, <app>-green, <app>-proxy."""
    path: str
    """The app's directory on each host."""
    compose_file: str
    env_file: str | None
    services: tuple[str, ...]
    """App services in deploy order."""
    base_port: int
    """Slot ports: service i listens on base-port + 2*i (blue) and + 2*i + 1 (green)."""
    proxy_port: int
    proxy_image: str
    health_timeout: float
    drain_seconds: float
    keep: int
    migrations: str | None
    """A compose service run once (docker compose run --rm) before traffic moves."""
    url: str
    """Where smoke checks reach a host: {host} is replaced by the host's address."""
    min_free_mb: int
    lock_ttl: float = 60.0
    """Seconds after which a deploy lock whose heartbeat was not renewed is stale."""


@dataclass(frozen=True)
class SmokeConfig:
    health_path: str
    protected_paths: tuple[str, ...]
    check_version: bool
    timeout: float
    retries: int


@dataclass(frozen=True)
class Config:
    root: Path
    project_name: str | None
    package: str | None
    package_dir: str | None
    """The package's directory relative to root, e.g. `src/app`; None if not found."""
    default_branch: str
    python: tuple[str, ...] | None
    venv_backend: str
    reports_dir: str
    extras: tuple[str, ...]
    dependency_groups: tuple[str, ...]
    lint: LintConfig
    type: TypeConfig
    security: SecurityConfig
    tests: TestsConfig
    tiers: Mapping[str, Tier]
    image: ImageConfig
    deploy: DeployConfig
    smoke: SmokeConfig
    raw_pyproject: Mapping[str, Any] = field(repr=False, compare=False, default_factory=dict)

    def tier(self, name: str) -> Tier:
        return self.tiers[name]

    def reports(self, *parts: str) -> Path:
        """A reports path relative to the project root, where sessions run."""
        return Path(self.reports_dir, *parts)


def show(value: object) -> str:
    """Render a TOML value the way the user wrote it, for error messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return json.dumps(value, default=str)


class _Table:
    """One TOML table being read; remembers which keys were used to report the rest."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a table, got {show(data)}")
        self.data: dict[str, Any] = data
        self.path = path
        self.used: set[str] = set()

    def key(self, key: str) -> str:
        return f"{self.path}.{key}"

    def get(self, key: str, default: T, parse: Callable[[str, object], T]) -> T:
        self.used.add(key)
        if key not in self.data:
            return default
        return parse(self.key(key), self.data[key])

    def sub(self, key: str) -> _Table:
        self.used.add(key)
        return _Table(self.data.get(key, {}), self.key(key))

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            name = unknown[0]
            known = sorted(self.used)
            close = difflib.get_close_matches(name, known, n=1)
            hint = (
                f"did you mean {close[0]!r}?" if close else f"expected one of: {', '.join(known)}"
            )
            raise ConfigError(f"{self.key(name)}: unknown key; {hint}")


def _string(choices: Iterable[str] | None = None) -> Callable[[str, object], str]:
    options = tuple(choices) if choices is not None else None

    def parse(path: str, value: object) -> str:
        if options is not None:
            if value not in options:
                raise ConfigError(
                    f"{path}: expected one of {', '.join(options)}, got {show(value)}"
                )
            return str(value)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{path}: expected a non-empty string, got {show(value)}")
        return value

    return parse


def _strings(path: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{path}: expected a list of strings, got {show(value)}")
    return tuple(value)


def _boolean(path: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{path}: expected true or false, got {show(value)}")
    return value


def _percent(path: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise ConfigError(f"{path}: expected a number from 0 to 100, got {show(value)}")
    return float(value)


def _count(path: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{path}: expected a whole number of 0 or more, got {show(value)}")
    return value


def _workers(path: str, value: object) -> str:
    if value in ("auto", "logical"):
        return str(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(
            f'{path}: expected "auto", "logical" or a whole number of 0 or more '
            f"(0 turns xdist off), got {show(value)}"
        )
    return str(value)


def _python(path: str, value: object) -> tuple[str, ...]:
    versions = _strings(path, value)
    for version in versions:
        if not re.fullmatch(r"3\.\d+|pypy3\.\d+", version):
            raise ConfigError(f'{path}: expected versions like "3.12", got {show(version)}')
    return versions


def _backend(path: str, value: object) -> str:
    allowed = {"uv", "virtualenv", "venv", "conda", "mamba", "micromamba", "none"}
    if not isinstance(value, str) or not all(p in allowed for p in value.split("|")):
        raise ConfigError(
            f'{path}: expected a nox backend such as "uv|virtualenv", "uv" or "virtualenv", '
            f"got {show(value)}"
        )
    return value


def _env(path: str, value: object) -> Mapping[str, str]:
    if not isinstance(value, dict):
        raise ConfigError(f'{path}: expected a table of NAME = "value", got {show(value)}')
    env: dict[str, str] = {}
    for name, item in value.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ConfigError(f"{path}.{name}: expected an environment variable name")
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise ConfigError(f"{path}.{name}: expected a string, got {show(item)}")
        env[name] = str(item)
    return MappingProxyType(env)


def _ignores(path: str, value: object) -> tuple[AuditIgnore, ...]:
    if not isinstance(value, list):
        raise ConfigError(
            f'{path}: expected a list of {{ id = "...", reason = "...", until = 2027-01-31 }}, '
            f"got {show(value)}"
        )
    ignores = []
    for index, item in enumerate(value):
        table = _Table(item, f"{path}[{index}]")
        ident = table.get("id", "", _string())
        if not ident:
            raise ConfigError(f"{table.key('id')}: required; the vulnerability ID to ignore")
        reason = table.get("reason", "", _string())
        if not reason:
            raise ConfigError(
                f'{table.key("reason")}: required; say why {ident} is acceptable (reason = "...")'
            )
        until = table.get("until", None, _date)
        table.done()
        ignores.append(AuditIgnore(ident, reason, until))
    return tuple(ignores)


def _date(path: str, value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ConfigError(f"{path}: expected a date like 2027-01-31, got {show(value)}")


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


def _find_package(root: Path, name: str) -> str | None:
    for candidate in (f"src/{name}", name):
        if (root / candidate).is_dir():
            return candidate
    for candidate in (f"src/{name}.py", f"{name}.py"):
        if (root / candidate).is_file():
            return candidate
    return None


def load(root: Path | None = None) -> Config:
    """Read the configuration of the project whose pyproject.toml is at or above `root`."""
    start = (root or Path.cwd()).resolve()
    pyproject = find_pyproject(start)
    if pyproject is None:
        raise ConfigError(
            f"no pyproject.toml found in {start} or above; run from the project's directory"
        )
    return parse(read_pyproject(pyproject), pyproject.parent)


def parse(data: Mapping[str, Any], root: Path) -> Config:
    """Build a Config from a parsed pyproject; pure apart from looking for the package."""
    project = data.get("project", {})
    project_name = project.get("name") if isinstance(project, dict) else None
    tool = data.get("tool", {})
    table = _Table(tool.get("shipline", {}) if isinstance(tool, dict) else {}, "tool.shipline")

    package = table.get("package", None, _string())
    if package is not None:
        package_dir = _find_package(root, package)
        if package_dir is None:
            raise ConfigError(
                f"tool.shipline.package: no package {package!r} in {root / 'src'} or {root}; "
                "set it to the import name of your package"
            )
    elif isinstance(project_name, str):
        package = re.sub(r"[-_.]+", "_", project_name).lower()
        package_dir = _find_package(root, package)
        if package_dir is None:
            package = None
    else:
        package_dir = None

    extras, dependency_groups = _groups(table, project, data.get("dependency-groups", {}))
    default_branch = table.get("default-branch", "main", _string())
    python = table.get("python", None, _python)
    venv_backend = table.get("venv-backend", "uv|virtualenv", _backend)
    reports_dir = table.get("reports-dir", "reports", _string())

    lint_table = table.sub("lint")
    lint = LintConfig(paths=lint_table.get("paths", (".",), _strings))
    lint_table.done()

    type_table = table.sub("type")
    type_config = TypeConfig(
        checker=type_table.get("checker", "mypy", _string(CHECKERS)),
        paths=type_table.get("paths", (package_dir,) if package_dir else (), _strings),
    )
    type_table.done()

    security_table = table.sub("security")
    security = SecurityConfig(
        bandit_targets=security_table.get(
            "bandit-targets", (package_dir,) if package_dir else (), _strings
        ),
        bandit_severity=security_table.get("bandit-severity", "medium", _string(SEVERITIES)),
        bandit_confidence=security_table.get("bandit-confidence", "low", _string(SEVERITIES)),
        audit_ignore=security_table.get("audit-ignore", (), _ignores),
    )
    security_table.done()

    tests, tiers = _tests(table.sub("tests"), table.sub("tiers"))
    image = _image(table.sub("image"))
    app_default = re.sub(r"[^a-z0-9-]+", "-", (project_name or package or "app").lower())
    deploy = _deploy(table.sub("deploy"), app_default)
    smoke = _smoke(table.sub("smoke"))
    table.done()

    return Config(
        root=root,
        project_name=project_name if isinstance(project_name, str) else None,
        package=package,
        package_dir=package_dir,
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
        raw_pyproject=data,
    )


def _groups(
    table: _Table, project: Mapping[str, Any], groups: Mapping[str, Any]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The extras and PEP 735 groups sessions install: configured ones must exist."""
    optional = project.get("optional-dependencies", {}) if isinstance(project, dict) else {}
    extras = table.get("extras", tuple(g for g in DEFAULT_GROUPS if g in optional), _strings)
    for extra in extras:
        if extra not in optional:
            raise ConfigError(
                f"tool.shipline.extras: {extra!r} is not in [project.optional-dependencies]; "
                f"expected one of: {', '.join(optional) or '(none declared)'}"
            )
    dependency_groups = table.get(
        "dependency-groups", tuple(g for g in DEFAULT_GROUPS if g in groups), _strings
    )
    for group in dependency_groups:
        if group not in groups:
            raise ConfigError(
                f"tool.shipline.dependency-groups: {group!r} is not in [dependency-groups]; "
                f"expected one of: {', '.join(groups) or '(none declared)'}"
            )
    return extras, dependency_groups


def _tests(tests_table: _Table, tiers_table: _Table) -> tuple[TestsConfig, dict[str, Tier]]:
    """[tool.shipline.tests] and [tool.shipline.tiers.*]: a tier's defaults follow tests'."""
    default_paths: tuple[str, ...] = ("tests",)
    test_paths = tests_table.get("paths", default_paths, _strings)
    tests = TestsConfig(
        paths=test_paths,
        coverage_fail_under=tests_table.get("coverage-fail-under", 80.0, _percent),
        workers=tests_table.get("workers", "auto", _workers),
        dist=tests_table.get("dist", "loadfile", _string(DIST_MODES)),
        durations=tests_table.get("durations", 10, _count),
        default_tier=tests_table.get("default-tier", "unit", _string(TIERS)),
        live=tests_table.get("live", "auto", _string(LIVE_MODES)),
        env=tests_table.get("env", MappingProxyType({}), _env),
    )
    tests_table.done()

    tiers: dict[str, Tier] = {}
    for name in TIERS:
        tier_table = tiers_table.sub(name)
        gate = tests.coverage_fail_under if name == "unit" else None
        tier_paths: tuple[str, ...] = tuple(f"{p}/{name}" for p in test_paths)
        tiers[name] = Tier(
            name=name,
            marker=tier_table.get("marker", name, _marker),
            paths=tier_table.get("paths", tier_paths, _strings),
            optional=tier_table.get("optional", False, _boolean),
            coverage_fail_under=tier_table.get("coverage-fail-under", gate, _percent),
            migrations=(
                tier_table.get("migrations", None, _string(MIGRATION_TOOLS))
                if name == "database"
                else None
            ),
        )
        tier_table.done()
    tiers_table.done()
    return tests, tiers


def _image(table: _Table) -> ImageConfig:
    """[tool.shipline.image]."""
    image = ImageConfig(
        name=table.get("name", None, inputs.image_name_setting),
        dockerfile=table.get("dockerfile", "Dockerfile", _string()),
        context=table.get("context", ".", _string()),
        build_args=table.get("build-args", MappingProxyType({}), _env),
        target=table.get("target", None, _string()),
        tags=table.get("tags", None, _strings),
        flavor=table.get("flavor", (), _strings),
        username=table.get("username", None, inputs.username_setting),
        token_env=table.get("token-env", "GITHUB_TOKEN", _env_name),
        platforms=table.get("platforms", (), _strings),
        cache_from=table.get("cache-from", (), _strings),
        cache_to=table.get("cache-to", (), _strings),
    )
    table.done()
    return image


def _deploy(table: _Table, app_default: str) -> DeployConfig:
    """[tool.shipline.deploy]: every value that reaches a host is validated here."""
    deploy = DeployConfig(
        app=table.get("app", app_default, inputs.slug_setting),
        path=table.get("path", f"/srv/{app_default}", inputs.remote_path_setting),
        compose_file=table.get("compose-file", "compose.yml", inputs.local_file_setting),
        env_file=table.get("env-file", None, inputs.local_file_setting),
        services=table.get("services", ("app",), inputs.services_setting),
        base_port=table.get("base-port", 8001, inputs.port_setting),
        proxy_port=table.get("proxy-port", 8080, inputs.port_setting),
        proxy_image=table.get("proxy-image", "nginx:1.27-alpine", inputs.image_reference_setting),
        health_timeout=table.get("health-timeout", 120.0, inputs.seconds_setting()),
        drain_seconds=table.get("drain-seconds", 2.0, inputs.seconds_setting(zero=True)),
        keep=table.get("keep", 3, inputs.whole_number_setting(1)),
        migrations=table.get("migrations", None, inputs.service_setting),
        url=table.get("url", "http://{host}:8080", inputs.url_template_setting),
        min_free_mb=table.get("min-free-mb", 1024, _count),
        lock_ttl=table.get("lock-ttl", 60.0, inputs.seconds_setting()),
    )
    table.done()
    inputs.slot_ports_check(table.path, deploy.base_port, deploy.proxy_port, len(deploy.services))
    return deploy


def _smoke(table: _Table) -> SmokeConfig:
    """[tool.shipline.smoke]."""
    smoke = SmokeConfig(
        health_path=table.get("health-path", "/health", inputs.url_path_setting),
        protected_paths=table.get("protected-paths", (), inputs.url_paths_setting),
        check_version=table.get("check-version", True, _boolean),
        timeout=table.get("timeout", 5.0, inputs.seconds_setting()),
        retries=table.get("retries", 3, _count),
    )
    table.done()
    return smoke


def _env_name(path: str, value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise ConfigError(f"{path}: expected an environment variable name, got {show(value)}")
    return value


def _marker(path: str, value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", value):
        raise ConfigError(
            f'{path}: expected a marker name such as "integration", got {show(value)}'
        )
    return value
