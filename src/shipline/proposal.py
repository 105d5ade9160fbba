"""The `[project]` table init proposes to a project that has none, and adds with `--adopt`.

Projects on requirements files (or setup.py) build and run without one, but shipline's
sessions install the project with its dev extra, and its config, image and deploy
name it: a `[project]` table is the one thing they all read. Init proposes the
smallest one that keeps the project's own records in charge: dependencies and dev
tools read from its requirements files by setuptools (`dynamic`), and for a setup.py
project every field setup.py sets left to setup.py. Nothing is rewritten: the tables
are appended as text (tomllib only reads; tomli-w is not a runtime dependency) and
the result is re-read to prove it is valid TOML.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipline import config, packages
from shipline.errors import ConfigError

REQUIREMENTS = "requirements.txt"
DEV_REQUIREMENTS = (
    "requirements-dev.txt",
    "requirements-test.txt",
    "requirements_dev.txt",
    "requirements_test.txt",
    "dev-requirements.txt",
    "test-requirements.txt",
)
"""Files of a project's test and dev tools, the `dev` extra's source in that order."""
SETUP_FIELDS = {
    "version": "version",
    "description": "description",
    "long_description": "readme",
    "python_requires": "requires-python",
    "install_requires": "dependencies",
    "extras_require": "optional-dependencies",
    "entry_points": "entry-points",
    "classifiers": "classifiers",
    "keywords": "keywords",
    "license": "license",
    "url": "urls",
    "project_urls": "urls",
    "author": "authors",
    "author_email": "authors",
    "maintainer": "maintainers",
    "maintainer_email": "maintainers",
}
"""setup() keywords and the [project] fields they fill: listed in `dynamic`, setup.py
keeps filling them (setuptools ignores, with a warning, a field it sets but
[project] does not leave dynamic)."""
_PIP_SYNTAX = re.compile(r"^\s*-|\s--?[a-z]|\\\s*$")
"""A requirements line setuptools cannot read: an option (-r, -e, --index-url), a
per-line option (--hash), or a continuation."""


@dataclass(frozen=True)
class Setup:
    """What a setup.py (or setup.cfg) says, as far as a literal reading goes."""

    name: str | None = None
    fields: frozenset[str] = frozenset()
    """[project] fields setup.py fills: left `dynamic`."""
    packages: bool = False
    """Whether setup.py finds or lists its packages itself."""
    source: str = "setup.py"


@dataclass(frozen=True)
class Proposal:
    """The tables init would append to pyproject.toml, and what it says about them."""

    text: str
    """TOML, ready to append."""
    name: str
    summary: str
    """One line: where the name, dependencies and dev tools come from."""


def missing(root: Path) -> bool:
    """Whether the project has no [project] table (a pyproject.toml that cannot be read
    is `project.read`'s to report)."""
    pyproject = root / "pyproject.toml"
    if not pyproject.exists():
        return True
    try:
        data = config.read_pyproject(pyproject)
    except ConfigError:
        return False
    return not isinstance(data.get("project"), dict)


def read_setup(root: Path) -> Setup | None:
    """setup.py's literal keywords (or setup.cfg's [metadata]/[options]), None without either."""
    script = root / "setup.py"
    if script.is_file():
        return _setup_py(script)
    cfg = root / "setup.cfg"
    if cfg.is_file():
        return _setup_cfg(cfg)
    return None


def _setup_py(script: Path) -> Setup:
    try:
        tree = ast.parse(script.read_text(encoding="utf-8", errors="replace"))
    except SyntaxError:
        return Setup(fields=frozenset(SETUP_FIELDS.values()), packages=True)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        if called != "setup":
            continue
        given = {k.arg: k.value for k in node.keywords if k.arg is not None}
        if any(k.arg is None for k in node.keywords):  # setup(**kwargs): anything may be set
            fields = frozenset(SETUP_FIELDS.values())
        else:
            fields = frozenset(SETUP_FIELDS[k] for k in given if k in SETUP_FIELDS)
        return Setup(
            name=_literal(given.get("name")),
            fields=fields,
            packages=bool({"packages", "py_modules", "package_dir"} & set(given)),
        )
    return Setup(fields=frozenset(SETUP_FIELDS.values()), packages=True)


def _literal(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _setup_cfg(path: Path) -> Setup:
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return Setup(source="setup.cfg")
    keys = {*parser.options("metadata")} if parser.has_section("metadata") else set()
    keys |= {*parser.options("options")} if parser.has_section("options") else set()
    keys |= {"extras_require"} if parser.has_section("options.extras_require") else set()
    keys |= {"entry_points"} if parser.has_section("options.entry_points") else set()
    return Setup(
        name=parser.get("metadata", "name", fallback=None),
        fields=frozenset(SETUP_FIELDS[k] for k in keys if k in SETUP_FIELDS),
        packages=bool({"packages", "py_modules", "package_dir"} & keys),
        source="setup.cfg",
    )


def project_name(root: Path, setup: Setup | None) -> str:
    """setup.py's name, else the directory's, as a valid distribution name."""
    if setup is not None and setup.name:
        return setup.name
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", root.resolve().name).strip("-_.")
    return name or "app"


def python_floor(root: Path) -> str:
    """`>=3.X` of `.python-version`, else of the Python running init (CI's, or yours)."""
    pinned = root / ".python-version"
    if pinned.is_file():
        match = re.match(r"\s*(3\.\d+)", pinned.read_text(encoding="utf-8", errors="replace"))
        if match:
            return f">={match.group(1)}"
    return f">={sys.version_info.major}.{sys.version_info.minor}"


def check_readable(root: Path, files: list[str]) -> None:
    """Each requirements file setuptools will read holds requirements only, or one line why not."""
    for name in files:
        text = (root / name).read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            bare = line.split(" #", 1)[0].strip()
            if bare and not bare.startswith("#") and _PIP_SYNTAX.search(bare):
                raise ConfigError(
                    f"{name}:{number}: {bare!r} is pip syntax, which setuptools cannot read "
                    "from a dynamic dependencies file; remove it (`pip install -e .[dev]` "
                    "installs the dependencies and the dev extra together), then rerun init"
                )


def propose(root: Path, data: dict[str, Any]) -> Proposal:
    """The tables for a project without [project]; `data` is its pyproject, or {}."""
    setup = read_setup(root)
    fields = setup.fields if setup else frozenset()
    if "entry-points" in fields:  # setuptools splits entry_points into three fields
        fields = fields | {"scripts", "gui-scripts"}
    name = project_name(root, setup)
    project = [f"name = {_q(name)}"]
    dynamic: list[str] = []
    for field, value in (
        ("version", "0.0.0"),
        ("requires-python", python_floor(root)),
    ):
        if field in fields:
            dynamic.append(field)
        else:
            project.append(f"{field} = {_q(value)}")
    dynamic_tables: list[str] = []
    requirements = [REQUIREMENTS] if (root / REQUIREMENTS).is_file() else []
    dev = [f for f in DEV_REQUIREMENTS if (root / f).is_file()]
    check_readable(root, requirements + dev)
    if "dependencies" in fields:
        dynamic.append("dependencies")
    elif requirements:
        dynamic.append("dependencies")
        dynamic_tables.append(f"dependencies = {{ file = {_list(requirements)} }}")
    elif setup is None:
        project.append("dependencies = []  # none found: list the app's dependencies here")
    if "optional-dependencies" in fields:
        dynamic.append("optional-dependencies")
    elif dev:
        dynamic.append("optional-dependencies")
        dynamic_tables.append(f"optional-dependencies.dev = {{ file = {_list(dev)} }}")
    dynamic += sorted(fields - {"version", "requires-python", "dependencies"} - set(dynamic))
    if dynamic:
        project.append(f"dynamic = {_list(dynamic)}")
    sections = [_build_system(data), "[project]\n" + "".join(f"{line}\n" for line in project)]
    if dynamic_tables:
        sections.append("[tool.setuptools.dynamic]\n" + "".join(f"{t}\n" for t in dynamic_tables))
    if setup is None or not setup.packages:
        sections.append(_discovery(root, name, data))
    text = _HEADER + "\n".join(s for s in sections if s)
    return Proposal(text, name, _summary(setup, requirements, dev))


_HEADER = (
    "# Added by `shipline init --adopt`: the project's name and metadata for shipline's\n"
    "# sessions, image and deploy; dependencies stay in the files named below.\n"
)


def _summary(setup: Setup | None, requirements: list[str], dev: list[str]) -> str:
    if setup is not None:
        base = f"the project keeps building with {setup.source}: the fields it sets stay dynamic"
    else:
        base = "a setuptools build"
    deps = f"dependencies from {', '.join(requirements)}" if requirements else ""
    tools = f"a dev extra from {', '.join(dev)}" if dev else ""
    return "; ".join(part for part in (base, deps, tools) if part)


def _build_system(data: dict[str, Any]) -> str:
    """setuptools' [build-system], unless the project names one (which must be setuptools)."""
    build = data.get("build-system")
    if not isinstance(build, dict):
        return (
            "[build-system]\n"
            'requires = ["setuptools>=68"]\n'
            'build-backend = "setuptools.build_meta"\n'
        )
    backend = build.get("build-backend", "setuptools.build_meta:__legacy__")
    if not str(backend).startswith("setuptools"):
        raise ConfigError(
            f"pyproject.toml: [build-system] uses {backend}, and init only proposes "
            "setuptools' [project] table; add a [project] table with name and version by hand"
        )
    return ""


def _discovery(root: Path, name: str, data: dict[str, Any]) -> str:
    """How setuptools finds the package: explicit, so tests/ or migrations/ never ship."""
    tool = data.get("tool")
    if isinstance(tool, dict) and isinstance(tool.get("setuptools"), dict):
        return ""  # the project configures setuptools itself
    table = tool.get("shipline") if isinstance(tool, dict) else None
    configured = table.get("package") if isinstance(table, dict) else None
    found = packages.find_package(root, name, configured if isinstance(configured, str) else None)
    if found is None:
        raise ConfigError(
            f"no package found in {root} (a src/<name>/ or <name>/ with an __init__.py, or a "
            'module); set [tool.shipline] package = "your_package", then rerun init'
        )
    package, path = found
    where = ["src"] if path.startswith("src/") else None
    if path.endswith(".py"):
        dir_line = 'package-dir = { "" = "src" }\n' if where else ""
        return f"[tool.setuptools]\n{dir_line}py-modules = {_list([package])}\n"
    lines = [f"where = {_list(where)}\n"] if where else []
    lines.append(f"include = {_list([package, f'{package}.*'])}\n")
    return "[tool.setuptools.packages.find]\n" + "".join(lines)


def _q(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _list(values: list[str]) -> str:
    return "[" + ", ".join(_q(v) for v in values) + "]"


def merged(pyproject: Path, proposal: Proposal) -> str:
    """pyproject.toml's text with the proposal appended, in its own line endings; validated."""
    current = ""
    if pyproject.exists():
        with pyproject.open(encoding="utf-8", newline="") as handle:
            current = handle.read()
    newline = "\r\n" if "\r\n" in current else "\n"
    joiner = "" if not current or current.endswith("\n") else newline
    separator = newline if current.strip() else ""
    content = current + joiner + separator + proposal.text.replace("\n", newline)
    try:
        data = tomllib.loads(content)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{pyproject}: the proposed tables cannot be appended ({exc}: a table defined "
            "twice?); add them by hand (printed above), then run init again"
        ) from None
    if not isinstance(data.get("project"), dict):
        raise ConfigError(f"{pyproject}: no [project] table after appending; add it by hand")
    return content


@contextlib.contextmanager
def staged(root: Path, content: str | None, keep: bool) -> Iterator[None]:
    """pyproject.toml holds `content` inside the block: init detects and plans from it.

    Put back as it was (bytes and times) when the block fails, or when `keep` is
    false (a dry run): the tables land with the rest of init's files or not at all.
    """
    if content is None:
        yield
        return
    pyproject = root / "pyproject.toml"
    before = pyproject.read_bytes() if pyproject.exists() else None
    times = pyproject.stat() if before is not None else None
    pyproject.write_bytes(content.encode("utf-8"))
    kept = False
    try:
        yield
        kept = keep
    finally:
        if not kept:
            if before is None or times is None:
                pyproject.unlink(missing_ok=True)
            else:
                pyproject.write_bytes(before)
                os.utime(pyproject, ns=(times.st_atime_ns, times.st_mtime_ns))
