"""The project's pins of shipline's tools, through real sessions."""

from __future__ import annotations

from pathlib import Path

from support.run import nox
from support.sample import make_project

DEV = 'dev = ["pytest>=8"]'


def pin(project: Path, *requirements: str) -> None:
    pyproject = project / "pyproject.toml"
    pinned = ", ".join(f'"{r}"' for r in ("pytest>=8", *requirements))
    pyproject.write_text(pyproject.read_text().replace(DEV, f"dev = [{pinned}]"))


def test_the_projects_xdist_pin_below_the_floor_wins(tmp_path: Path) -> None:
    # shipline's floor is pytest-xdist>=3.6; beside this pin it was unsatisfiable.
    project = make_project(tmp_path / "app", workers="2")
    pin(project, "Pytest_Xdist==3.5.0")
    result = nox(project, "-s", "unit")
    assert result.code == 0, result
    assert "xdist-3.5.0" in result.output, result  # pytest's header lists the plugin
    assert "created: 2/2 workers" in result.output
    assert "2 passed" in result.output, result


def test_a_pin_shipline_cannot_work_with_stops_before_installing(tmp_path: Path) -> None:
    project = make_project(tmp_path / "app")
    pin(project, "pytest==6.2.5")
    result = nox(project, "-s", "unit")
    assert result.code != 0, result
    assert (
        "Session unit aborted: project.optional-dependencies.dev pins pytest==6.2.5, but "
        "shipline's pytest plugin (it uses pytest.StashKey) needs pytest>=7.0; raise the pin "
        "to pytest>=7.0 (or remove it and shipline installs pytest>=8)"
    ) in result.output, result
    assert "uv pip install" not in result.output, result
