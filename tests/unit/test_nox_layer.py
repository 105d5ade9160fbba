from __future__ import annotations

import tomllib
import zipfile
from pathlib import Path

import nox.registry
import pytest

import shipline.nox
from shipline import catalogue, config, selfwheel

ROOT = Path(__file__).parents[2]


def test_sessions_get_this_very_shipline_as_a_cached_wheel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The test environment has shipline installed editable from this checkout.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    origin, wheel = selfwheel.session_wheel()
    assert origin == selfwheel.Origin("editable", str(ROOT))
    digest = selfwheel.source_digest(ROOT)
    assert wheel.parent == tmp_path / "shipline" / "wheels" / digest
    assert wheel.name.startswith("shipline-0.1.0-")
    with zipfile.ZipFile(wheel) as built:
        assert built.read("shipline/nox.py") == (ROOT / "src/shipline/nox.py").read_bytes()
    mtime = wheel.stat().st_mtime_ns
    assert selfwheel.session_wheel() == (origin, wheel)  # built once per source state
    assert wheel.stat().st_mtime_ns == mtime


def test_the_digest_follows_the_source(tmp_path: Path) -> None:
    (tmp_path / "src" / "shipline").mkdir(parents=True)
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    module = tmp_path / "src" / "shipline" / "a.py"
    module.write_text("x = 1\n")
    before = selfwheel.source_digest(tmp_path)
    (tmp_path / "src" / "shipline" / "__pycache__").mkdir()
    (tmp_path / "src" / "shipline" / "__pycache__" / "a.pyc").write_bytes(b"junk")
    assert selfwheel.source_digest(tmp_path) == before
    module.write_text("x = 2\n")
    assert selfwheel.source_digest(tmp_path) != before


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
    sessions = nox.options.sessions  # register() sets the default sessions: put them back
    nox.registry._REGISTRY.clear()
    yield nox.registry._REGISTRY
    nox.registry._REGISTRY.clear()
    nox.registry._REGISTRY.update(saved)
    nox.options.sessions = sessions


def test_register_adds_the_catalogue_or_a_subset(registry: dict[str, object]) -> None:
    shipline.nox.register("unit", "lint", root=ROOT)
    assert list(registry) == ["lint", "unit"]
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
        "unit, integration, database, e2e, coverage\n"
    )
    (tmp_path / "pyproject.toml").write_text("[tool.shipline]\nflavour = 1\n")
    with pytest.raises(SystemExit):
        shipline.nox.register(root=tmp_path)
    assert "tool.shipline.flavour: unknown key" in capsys.readouterr().err
    assert not registry
