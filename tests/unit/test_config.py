from __future__ import annotations

import dataclasses
import datetime as dt
import tomllib
from pathlib import Path

import pytest

from shipline import config
from shipline.config import deliveryoptions, options
from shipline.config.kubeoptions import KubernetesOptions
from shipline.errors import ConfigError


def parse(tmp_path: Path, toml: str) -> config.Config:
    return config.parse(tomllib.loads(toml), tmp_path)


def test_defaults_fit_a_conventional_src_project(tmp_path: Path) -> None:
    (tmp_path / "src" / "my_app").mkdir(parents=True)
    cfg = parse(
        tmp_path,
        """
        [project]
        name = "My-App"
        [project.optional-dependencies]
        dev = ["pytest"]
        docs = ["sphinx"]
        """,
    )
    assert cfg.package == "my_app"
    assert cfg.package_dir == "src/my_app"
    assert cfg.default_branch == "main"
    assert cfg.venv_backend == "uv|virtualenv"
    assert cfg.extras == ("dev",)
    assert cfg.type.checker == "mypy"
    assert cfg.type.paths == ("src/my_app",)
    assert cfg.security.bandit_targets == ("src/my_app",)
    assert cfg.tests.paths == ("tests",)
    assert cfg.tests.dist == "loadfile"
    assert cfg.tests.workers == "auto"
    assert cfg.tier("unit").coverage_fail_under == 80.0
    assert cfg.tier("integration").coverage_fail_under is None
    assert cfg.tier("integration").paths == ("tests/integration",)
    assert cfg.tier("integration").marker == "integration"


def test_flat_layout_and_dependency_groups(tmp_path: Path) -> None:
    (tmp_path / "svc").mkdir()
    cfg = parse(
        tmp_path,
        """
        [project]
        name = "svc"
        [dependency-groups]
        test = ["pytest"]
        """,
    )
    assert cfg.package_dir == "svc"
    assert cfg.dependency_groups == ("test",)
    assert cfg.extras == ()


def test_no_package_found_leaves_paths_empty(tmp_path: Path) -> None:
    cfg = parse(tmp_path, '[project]\nname = "ghost"\n')
    assert cfg.package is None
    assert cfg.type.paths == ()


