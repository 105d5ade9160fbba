from __future__ import annotations

import tomllib
from pathlib import Path

import nox.registry
import pytest

import shipline.nox
from shipline import catalogue, config

ROOT = Path(__file__).parents[2]


def test_sessions_get_this_very_shipline() -> None:
    # The test environment has shipline installed editable from this checkout.
    assert shipline.nox.shipline_requirement() == ("-e", str(ROOT))


def test_project_requirements_take_extras_and_groups(tmp_path: Path) -> None:
    data = tomllib.loads(
        """
        [project]
        name = "app"
        [project.optional-dependencies]
        dev = ["ruff"]
        test = ["pytest"]
        [dependency-groups]
        dev = ["mypy>=1", { include-group = "lint" }]
        lint = ["ruff>=0.6"]
        """
    )
    cfg = config.parse(data, tmp_path)
    assert shipline.nox.project_requirements(cfg) == ("-e", ".[dev,test]", "mypy>=1", "ruff>=0.6")
    bare = config.parse({"project": {"name": "app"}}, tmp_path)
    assert shipline.nox.project_requirements(bare) == ("-e", ".")


@pytest.fixture
def registry() -> object:
    saved = dict(nox.registry._REGISTRY)
    nox.registry._REGISTRY.clear()
    yield nox.registry._REGISTRY
    nox.registry._REGISTRY.clear()
    nox.registry._REGISTRY.update(saved)


def test_register_adds_the_catalogue_or_a_subset(registry: dict[str, object]) -> None:
    shipline.nox.register("unit", "lint", root=ROOT)
    assert list(registry) == ["lint", "unit"]
    assert shipline.nox.registered(["unit", "lint"]) == ("lint", "unit")
    registry.clear()
    shipline.nox.register(root=ROOT)
    assert tuple(registry) == catalogue.NAMES
    func = registry["unit"]
    assert func.__doc__ == catalogue.get("unit").description  # type: ignore[attr-defined]


def test_register_errors_are_one_line_and_exit_2(
    registry: dict[str, object], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(SystemExit) as caught:
        shipline.nox.register("lnt", root=ROOT)
    assert caught.value.code == 2
    assert capsys.readouterr().err == (
        "shipline: error: unknown check 'lnt'; expected one of: lint, type, security, smoke, "
        "unit, integration, database, e2e\n"
    )
    (tmp_path / "pyproject.toml").write_text("[tool.shipline]\nflavour = 1\n")
    with pytest.raises(SystemExit):
        shipline.nox.register(root=tmp_path)
    assert "tool.shipline.flavour: unknown key" in capsys.readouterr().err
    assert not registry
