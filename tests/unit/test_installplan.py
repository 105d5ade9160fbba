"""Where a session installs the project from, as data: uv.lock, requirement files, pyproject."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from shipline import catalogue, config, installplan, pins
from shipline.errors import ConfigError
from shipline.installplan import Plan

BASE = '[project]\nname = "app"\n[project.optional-dependencies]\ndev = ["pytest>=8"]\n'


def make(tmp_path: Path, toml: str = "", files: tuple[str, ...] = ()) -> config.Config:
    (tmp_path / "src" / "app").mkdir(parents=True, exist_ok=True)
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("idna==3.6\n")
    return config.parse(tomllib.loads(BASE + toml), tmp_path)


def test_a_lock_is_installed_from_its_export_as_requirements_and_constraints(
    tmp_path: Path,
) -> None:
    cfg = make(tmp_path, files=("uv.lock", "requirements.txt"))
    chosen = installplan.plan(cfg)
    assert chosen == Plan("uv.lock")  # the lock wins over requirement files
    out = tmp_path / ".nox" / "unit" / "shipline-locked.txt"
    assert chosen.export_args(cfg, out) == (
        *("export", "--locked", "--format", "requirements-txt", "--no-hashes"),
        *("--no-emit-project", "--no-default-groups", "--extra=dev"),
        f"--output-file={out}",
    )
    assert chosen.install_args(("-e", ".[dev]"), ("pytest",), out) == (
        *("-r", str(out), "-c", str(out.with_name("shipline-locked-constraints.txt"))),
        *("-e", ".[dev]", "pytest"),
    )


def test_lock_off_resolves_afresh_and_lock_uv_requires_one(tmp_path: Path) -> None:
    cfg = make(tmp_path, '[tool.shipline]\nlock = "off"\n', files=("uv.lock",))
    chosen = installplan.plan(cfg)
    assert chosen == Plan("pyproject", lock_off=True)
    assert "uv.lock left aside" in chosen.describe()
    assert chosen.install_args(("-e", "."), ("pytest>=8",)) == ("-e", ".", "pytest>=8")
    (tmp_path / "uv.lock").unlink()
    with pytest.raises(ConfigError, match=r'^tool.shipline.lock = "uv", but there is no uv.lock'):
        installplan.plan(make(tmp_path, '[tool.shipline]\nlock = "uv"\n'))


def test_requirement_files_found_are_installed_with_r_and_c(tmp_path: Path) -> None:
    files = ("requirements.txt", "requirements/dev.txt", "constraints.txt")
    chosen = installplan.plan(make(tmp_path, files=files))
    assert chosen == Plan("requirements", ("requirements.txt", "requirements/dev.txt"), files[2:])
    assert chosen.install_args(("-e", "."), ("pytest",)) == (
        *("-r", "requirements.txt", "-r", "requirements/dev.txt", "-c", "constraints.txt"),
        *("-e", ".", "pytest"),
    )


def test_configured_files_replace_the_found_ones_and_must_exist(tmp_path: Path) -> None:
    toml = '[tool.shipline]\nrequirements = ["deps/ci.txt"]\nconstraints = []\n'
    files = ("deps/ci.txt", "requirements.txt", "constraints.txt")
    assert installplan.plan(make(tmp_path, toml, files)) == Plan("requirements", ("deps/ci.txt",))
    missing = make(tmp_path, '[tool.shipline]\nconstraints = ["nope.txt"]\n')
    with pytest.raises(ConfigError, match=r"^tool.shipline.constraints: 'nope.txt' does not exist"):
        installplan.plan(missing)


def test_dynamic_dependency_files_are_honoured(tmp_path: Path) -> None:
    toml = '[tool.setuptools.dynamic]\ndependencies = { file = ["deps.txt"] }\n'
    cfg = make(tmp_path, files=("deps.txt",))
    data = {**cfg.raw_pyproject, "project": {**cfg.raw_pyproject["project"]}}
    data["project"]["dynamic"] = ["dependencies"]
    data.update(tomllib.loads(toml))
    assert installplan.plan(config.parse(data, tmp_path)) == Plan("requirements", ("deps.txt",))


def test_no_lock_and_no_files_is_pyproject(tmp_path: Path) -> None:
    assert installplan.plan(make(tmp_path)) == Plan("pyproject")


def test_tools_the_lock_pins_lose_the_floor() -> None:
    exported = (
        "# comment\nidna==3.6\n    # via app\n"
        "pytest==8.1.1 ; python_version >= '3.8'\n-e ./libs/x\n"
    )
    locked = installplan.locked_names(exported)
    assert locked == {"idna", "pytest"}
    tools = ("pytest>=8", "pytest-xdist>=3.6", "bandit[sarif]>=1.7.9")
    assert installplan.defer_to_lock(tools, locked) == ("pytest", "pytest-xdist>=3.6", tools[2])


def test_a_tool_pinned_in_a_requirements_file_wins_over_the_floor(tmp_path: Path) -> None:
    cfg = make(tmp_path)
    (tmp_path / "requirements-dev.txt").write_text(
        "-r requirements.txt\npytest-xdist==3.5.0  # old\n"
    )
    cfg = config.parse(cfg.raw_pyproject, tmp_path)
    found = [d.where for d in pins.declared(cfg)]
    assert "requirements-dev.txt" in found
    assert "pytest-xdist==3.5.0" in catalogue.tool_requirements(cfg, catalogue.get("unit"))


def test_an_out_of_date_lock_is_one_line(tmp_path: Path) -> None:
    fake = tmp_path / "uv"
    fake.write_text(
        "#!/bin/sh\necho 'error: The lockfile at `uv.lock` needs to be updated, but `--locked` "
        "was provided. To update the lockfile, run `uv lock`.' >&2\nexit 2\n"
    )
    fake.chmod(0o755)
    cfg = make(tmp_path, files=("uv.lock",))
    with pytest.raises(
        Exception, match=r"^uv.lock is out of date with pyproject.toml; run `uv lock`$"
    ):
        installplan.export(str(fake), cfg, installplan.plan(cfg), tmp_path / "out.txt")
