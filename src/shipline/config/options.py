"""Every `[tool.shipline]` key, declared once: its name, parser, default and help.

After nox's `_options.py`: the readers (sections.py) take keys, defaults and
parsers from here, and the README's key reference is generated from here, so the
three cannot drift. A default that depends on the project (the package, the
project's name, the tier being read) is a function of a `Context`, with the words
the reference shows for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, Generic, TypeVar

from shipline import inputs
from shipline.config import swarm as sw
from shipline.config import values as v
from shipline.config.model import AuditIgnore
from shipline.errors import ConfigError
from shipline.tiers import DEFAULT_TIER, TIERS

LIVE_MODES = ("auto", "on", "off")
DIST_MODES = ("load", "loadscope", "loadfile", "loadgroup", "worksteal", "each", "no")
SEVERITIES = ("low", "medium", "high")
CHECKERS = ("mypy", "pyright")
LOCK_MODES = ("auto", "uv", "off")
DEFAULT_GATE = 80.0
MIGRATION_TOOLS = ("alembic", "flask-migrate")
LINTERS = ("auto", "ruff")
DEFAULT_GROUPS = ("dev", "test", "tests")

T = TypeVar("T")

NOTHING: tuple[str, ...] = ()
NO_VARIABLES: Mapping[str, str] = MappingProxyType({})
NO_IGNORES: tuple[AuditIgnore, ...] = ()
SECONDS0 = inputs.seconds_setting(zero=True)


def strings(*items: str) -> tuple[str, ...]:
    """A list default, typed as the parser's result (mypy infers a fixed length)."""
    return items


@dataclass(frozen=True, kw_only=True)
class Context:
    """What a computed default depends on, known before its table is read."""

    code_paths: tuple[str, ...] = ()
    """The project's own top-level packages and modules, as paths from the root."""
    extras: tuple[str, ...] = ()
    """The names in [project.optional-dependencies]."""
    groups: tuple[str, ...] = ()
    """The names in [dependency-groups]."""
    app: str = ""
    """The project's name as a compose project name."""
    tier: str = ""
    test_paths: tuple[str, ...] = ()
    coverage_fail_under: float | None = None
    shards: int = 1
    project_gate: float | None = None
    """The project's own coverage gate (pytest's --cov-fail-under, coverage's fail_under)."""


@dataclass(frozen=True, kw_only=True)
class Option(Generic[T]):
    """One key of a table: read with `parse`, else `default(context)`."""

    key: str
    parse: v.Parse[T]
    default: Callable[[Context], T]
    shown: str
    """The default as the reference shows it."""
    help: str

    @property
    def field(self) -> str:
        """The dataclass field the value goes to: the key in snake case."""
        return self.key.replace("-", "_")

    def read(self, table: v.Table, context: Context) -> T:
        return table.get(self.key, self.default(context), self.parse)


def _shown(value: object) -> str:
    """A fixed default as TOML, in code quotes; None (nothing) as a word."""
    if value is None:
        return "none"
    if isinstance(value, Mapping):
        return "`{}`"
    return f"`{v.show(list(value) if isinstance(value, tuple) else value)}`"


def fixed(
    key: str, parse: v.Parse[T], default: T, help: str, *, shown: str | None = None
) -> Option[T]:
    """An option whose default is the same for every project (None: found elsewhere)."""
    return Option(
        key=key, parse=parse, default=lambda _: default, shown=shown or _shown(default), help=help
    )


def computed(
    key: str, parse: v.Parse[T], default: Callable[[Context], T], help: str, *, shown: str
) -> Option[T]:
    """An option whose default is worked out from the project."""
    return Option(key=key, parse=parse, default=default, shown=shown, help=help)


class Section:
    """A table's options, as class attributes in the order they are read."""

    table: ClassVar[str]

    @classmethod
    def options(cls) -> tuple[Option[Any], ...]:
        return tuple(o for o in vars(cls).values() if isinstance(o, Option))


def _code_paths(context: Context) -> tuple[str, ...]:
    return context.code_paths


CODE_SHOWN = (
    "the project's code: `package` if set, else every top-level package and module "
    "(of src/ if it has any) but tests, docs, migrations and scripts"
)
"""The project's own code, as the reference words it (`shipline.packages.project_code`)."""


