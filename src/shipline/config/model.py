"""The frozen objects `[tool.shipline]` is read into: one dataclass per table.

Every other module takes these, never the TOML: a value here was validated once,
with an error naming its key. Defaults and help live with the keys, in options.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any


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
    shards: int = 1
    """How many CI jobs the tier's tests are split across (`--shard K/N`)."""
    enabled: bool = True
    """False: the tier's session passes without running (`GateOptions`)."""
    advisory: bool = False
    """True: the tier's session reports failures but passes."""


@dataclass(frozen=True)
class LintConfig:
    paths: tuple[str, ...]
    linters: str = "auto"
    """auto: the project's own flake8/black/isort where set up (`shipline.linters`); ruff."""
    enabled: bool = True
    advisory: bool = False


@dataclass(frozen=True)
class TypeConfig:
    checker: str
    paths: tuple[str, ...]
    enabled: bool = True
    advisory: bool = False


@dataclass(frozen=True)
class SecurityConfig:
    bandit_targets: tuple[str, ...]
    bandit_severity: str
    bandit_confidence: str
    audit_ignore: tuple[AuditIgnore, ...]
    enabled: bool = True
    advisory: bool = False


@dataclass(frozen=True)
class TestsConfig:
    paths: tuple[str, ...]
    coverage_fail_under: float
    workers: str
    dist: str
    durations: int
    default_tier: str
    live: str
    shards: int = 1
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
class SwarmConfig:
    """`[tool.shipline.deploy.swarm]`: the service's update, rollback and placement."""

    manager: str | None = None
    stack: str = "app"
    replicas: int = 2
    parallelism: int = 1
    delay: float = 0.0
    monitor: float = 5.0
    order: str = "start-first"
    failure_action: str = "rollback"
    max_failure_ratio: float = 0.0
    constraints: tuple[str, ...] = ()
    health_interval: float = 1.0
    health_retries: int = 3
    update_timeout: float = 600.0


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
    target: str = "ssh"
    """ssh: every --host behind its own proxy; swarm: a service updated through a manager."""
    swarm: SwarmConfig = field(default_factory=SwarmConfig)


@dataclass(frozen=True)
class SmokeConfig:
    health_path: str
    protected_paths: tuple[str, ...]
    check_version: bool
    timeout: float
    retries: int


@dataclass(frozen=True)
class KubernetesConfig:
    """What `invoke manifests --target kubernetes` writes beyond the deploy and smoke tables."""

    name: str
    """The Deployment's, Service's and container's name: the deploy's app unless set."""
    namespace: str | None
    replicas: int
    container_port: int
    service_port: int
    service_type: str
    secret: str | None
    """The Secret pods take their environment from; None: `<name>-env` if there is an env file."""
    image_pull_secret: str | None
    progress_deadline: int
    readiness_period: int
    liveness_period: int
    liveness_path: str | None
    """None: the smoke health path."""
    failure_threshold: int
    probe_timeout: int
    requests: Mapping[str, str]
    limits: Mapping[str, str]


@dataclass(frozen=True)
class QualityGateConfig:
    """[tool.shipline.gate]: what `invoke gate` waits on before a deploy, and how long."""

    exclude: tuple[str, ...]
    """Glob patterns of check names that are delivery, not quality (the gate's job added)."""
    require: tuple[str, ...]
    timeout: float
    interval: float
    settle: float


@dataclass(frozen=True)
class Config:
    root: Path
    project_name: str | None
    package: str | None
    package_dir: str | None
    """The package's directory relative to root, e.g. `src/app`; None if not found."""
    code: tuple[str, ...]
    """The import names of the project's own top-level packages and modules (see
    `shipline.packages.project_code`): what coverage measures."""
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
    kubernetes: KubernetesConfig
    gate: QualityGateConfig
    raw_pyproject: Mapping[str, Any] = field(repr=False, compare=False, default_factory=dict)
    lock: str = "auto"
    """Whether sessions install from uv.lock: auto, uv (required) or off."""
    requirements: tuple[str, ...] | None = None
    """Requirement files installed with -r when no lock is used; None: those found."""
    constraints: tuple[str, ...] | None = None
    """Constraint files installed with -c when no lock is used; None: those found."""

    def tier(self, name: str) -> Tier:
        return self.tiers[name]

    def reports(self, *parts: str) -> Path:
        """A reports path relative to the project root, where sessions run."""
        return Path(self.reports_dir, *parts)
