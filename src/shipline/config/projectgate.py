"""The project's own coverage gate, read from its pytest and coverage settings.

A project that already gates coverage (`--cov-fail-under=85` in pytest's
`addopts`, or coverage's `fail_under`) meant that number: shipline's default of
80 must not replace it, so the unit tier's default gate is the project's. The
files are read where pytest and coverage.py read them, in their order of
precedence; standard library only, like the rest of the config package.
"""

from __future__ import annotations

import configparser
import shlex
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FLAG = "--cov-fail-under"


@dataclass(frozen=True)
class Gate:
    percent: float
    where: str
    """The file and setting it was read from, for the messages that name it."""


def _ini(path: Path, section: str) -> Mapping[str, str] | None:
    """One section of an ini-style file, or None when the file or section is missing."""
    if not path.is_file():
        return None
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return None
    return parser[section] if parser.has_section(section) else None


def _table(data: Mapping[str, Any], *keys: str) -> Mapping[str, Any] | None:
    found: object = data
    for key in keys:
        found = found.get(key) if isinstance(found, Mapping) else None
    return found if isinstance(found, Mapping) else None


def _pytest_settings(root: Path, pyproject: Mapping[str, Any]) -> Iterator[tuple[object, str]]:
    """The `addopts` of the file pytest would take its settings from, first found first.

    pytest reads one file: pytest.ini (even with no [pytest]), then pyproject.toml
    with [tool.pytest] or [tool.pytest.ini_options], then tox.ini with [pytest],
    then setup.cfg with [tool:pytest].
    """
    for name in ("pytest.ini", ".pytest.ini"):
        if (root / name).is_file():
            section = _ini(root / name, "pytest")
            yield (section.get("addopts", "") if section else ""), f"{name} addopts"
            return
    for keys in (("tool", "pytest", "ini_options"), ("tool", "pytest")):
        table = _table(pyproject, *keys)
        if table is not None:
            yield table.get("addopts", ""), f"pyproject.toml [{'.'.join(keys)}] addopts"
            return
    for name, section_name in (("tox.ini", "pytest"), ("setup.cfg", "tool:pytest")):
        section = _ini(root / name, section_name)
        if section is not None:
            yield section.get("addopts", ""), f"{name} [{section_name}] addopts"
            return


def addopts_gate(addopts: object) -> float | None:
    """The last `--cov-fail-under` in an addopts string or list (the last one wins)."""
    if isinstance(addopts, list):
        words = [str(word) for word in addopts]
    elif isinstance(addopts, str):
        try:
            words = shlex.split(addopts)
        except ValueError:
            return None
    else:
        return None
    found: str | None = None
    for index, word in enumerate(words):
        if word.startswith(f"{FLAG}="):
            found = word.split("=", 1)[1]
        elif word == FLAG and index + 1 < len(words):
            found = words[index + 1]
    return _percent(found)


def _percent(text: object) -> float | None:
    try:
        value = float(str(text))
    except ValueError:
        return None
    return value if 0 <= value <= 100 else None


def _coverage_gates(root: Path, pyproject: Mapping[str, Any]) -> Iterator[tuple[object, str]]:
    """coverage.py's `fail_under`, from the file coverage.py reads, first found first."""
    rc = _ini(root / ".coveragerc", "report")
    if (root / ".coveragerc").is_file():
        yield (rc.get("fail_under") if rc else None), ".coveragerc [report] fail_under"
        return
    report = _table(pyproject, "tool", "coverage", "report")
    if report is not None and "fail_under" in report:
        yield report["fail_under"], "pyproject.toml [tool.coverage.report] fail_under"
        return
    for name in ("setup.cfg", "tox.ini"):
        section = _ini(root / name, "coverage:report")
        if section is not None and "fail_under" in section:
            yield section["fail_under"], f"{name} [coverage:report] fail_under"
            return


def find(root: Path, pyproject: Mapping[str, Any] | None = None) -> Gate | None:
    """The project's coverage gate: pytest's `--cov-fail-under` first (pytest-cov lets it
    override coverage's), then coverage's `fail_under`; None when it sets neither."""
    if pyproject is None:
        try:
            with (root / "pyproject.toml").open("rb") as handle:
                pyproject = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
            pyproject = {}
    for addopts, where in _pytest_settings(root, pyproject):
        percent = addopts_gate(addopts)
        if percent is not None:
            return Gate(percent, f"{FLAG}={percent:g} in {where}")
    for value, where in _coverage_gates(root, pyproject):
        percent = _percent(value) if value is not None else None
        if percent is not None:
            return Gate(percent, f"{where} = {percent:g}")
    return None