class RootOptions(Section):
    table = "tool.shipline"
    package = fixed(
        "package",
        v.string(),
        None,
        "the import name of your package; set, it alone is type-checked, scanned and measured",
        shown="from [project].name, else the only package",
    )
    extras = computed(
        "extras",
        v.strings,
        lambda c: tuple(g for g in DEFAULT_GROUPS if g in c.extras),
        "[project.optional-dependencies] extras every session installs",
        shown="whichever of dev, test, tests exist",
    )
    dependency_groups = computed(
        "dependency-groups",
        v.strings,
        lambda c: tuple(g for g in DEFAULT_GROUPS if g in c.groups),
        "PEP 735 [dependency-groups] every session installs",
        shown="whichever of dev, test, tests exist",
    )
    default_branch = fixed(
        "default-branch",
        v.string(),
        "main",
        "the branch `live` tests run on in CI and image tags treat as the default",
    )
    python = fixed(
        "python",
        v.python,
        None,
        'the Python versions each session runs on, e.g. ["3.11", "3.12"]',
        shown="the interpreter running nox",
    )
    venv_backend = fixed(
        "venv-backend",
        v.backend,
        "uv|virtualenv",
        "nox's venv backend; `a|b` takes the first found",
    )
    reports_dir = fixed(
        "reports-dir", v.string(), "reports", "where JUnit, coverage and audit reports go"
    )
    lock = fixed(
        "lock",
        v.string(LOCK_MODES),
        "auto",
        "sessions install what uv.lock locks: auto (when there is one), uv (required), off",
    )
    requirements = fixed(
        "requirements",
        v.strings,
        None,
        "requirement files sessions install with -r when no lock is used",
        shown="requirements.txt and the dev/test ones found (`requirements-dev.txt`, ...)",
    )
    constraints = fixed(
        "constraints",
        v.strings,
        None,
        "constraint files sessions install with -c when no lock is used",
        shown="`constraints.txt` when found",
    )


class LintOptions(Section):
    table = "tool.shipline.lint"
    paths = fixed("paths", v.strings, strings("."), "what lint checks and format-checks")
    linters = fixed(
        "linters",
        v.string(LINTERS),
        "auto",
        "auto: the project's own flake8, black and isort where it sets them up, "
        "ruff for the rest; ruff: ruff only",
    )


class TypeOptions(Section):
    table = "tool.shipline.type"
    checker = fixed("checker", v.string(CHECKERS), "mypy", "the type checker: mypy or pyright")
    paths = computed("paths", v.strings, _code_paths, "what the checker checks", shown=CODE_SHOWN)


class AuditIgnoreOptions(Section):
    table = "tool.shipline.security.audit-ignore[]"
    id = fixed("id", v.string(), "", "required: the vulnerability ID pip-audit reports")
    reason = fixed("reason", v.string(), "", "required: why the finding is acceptable")
    until = fixed("until", v.date, None, "the date the ignore expires and the finding fails again")


def audit_ignores(path: str, value: object) -> tuple[AuditIgnore, ...]:
    """`audit-ignore`: a list of tables, each read with AuditIgnoreOptions' options."""
    if not isinstance(value, list):
        raise ConfigError(
            f'{path}: expected a list of {{ id = "...", reason = "...", until = 2027-01-31 }}, '
            f"got {v.show(value)}"
        )
    ignores = []
    for index, item in enumerate(value):
        table = v.Table(item, f"{path}[{index}]")
        ident = AuditIgnoreOptions.id.read(table, Context())
        if not ident:
            raise ConfigError(f"{table.key('id')}: required; the vulnerability ID to ignore")
        reason = AuditIgnoreOptions.reason.read(table, Context())
        if not reason:
            raise ConfigError(
                f'{table.key("reason")}: required; say why {ident} is acceptable (reason = "...")'
            )
        until = AuditIgnoreOptions.until.read(table, Context())
        table.done()
        ignores.append(AuditIgnore(ident, reason, until))
    return tuple(ignores)


class SecurityOptions(Section):
    table = "tool.shipline.security"
    bandit_targets = computed(
        "bandit-targets", v.strings, _code_paths, "what bandit scans", shown=CODE_SHOWN
    )
    bandit_severity = fixed(
        "bandit-severity",
        v.string(SEVERITIES),
        "medium",
        "bandit fails on findings of this severity or above: low, medium or high",
    )
    bandit_confidence = fixed(
        "bandit-confidence",
        v.string(SEVERITIES),
        "low",
        "and of this confidence or above",
    )
    audit_ignore = fixed(
        "audit-ignore",
        audit_ignores,
        NO_IGNORES,
        "pip-audit findings accepted, each a table of the three keys below",
    )


