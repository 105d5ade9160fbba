"""Which linters the lint check runs: the project's own flake8, black and isort, or ruff.

A project that lints with flake8 and formats with black has rules of its own (a
line length, ignored codes, plugins); ruff under its defaults would fail code
that passes the project's checks, and ruff configured from them is a lossy
translation. So lint adopts what the project sets up, each tool in its role,
with the project's own settings and pins, and says once how to move to ruff.
Ruff covers every role the project has not set up. `linters = "ruff"` in
`[tool.shipline.lint]` turns adoption off.

A tool is set up when it has configuration (`.flake8`, `setup.cfg`/`tox.ini`
sections, `[tool.black]`, `[tool.isort]`, `.isort.cfg`) or the project declares
it in what sessions install (dependencies, dev extras, dev groups). A project
with ruff configuration checks with ruff even if flake8 is still set up: it
has moved.
"""

from __future__ import annotations

import configparser
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from packaging.utils import canonicalize_name

from shipline import pins
from shipline.config import Config

FLAKE8_SECTIONS = ("flake8",)
ISORT_SECTIONS = ("isort", "tool:isort")
"""The setup.cfg and tox.ini sections the tools read their settings from."""

RUFF_FILES = ("ruff.toml", ".ruff.toml")
MIGRATION = "https://docs.astral.sh/ruff/faq/"
PLUGIN = re.compile(r"^(flake8-.+|pep8-naming)$")


@dataclass(frozen=True)
class Setup:
    """Where the project sets up each linter, in the words a log line uses; None: not."""

    ruff: str | None = None
    flake8: str | None = None
    black: str | None = None
    isort: str | None = None


@dataclass(frozen=True)
class Plan:
    """The tool in each role: checking, formatting, and import order (isort or none)."""

    check: Literal["ruff", "flake8"]
    format: Literal["ruff", "black"]
    isort: bool
    setup: Setup
    plugins: tuple[str, ...] = ()
    """flake8 plugins the project declares, installed with flake8 so its codes exist."""

    @property
    def adopted(self) -> tuple[str, ...]:
        """The project's own tools this plan runs."""
        roles = (self.check == "flake8", self.format == "black", self.isort)
        return tuple(t for t, on in zip(("flake8", "black", "isort"), roles, strict=True) if on)

    def tools(self, sarif: bool = False) -> tuple[str, ...]:
        """What the lint session installs; ruff writes the SARIF whoever checks."""
        ruff = self.check == "ruff" or self.format == "ruff" or sarif
        plugins = self.plugins if self.check == "flake8" else ()
        return (*(("ruff",) if ruff else ()), *self.adopted, *plugins)


def _ini_section(path: Path, names: tuple[str, ...]) -> str | None:
    """`file [section]` when the INI file has one of the sections, else None."""
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8", errors="replace")
    for name in names:
        if re.search(rf"^\[{re.escape(name)}\]\s*$", text, re.MULTILINE):
            return f"{path.name} [{name}]"
    return None


def _tool_table(pyproject: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    tool = pyproject.get("tool", {})
    table = tool.get(name) if isinstance(tool, Mapping) else None
    return table if isinstance(table, Mapping) else None


def _declared(config: Config) -> dict[str, str]:
    """The tools the project declares, by canonical name, with where."""
    found: dict[str, str] = {}
    for item in pins.declared(config):
        found.setdefault(canonicalize_name(item.requirement.name), item.where)
    return found


def detect(config: Config) -> Setup:
    """Where ruff, flake8, black and isort are set up in the project, read from its files."""
    root, data = config.root, config.raw_pyproject
    declared = _declared(config)

    def first(*found: str | None, tool: str) -> str | None:
        hits = [f for f in found if f]
        if not hits and tool in declared:
            hits.append(f"declared in {declared[tool]}")
        return hits[0] if hits else None

    ruff_files = [name for name in RUFF_FILES if (root / name).is_file()]
    return Setup(
        ruff=("[tool.ruff]" if _tool_table(data, "ruff") is not None else None)
        or (ruff_files[0] if ruff_files else None),
        flake8=first(
            ".flake8" if (root / ".flake8").is_file() else None,
            _ini_section(root / "setup.cfg", FLAKE8_SECTIONS),
            _ini_section(root / "tox.ini", FLAKE8_SECTIONS),
            tool="flake8",
        ),
        black=first(
            "[tool.black]" if _tool_table(data, "black") is not None else None, tool="black"
        ),
        isort=first(
            "[tool.isort]" if _tool_table(data, "isort") is not None else None,
            ".isort.cfg" if (root / ".isort.cfg").is_file() else None,
            _ini_section(root / "setup.cfg", ISORT_SECTIONS),
            _ini_section(root / "tox.ini", ISORT_SECTIONS),
            tool="isort",
        ),
    )


def plan(config: Config) -> Plan:
    """Each role's tool: the project's own where set up (unless `linters = "ruff"`), else ruff."""
    setup = detect(config) if config.lint.linters == "auto" else Setup()
    flake8 = setup.flake8 is not None and setup.ruff is None
    plugins = tuple(sorted(name for name in _declared(config) if flake8 and PLUGIN.match(name)))
    return Plan(
        check="flake8" if flake8 else "ruff",
        format="black" if setup.black else "ruff",
        isort=setup.isort is not None,
        setup=setup,
        plugins=plugins,
    )


def _line_length(config: Config) -> int | None:
    """The project's line length: black's, else flake8's max-line-length."""
    black = _tool_table(config.raw_pyproject, "black")
    if black is not None and isinstance(black.get("line-length"), int):
        return int(black["line-length"])
    for name in (".flake8", "setup.cfg", "tox.ini"):
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            parser.read(config.root / name, encoding="utf-8")
            value = parser.get("flake8", "max-line-length", fallback=None)
        except configparser.Error:
            continue
        if value is not None and value.strip().isdigit():
            return int(value)
    return None


def notes(config: Config) -> tuple[str, ...]:
    """What the lint session says first when it runs the project's own tools: which
    ones and from where, and how to move to ruff (said once per run, not per failure)."""
    chosen = plan(config)
    if not chosen.adopted:
        return ()
    setup = chosen.setup
    where = {"flake8": setup.flake8, "black": setup.black, "isort": setup.isort}
    using = ", ".join(f"{tool} ({where[tool]})" for tool in chosen.adopted)
    length = _line_length(config)
    select = ["E", "W", "F", *(["I"] if chosen.isort else [])]
    settings = f"line-length = {length}, " if length else ""
    settings += f"lint.select = {json.dumps(select)}"
    replaces = {"flake8": "ruff check", "black": "ruff format", "isort": "ruff check's I rules"}
    moves = ", ".join(f"{replaces[tool]} replaces {tool}" for tool in chosen.adopted)
    return (
        f"lint: the project's own setup: {using}",
        f"lint: to move to ruff: {moves}; add [tool.ruff] {settings} (with your ignores) "
        f'and drop the old setup, or set [tool.shipline.lint] linters = "ruff" ({MIGRATION})',
    )