def test_everything_configurable(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    cfg = parse(
        tmp_path,
        """
        [project]
        name = "x"
        [tool.shipline]
        package = "app"
        default-branch = "trunk"
        python = ["3.11", "3.12"]
        venv-backend = "virtualenv"
        [tool.shipline.type]
        checker = "pyright"
        paths = ["app", "scripts"]
        [tool.shipline.security]
        bandit-severity = "high"
        audit-ignore = [
          { id = "CVE-2024-23342", reason = "ecdsa timing; we never sign", until = 2027-01-31 },
        ]
        [tool.shipline.tests]
        coverage-fail-under = 91.5
        workers = 4
        dist = "worksteal"
        durations = 0
        default-tier = "integration"
        live = "on"
        env = { SECRET_KEY = "placeholder", PORT = 8000 }
        [tool.shipline.tiers.database]
        migrations = "alembic"
        optional = true
        coverage-fail-under = 50
        paths = ["tests/db"]
        marker = "db"
        """,
    )
    assert cfg.package == "app"
    assert cfg.default_branch == "trunk"
    assert cfg.python == ("3.11", "3.12")
    assert cfg.type == config.TypeConfig("pyright", ("app", "scripts"))
    assert cfg.security.bandit_severity == "high"
    assert cfg.security.audit_ignore == (
        config.AuditIgnore("CVE-2024-23342", "ecdsa timing; we never sign", dt.date(2027, 1, 31)),
    )
    assert cfg.tests.workers == "4"
    assert cfg.tests.env == {"SECRET_KEY": "placeholder", "PORT": "8000"}
    db = cfg.tier("database")
    assert (db.migrations, db.optional, db.coverage_fail_under, db.paths, db.marker) == (
        "alembic",
        True,
        50.0,
        ("tests/db",),
        "db",
    )
    assert cfg.tier("integration").coverage_fail_under is None


def test_config_is_frozen(tmp_path: Path) -> None:
    cfg = parse(tmp_path, "")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.default_branch = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        cfg.tiers["unit"] = cfg.tiers["smoke"]  # type: ignore[index]


BAD = [
    (
        '[tool.shipline.tests]\ncoverage-fail-under = "high"',
        'tool.shipline.tests.coverage-fail-under: expected a number from 0 to 100, got "high"',
    ),
    (
        "[tool.shipline.tests]\ncoverage-fail-under = 101",
        "tool.shipline.tests.coverage-fail-under: expected a number from 0 to 100, got 101",
    ),
    (
        "[tool.shipline.tests]\ncovrage-fail-under = 80",
        "tool.shipline.tests.covrage-fail-under: unknown key; did you mean 'coverage-fail-under'?",
    ),
    (
        "[tool.shipline]\nflavour = 1",
        "tool.shipline.flavour: unknown key; expected one of:",
    ),
    (
        '[tool.shipline.tests]\ndist = "round-robin"',
        "tool.shipline.tests.dist: expected one of load, loadscope, loadfile, loadgroup, "
        'worksteal, each, no, got "round-robin"',
    ),
    (
        "[tool.shipline.tests]\nworkers = -1",
        'tool.shipline.tests.workers: expected "auto", "logical" or a whole number',
    ),
    (
        '[tool.shipline.type]\nchecker = "pytype"',
        'tool.shipline.type.checker: expected one of mypy, pyright, got "pytype"',
    ),
    (
        '[tool.shipline.lint]\npaths = "src"\nextra = true',
        "tool.shipline.lint.extra: unknown key",
    ),
    (
        "[tool.shipline.lint]\npaths = [1]",
        "tool.shipline.lint.paths: expected a list of strings, got [1]",
    ),
    (
        '[tool.shipline]\npython = ["3.x"]',
        'tool.shipline.python: expected versions like "3.12", got "3.x"',
    ),
    (
        '[tool.shipline]\nvenv-backend = "docker"',
        'tool.shipline.venv-backend: expected a nox backend such as "uv|virtualenv"',
    ),
    (
        '[tool.shipline.security]\naudit-ignore = [{ id = "CVE-1", until = 2027-01-01 }]',
        "tool.shipline.security.audit-ignore[0].reason: required; say why CVE-1 is acceptable",
    ),
    (
        '[tool.shipline.security]\naudit-ignore = [{ id = "CVE-1", reason = "x", until = "soon" }]',
        'tool.shipline.security.audit-ignore[0].until: expected a date like 2027-01-31, got "soon"',
    ),
    (
        '[tool.shipline.security]\naudit-ignore = [{ id = "CVE-1", reason = "x", by = "me" }]',
        "tool.shipline.security.audit-ignore[0].by: unknown key",
    ),
    (
        "[tool.shipline.tiers.intgration]\noptional = true",
        "tool.shipline.tiers.intgration: unknown key; did you mean 'integration'?",
    ),
    (
        '[tool.shipline.tiers.unit]\nmigrations = "alembic"',
        "tool.shipline.tiers.unit.migrations: unknown key",
    ),
    (
        '[tool.shipline.tiers.database]\nmigrations = "django"',
        "tool.shipline.tiers.database.migrations: expected one of alembic, flask-migrate, "
        'got "django"',
    ),
    (
        '[tool.shipline.tiers.smoke]\nmarker = "not valid"',
        'tool.shipline.tiers.smoke.marker: expected a marker name such as "integration"',
    ),
    (
        "[tool.shipline.tiers.smoke]\noptional = 1",
        "tool.shipline.tiers.smoke.optional: expected true or false, got 1",
    ),
    (
        "[tool.shipline.tests]\nenv = { SECRET = true }",
        "tool.shipline.tests.env.SECRET: expected a string, got true",
    ),
    (
        '[tool.shipline]\nextras = ["qa"]',
        "tool.shipline.extras: 'qa' is not in [project.optional-dependencies]",
    ),
    ('[tool.shipline]\npackage = "nope"', "tool.shipline.package: no package 'nope'"),
    ("[tool.shipline]\ntests = 3", "tool.shipline.tests: expected a table, got 3"),
]


@pytest.mark.parametrize(("toml", "message"), BAD, ids=[m.split(":")[0] for _, m in BAD])
def test_bad_values_name_the_key_and_the_expected_form(
    tmp_path: Path, toml: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(tmp_path, toml)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)
    assert caught.value.exit_code == 2


def test_load_finds_pyproject_above_and_reports_malformed_toml(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.shipline\n")
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    with pytest.raises(ConfigError, match=r"pyproject.toml: not valid TOML: .*line 1"):
        config.load(nested)


def test_load_without_pyproject(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no pyproject\.toml found"):
        config.load(tmp_path)


def test_deploy_and_smoke_defaults_and_overrides(tmp_path: Path) -> None:
    cfg = parse(tmp_path, '[project]\nname = "My_Service"\n')
    assert cfg.deploy is not None
    assert (cfg.deploy.app, cfg.deploy.path, cfg.deploy.base_port) == (
        "my-service",
        "/srv/my-service",
        8001,
    )
    assert cfg.deploy.health_timeout == 120.0
    assert cfg.smoke.health_path == "/health"
    custom = parse(
        tmp_path,
        '[tool.shipline.deploy]\napp = "web"\npath = "/opt/web/"\nproxy-port = 80\n'
        'services = ["api", "worker"]\nhealth-timeout = 30\nmigrations = "migrate"\n'
        '[tool.shipline.smoke]\nprotected-paths = ["/items"]\nretries = 5\n',
    )
    assert custom.deploy is not None
    assert (custom.deploy.path, custom.deploy.proxy_port, custom.deploy.services) == (
        "/opt/web",
        80,
        ("api", "worker"),
    )
    assert custom.smoke.protected_paths == ("/items",)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            '[tool.shipline.deploy]\npath = "srv/app"',
            'tool.shipline.deploy.path: expected an absolute path such as "/srv/app", '
            'got "srv/app"',
        ),
        (
            "[tool.shipline.deploy]\nproxy-port = 70000",
            "tool.shipline.deploy.proxy-port: expected a port number from 1 to 65535, got 70000",
        ),
        (
            '[tool.shipline.deploy]\napp = "My App"',
            'tool.shipline.deploy.app: expected lowercase letters, digits and "-", got "My App"',
        ),
        (
            "[tool.shipline.deploy]\nhealth-timeout = -1",
            "tool.shipline.deploy.health-timeout: expected a number of seconds, got -1",
        ),
        (
            '[tool.shipline.image]\nname = "Not An Image"',
            'tool.shipline.image.name: expected an image name such as "ghcr.io/acme/app"',
        ),
        (
            '[tool.shipline.image]\ntoken-env = "1TOKEN"',
            'tool.shipline.image.token-env: expected an environment variable name, got "1TOKEN"',
        ),
    ],
)
def test_deploy_and_image_errors(tmp_path: Path, toml: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(tmp_path, toml)
    assert str(caught.value).startswith(message)


def test_the_readme_reference_is_generated_from_the_declarations() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert config.markdown_table() in readme


GATE = options.GateOptions


@pytest.mark.parametrize(
    ("sections", "model", "not_options"),
    [
        ((options.LintOptions, GATE), config.LintConfig, set()),
        ((options.TypeOptions, GATE), config.TypeConfig, set()),
        ((options.SecurityOptions, GATE), config.SecurityConfig, set()),
        ((options.TestsOptions,), config.TestsConfig, set()),
        ((options.ImageOptions,), config.ImageConfig, set()),
        ((options.DeployOptions,), config.DeployConfig, {"swarm"}),
        ((deliveryoptions.SwarmOptions,), config.SwarmConfig, set()),
        ((options.SmokeOptions,), config.SmokeConfig, set()),
        ((KubernetesOptions,), config.KubernetesConfig, set()),
        ((deliveryoptions.QualityGateOptions,), config.QualityGateConfig, set()),
        ((options.TierOptions, GATE), config.Tier, {"name", "migrations"}),
        ((options.TierOptions,), config.Tier, {"name", "migrations", "enabled", "advisory"}),
        (
            (options.DatabaseTierOptions,),
            config.Tier,
            {
                *("name", "marker", "paths", "optional", "coverage_fail_under"),
                *("enabled", "advisory", "shards"),
            },
        ),
        ((options.AuditIgnoreOptions,), config.AuditIgnore, set()),
    ],
    ids=lambda p: "+".join(s.__name__ for s in p) if isinstance(p, tuple) else "",
)
def test_every_option_fills_one_field_of_its_table(
    sections: tuple[type[options.Section], ...], model: type, not_options: set[str]
) -> None:
    """A table's reader builds its dataclass from the options alone: names must match."""
    fields = {f.name for f in dataclasses.fields(model)} - not_options
    read = [o.field for section in sections for o in section.options()]
    assert sorted(read) == sorted(fields)
    assert len(read) == len(set(read))


def test_root_options_are_the_top_level_keys() -> None:
    tables = {
        "lint",
        "type",
        "security",
        "tests",
        "tiers",
        "image",
        "deploy",
        "smoke",
        "kubernetes",
        "gate",
    }
    with pytest.raises(ConfigError) as caught:
        config.parse({"tool": {"shipline": {"bogus-key-x": 1}}}, Path("/nonexistent"))
    listed = str(caught.value).split("expected one of: ")[1].split(", ")
    assert set(listed) == {o.key for o in options.RootOptions.options()} | tables


def test_fixed_defaults_are_what_an_empty_table_reads(tmp_path: Path) -> None:
    """The reference shows the value the reader takes when the key is absent."""
    cfg = parse(tmp_path, '[project]\nname = "x"\n')
    read = {
        options.TestsOptions: cfg.tests,
        options.ImageOptions: cfg.image,
        options.SmokeOptions: cfg.smoke,
        options.LintOptions: cfg.lint,
    }
    for section, value in read.items():
        for option in section.options():
            assert getattr(value, option.field) == option.default(options.Context())
    for option in KubernetesOptions.options():  # named after the deploy's app, "x"
        assert getattr(cfg.kubernetes, option.field) == option.default(options.Context(app="x"))