class TestsOptions(Section):
    table = "tool.shipline.tests"
    paths = fixed(
        "paths", v.strings, strings("tests"), "the test directories; tiers live below them"
    )
    coverage_fail_under = computed(
        "coverage-fail-under",
        v.percent,
        lambda c: DEFAULT_GATE if c.project_gate is None else c.project_gate,
        "the coverage gate (percent) on the unit tier",
        shown="the project's own (pytest `--cov-fail-under`, coverage `fail_under`), else 80",
    )
    workers = fixed(
        "workers",
        v.workers,
        "auto",
        "pytest-xdist -n; 0 turns xdist off; auto: off on a tier of fewer than 8 test files",
    )
    dist = fixed(
        "dist", v.string(DIST_MODES), "loadfile", "pytest-xdist --dist: how tests are shared"
    )
    durations = fixed("durations", v.count, 10, "pytest --durations: the slowest tests listed")
    shards = fixed(
        "shards",
        v.positive,
        1,
        "CI jobs each tier's tests are split across by recorded durations (pytest-split); "
        "the coverage job combines them and applies the gate to the total",
    )
    default_tier = fixed(
        "default-tier",
        v.string(TIERS),
        DEFAULT_TIER,
        "the tier of a test with no tier marker or directory",
    )
    live = fixed(
        "live",
        v.string(LIVE_MODES),
        "auto",
        "tests marked live: auto runs them in CI on the default branch; on; off",
    )
    env = fixed(
        "env",
        v.env,
        NO_VARIABLES,
        "variables set before collection when not already set (placeholders)",
    )


class TierOptions(Section):
    table = "tool.shipline.tiers.<tier>"
    marker = computed(
        "marker",
        v.marker,
        lambda c: c.tier,
        "the pytest marker of the tier",
        shown="the tier's name",
    )
    paths = computed(
        "paths",
        v.strings,
        lambda c: tuple(f"{p}/{c.tier}" for p in c.test_paths),
        "directories whose tests belong to the tier",
        shown="`tests/<tier>`",
    )
    optional = fixed("optional", v.boolean, False, "an empty tier passes instead of failing")
    coverage_fail_under = computed(
        "coverage-fail-under",
        v.percent,
        lambda c: c.coverage_fail_under if c.tier == "unit" else None,
        "the tier's coverage gate (percent)",
        shown="`tests.coverage-fail-under` on unit, else none",
    )
    shards = computed(
        "shards",
        v.positive,
        lambda c: c.shards,
        "the tier's shards: its CI matrix is `shard: [1, ..., N]`",
        shown="`tests.shards`",
    )


class GateOptions(Section):
    """Whether a check gates the build: read from each check's own table.

    A project adopting shipline may never have run mypy or bandit; these let it
    see a check's findings without a red build (advisory), or leave it out
    (disabled), without editing generated files.
    """

    table = "tool.shipline.<check>"
    enabled = fixed(
        "enabled",
        v.boolean,
        True,
        "false: the session says the check is disabled and passes, installing nothing; "
        "`<check>` is `lint`, `type`, `security` or `tiers.<tier>` (not `tiers.security`)",
    )
    advisory = fixed(
        "advisory",
        v.boolean,
        False,
        "true: the session runs every step and reports failures, but passes",
    )


class DatabaseTierOptions(Section):
    table = "tool.shipline.tiers.database"
    migrations = fixed(
        "migrations",
        v.string(MIGRATION_TOOLS),
        None,
        "run the migrations and check them before the tier: alembic, flask-migrate",
    )


class ImageOptions(Section):
    table = "tool.shipline.image"
    name = fixed(
        "name",
        inputs.image_name_setting,
        None,
        "the image name, e.g. ghcr.io/acme/app (lowercased)",
        shown="`ghcr.io/$GITHUB_REPOSITORY`, else the project name",
    )
    dockerfile = fixed("dockerfile", v.string(), "Dockerfile", "the Dockerfile to build")
    context = fixed("context", v.string(), ".", "the build context")
    build_args = fixed("build-args", v.env, NO_VARIABLES, "build arguments")
    target = fixed("target", v.string(), None, "the Dockerfile stage to build")
    tags = fixed(
        "tags",
        v.strings,
        None,
        "docker/metadata-action tag rules, e.g. `type=semver,pattern={{version}}`",
        shown="shipline's rules",
    )
    flavor = fixed("flavor", v.strings, NOTHING, "metadata-action flavor, e.g. `latest=auto`")
    username = fixed(
        "username",
        inputs.username_setting,
        None,
        "the registry user",
        shown="`$GITHUB_ACTOR`",
    )
    token_env = fixed(
        "token-env", v.env_name, "GITHUB_TOKEN", "the variable that holds the registry token"
    )
    platforms = fixed("platforms", v.strings, NOTHING, "buildx only: the platforms to build")
    cache_from = fixed("cache-from", v.strings, NOTHING, "buildx only: --cache-from")
    cache_to = fixed("cache-to", v.strings, NOTHING, "buildx only: --cache-to")


