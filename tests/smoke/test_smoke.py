"""Seconds-fast checks that shipline is installed and wired the way users meet it."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import shipline
from shipline import catalogue

ROOT = Path(__file__).parents[2]


def test_version_matches_the_project() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert shipline.__version__ == project["version"]


def test_own_noxfile_is_the_two_lines_and_lists_every_check() -> None:
    assert (ROOT / "noxfile.py").read_text() == ("import shipline.nox\n\nshipline.nox.register()\n")
    listing = subprocess.run(
        [sys.executable, "-m", "nox", "-l"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    listed = [line.split()[1] for line in listing.splitlines() if line[:2] in ("* ", "- ")]
    assert tuple(listed) == catalogue.NAMES
    # A bare `nox` runs the fast set only: the quick local loop.
    selected = [line.split()[1] for line in listing.splitlines() if line.startswith("* ")]
    assert tuple(selected) == catalogue.FAST


def test_own_tasks_file_is_a_projects_plus_the_maintainer_task() -> None:
    """shipline's repository uses the generated tasks.py's import, and adds `actions`."""
    generated = (ROOT / "templates" / "tasks.py").read_text().splitlines()[-1]
    own = (ROOT / "tasks.py").read_text().splitlines()
    assert own[2:] == [generated, "from shipline.tasks.maintenance import actions as actions"]


def test_pytest_plugin_is_registered_by_entry_point() -> None:
    from importlib.metadata import entry_points

    (plugin,) = [ep for ep in entry_points(group="pytest11") if ep.name == "shipline"]
    assert plugin.value == "shipline.pytest_plugin"
