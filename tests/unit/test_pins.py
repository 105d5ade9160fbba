"""The project's pins of shipline's tools win over the floors; a pin below a need is one line."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from shipline import catalogue, config
from shipline.catalogue import Invocation
from shipline.errors import ConfigError

SARIF = Invocation(environ={"SHIPLINE_SARIF": "true"})


def make(tmp_path: Path, text: str) -> config.Config:
    return config.parse(tomllib.loads('[project]\nname = "app"\n' + text), tmp_path)


def tools(cfg: config.Config, check: str, ctx: Invocation | None = None) -> tuple[str, ...]:
    return catalogue.tool_requirements(cfg, catalogue.get(check), ctx)


def test_a_pin_in_any_spelling_replaces_the_floor(tmp_path: Path) -> None:
    cfg = make(tmp_path, '[project.optional-dependencies]\ndev = ["Pytest_Xdist==3.5.0"]\n')
    assert tools(cfg, "unit") == (
        *("pytest>=8", "Pytest_Xdist==3.5.0"),
        *("pytest-cov>=5", "pytest-split>=0.10"),
    )


def test_a_pin_with_extras_keeps_them_and_gains_the_tools(tmp_path: Path) -> None:
    cfg = make(tmp_path, '[project.optional-dependencies]\ndev = ["bandit[toml]==1.7.5"]\n')
    assert tools(cfg, "security")[0] == "bandit[toml]==1.7.5"
    assert tools(cfg, "security", SARIF)[0] == "bandit[sarif,toml]==1.7.5"


def test_pins_count_in_dependencies_self_extras_and_included_groups(tmp_path: Path) -> None:
    cfg = make(
        tmp_path,
        'dependencies = ["pytest-cov==5.0.0"]\n'
        '[project.optional-dependencies]\ndev = ["app[test]"]\ntest = ["pytest==8.3.0"]\n'
        '[tool.shipline]\nextras = ["dev"]\n'
        '[dependency-groups]\ndev = [{ include-group = "ci" }]\nci = ["pytest-xdist==3.5.0"]\n',
    )
    assert tools(cfg, "unit") == (
        "pytest==8.3.0",
        "pytest-xdist==3.5.0",
        "pytest-cov==5.0.0",
        "pytest-split>=0.10",
    )


def test_a_pin_under_a_marker_also_installs_the_bare_tool(tmp_path: Path) -> None:
    cfg = make(
        tmp_path,
        "[project.optional-dependencies]\ndev = ['ruff==0.6.9; python_version >= \"3.11\"']\n",
    )
    assert tools(cfg, "lint") == ('ruff==0.6.9; python_version >= "3.11"', "ruff")


@pytest.mark.parametrize("pin", ["pytest==6.2.5", "pytest<7", "pytest~=6.2", "pytest==6.*"])
def test_a_pin_below_what_shipline_needs_is_one_line_naming_both(tmp_path: Path, pin: str) -> None:
    cfg = make(tmp_path, f'[project.optional-dependencies]\ndev = ["{pin}"]\n')
    with pytest.raises(ConfigError) as caught:
        tools(cfg, "unit")
    message = str(caught.value)
    assert message == (
        f"project.optional-dependencies.dev pins {pin}, but shipline's pytest plugin "
        "(it uses pytest.StashKey) needs pytest>=7.0; raise the pin to pytest>=7.0 "
        "(or remove it and shipline installs pytest>=8)"
    )
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    "pin", ["pytest==7.4.4", "pytest<9", "pytest~=7.0", "pytest!=7.0", "pytest"]
)
def test_pins_that_meet_the_need_pass(tmp_path: Path, pin: str) -> None:
    cfg = make(tmp_path, f'[project.optional-dependencies]\ndev = ["{pin}"]\n')
    assert tools(cfg, "unit")[0] == pin


def test_the_xdist_need_follows_the_dist_mode(tmp_path: Path) -> None:
    pinned = '[project.optional-dependencies]\ndev = ["pytest-xdist==3.1.0"]\n'
    assert tools(make(tmp_path, pinned), "unit")[1] == "pytest-xdist==3.1.0"
    steal = make(tmp_path, pinned + '[tool.shipline.tests]\ndist = "worksteal"\n')
    with pytest.raises(ConfigError, match=r"pins pytest-xdist==3.1.0, but tool.shipline.tests"):
        tools(steal, "unit")


def test_an_invalid_requirement_is_one_line(tmp_path: Path) -> None:
    cfg = make(tmp_path, '[project.optional-dependencies]\ndev = ["pytest >>= 8"]\n')
    with pytest.raises(ConfigError, match=r"^project.optional-dependencies.dev: 'pytest >>= 8' is"):
        tools(cfg, "lint")