class DeployOptions(Section):
    table = "tool.shipline.deploy"
    target = fixed(
        "target",
        v.string(sw.TARGETS),
        "ssh",
        "ssh: each --host runs the app behind its own proxy; swarm: a Docker Swarm service "
        "updated through its manager (`[deploy.swarm]`)",
    )
    app = computed(
        "app",
        inputs.slug_setting,
        lambda c: c.app,
        "compose project prefix on the hosts: `<app>-blue`, `-green`, `-proxy`",
        shown="the project name",
    )
    path = computed(
        "path",
        inputs.remote_path_setting,
        lambda c: f"/srv/{c.app}",
        "the app's directory on each host",
        shown="`/srv/<app>`",
    )
    compose_file = fixed(
        "compose-file",
        inputs.local_file_setting,
        "compose.yml",
        "the app services, using `${APP_IMAGE}` and `${APP_PORT_<SERVICE>}`",
    )
    env_file = fixed(
        "env-file", inputs.local_file_setting, None, "sent to the hosts as app.env, mode 0600"
    )
    services = fixed(
        "services", inputs.services_setting, strings("app"), "app services, in deploy order"
    )
    base_port = fixed(
        "base-port",
        inputs.port_setting,
        8001,
        "slot ports: service i on base-port + 2i (blue), + 2i + 1 (green)",
    )
    proxy_port = fixed("proxy-port", inputs.port_setting, 8080, "the port the proxy serves on")
    proxy_image = fixed(
        "proxy-image", inputs.image_reference_setting, "nginx:1.27-alpine", "the proxy's image"
    )
    health_timeout = fixed(
        "health-timeout",
        inputs.seconds_setting(),
        120.0,
        "seconds a new slot has to become healthy",
    )
    drain_seconds = fixed(
        "drain-seconds",
        inputs.seconds_setting(zero=True),
        2.0,
        "seconds the old slot keeps its connections after the switch",
    )
    keep = fixed(
        "keep",
        inputs.whole_number_setting(1),
        3,
        "releases (and their images) kept on each host for rollback",
    )
    migrations = fixed(
        "migrations",
        inputs.service_setting,
        None,
        "a compose service run once (docker compose run --rm) before traffic moves",
    )
    url = fixed(
        "url",
        inputs.url_template_setting,
        "http://{host}:8080",
        "where the smoke checks reach a host: `{host}` is its address",
    )
    min_free_mb = fixed("min-free-mb", v.count, 1024, "free disk (MB) a host needs to deploy")
    lock_ttl = fixed(
        "lock-ttl",
        inputs.seconds_setting(),
        60.0,
        "seconds after which a deploy lock with no heartbeat is stale",
    )


class SmokeOptions(Section):
    table = "tool.shipline.smoke"
    health_path = fixed(
        "health-path",
        inputs.url_path_setting,
        "/health",
        'answers 200 with JSON: status "ok", every component true',
    )
    protected_paths = fixed(
        "protected-paths", inputs.url_paths_setting, NOTHING, "must answer 401 without a token"
    )
    check_version = fixed(
        "check-version", v.boolean, True, "the version /health reports is the one deployed"
    )
    timeout = fixed("timeout", inputs.seconds_setting(), 5.0, "seconds per request")
    retries = fixed("retries", v.count, 3, "retries of a failing check before it fails")


SECTIONS: tuple[type[Section], ...] = (
    RootOptions,
    LintOptions,
    TypeOptions,
    SecurityOptions,
    AuditIgnoreOptions,
    TestsOptions,
    TierOptions,
    DatabaseTierOptions,
    GateOptions,
    ImageOptions,
    DeployOptions,
    SmokeOptions,
)
"""The tables declared here, in the order of the reference (`shipline.config.reference`
adds the ones declared in modules of their own)."""
