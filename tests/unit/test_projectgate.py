"""The project's own coverage gate, read where pytest and coverage.py read it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from shipline import config
from shipline.config import projectgate
from shipline.config.projectgate import Gate


def write(root: Path, name: str, text: str) -> None:
    (root / name).write_text(text)


@pytest.mark.parametrize(
    ("addopts", "percent"),
    [
        ("--cov=app --cov-fail-under=85", 85.0),
        ("--cov-fail-under 90 -q", 90.0),
        ("--cov-fail-under=70 --cov-fail-under=75", 75.0),  # the last one wins, as in pytest
        (["--cov=app", "--cov-fail-under=60.5"], 60.5),
        ("-q --cov=app", None),
        ("--cov-fail-under=high", None),
        ("--cov-fail-under", None),
    ],
)
def test_addopts_gate(addopts: object, percent: float | None) -> None:
    assert projectgate.addopts_gate(addopts) == percent


def test_pyproject_addopts(tmp_path: Path) -> None:
    data = tomllib.loads('[tool.pytest.ini_options]\naddopts = "--cov=app --cov-fail-under=85"\n')
    assert projectgate.find(tmp_path, data) == Gate(
        85.0, "--cov-fail-under=85 in pyproject.toml [tool.pytest.ini_options] addopts"
    )


def test_pytest_ini_wins_over_pyproject_as_in_pytest(tmp_path: Path) -> None:
    write(tmp_path, "pytest.ini", "[pytest]\naddopts = --cov-fail-under=70\n")
    data = {"tool": {"pytest": {"ini_options": {"addopts": "--cov-fail-under=85"}}}}
    assert projectgate.find(tmp_path, data) == Gate(
        70.0, "--cov-fail-under=70 in pytest.ini addopts"
    )


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("tox.ini", "[pytest]\naddopts = --cov-fail-under=91\n", "tox.ini [pytest] addopts"),
        ("setup.cfg", "[tool:pytest]\naddopts = --cov-fail-under=91\n", "setup.cfg [tool:pytest]"),
    ],
)
def test_ini_files(tmp_path: Path, name: str, text: str, where: str) -> None:
    write(tmp_path, name, text)
    gate = projectgate.find(tmp_path, {})
    assert gate is not None
    assert gate.percent == 91.0
    assert where in gate.where


def test_coverage_fail_under(tmp_path: Path) -> None:
    data = {"tool": {"coverage": {"report": {"fail_under": 88}}}}
    assert projectgate.find(tmp_path, data) == Gate(
        88.0, "pyproject.toml [tool.coverage.report] fail_under = 88"
    )
    write(tmp_path, ".coveragerc", "[report]\nfail_under = 77\n")
    assert projectgate.find(tmp_path, data) == Gate(77.0, ".coveragerc [report] fail_under = 77")


def test_pytest_flag_wins_over_coverage_setting(tmp_path: Path) -> None:
    data = {
        "tool": {
            "coverage": {"report": {"fail_under": 88}},
            "pytest": {"ini_options": {"addopts": "--cov-fail-under=85"}},
        }
    }
    gate = projectgate.find(tmp_path, data)
    assert gate is not None
    assert gate.percent == 85.0


def test_none_when_the_project_sets_no_gate(tmp_path: Path) -> None:
    write(tmp_path, "setup.cfg", "[metadata]\nname = x\n")
    assert projectgate.find(tmp_path, {"tool": {"pytest": {"ini_options": {}}}}) is None


def test_the_projects_gate_is_the_unit_default_and_shipline_config_wins(tmp_path: Path) -> None:
    gated = {"tool": {"pytest": {"ini_options": {"addopts": "--cov-fail-under=85"}}}}
    assert config.parse(gated, tmp_path).tier("unit").coverage_fail_under == 85.0
    assert config.parse({}, tmp_path).tier("unit").coverage_fail_under == 80.0
    own = {**gated, "tool": {**gated["tool"], "shipline": {"tests": {"coverage-fail-under": 70}}}}
    assert config.parse(own, tmp_path).tier("unit").coverage_fail_under == 70.0
    assert config.parse(gated, tmp_path).tier("smoke").coverage_fail_under is None
