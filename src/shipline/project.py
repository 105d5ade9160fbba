"""What `invoke init` needs to know about an existing project, read from its files.

Detection only: the package and the project's code around it, the Python version,
the ASGI or WSGI entry point (found by `shipline.apps`) and the health route.
Nothing here writes; `scaffold` renders from the result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from shipline import apps, config, packages, surroundings
from shipline.errors import ConfigError, UsageError
from shipline.surroundings import Chosen, RemoteTier
from shipline.tiers import OPTIONAL_IF_ABSENT, SECURITY, SESSION_TIERS

PYTHONS = ("3.12", "3.13", "3.14", "3.11", "3.10", "3.9")
"""Base image versions in order of preference: python:3.12-slim unless the project excludes it."""
HEALTH_ROUTE = re.compile(r"""["'](/(?:health|healthz|livez|ping)/?)["']""")


MAIN = Chosen("main", "the default")


@dataclass(frozen=True)
class Project:
    root: Path
    name: str
    package: str
    package_dir: str
    python: str
    entry: str
    """`module:attribute` as gunicorn takes it, or `module:factory()` for an app factory."""
    asgi: bool
    framework: str
    """fastapi, starlette, flask, django, ... or "" when given with --entry."""
    health_path: str
    health_found: bool
    has_httpx: bool
    missing_tiers: tuple[str, ...]
    """Test tiers with no directory yet; the rendered config marks them optional."""
    has_shipline_table: bool
    default_branch: Chosen = MAIN
    python_source: str = ""
    """Where the Python version came from: a workflow, .python-version, requires-python."""
    workflow_dir: str = "."
    """The project's directory from the git root when its workflows go there, else "."."""
    migrations: Chosen | None = None
    remote_tiers: tuple[RemoteTier, ...] = ()
    """Tiers of the project's own whose tests reach a deployed service."""
    has_unit_tests: bool = True
    """Whether any test lands in the unit tier; without, init writes a first one."""
    code: tuple[str, ...] = ()
    """The project's own top-level packages and modules (paths), where the app was looked for."""
    candidates: tuple[str, ...] = ()
    """Every app entry found, the chosen one first; empty with --entry."""


def read(root: Path, entry: str | None = None, wsgi: bool = False) -> Project:
    """Read the project at `root`; every problem is one line naming the fix."""
    pyproject = root / "pyproject.toml"
    if not pyproject.exists():
        raise UsageError(
            f"no pyproject.toml in {root}; run init from the project's root "
            "(a project needs a [project] table with its name)"
        )
    data = config.read_pyproject(pyproject)
    project = data.get("project")
    name = project.get("name") if isinstance(project, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f'{pyproject}: no [project] name; add name = "your-app" under [project]')
    tool = data.get("tool", {})
    shipline_table = tool.get("shipline") if isinstance(tool, dict) else None
    configured = shipline_table.get("package") if isinstance(shipline_table, dict) else None
    code = _code(root, name, configured)
    candidates: tuple[str, ...] = ()
    if entry:
        if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\(\))?", entry):
            raise UsageError(f"--entry {entry!r}: expected module:attribute, e.g. app.main:app")
        asgi, framework = not wsgi, ""
    else:
        found = apps.find_apps(root, code.everything)
        if not found:
            raise ConfigError(
                f"no ASGI or WSGI app found in {', '.join(c.path for c in code.everything)} "
                f"(looked for {apps.LOOKED_FOR}); pass --entry module:attribute, "
                "or module:factory() for a factory"
            )
        entry, asgi, framework = found[0].entry, found[0].asgi, found[0].framework
        candidates = tuple(app.entry for app in found)
    package, package_dir = code.package or _holding(code.everything, entry)
    health = find_health_path(root, code.everything)
    table = project if isinstance(project, dict) else {}
    return Project(
        root=root,
        name=name,
        package=package,
        package_dir=package_dir,
        entry=entry,
        asgi=asgi,
        framework=framework,
        health_path=health or "/health",
        health_found=health is not None,
        has_httpx=declares(data, "httpx") or declares(data, "fastapi[standard]"),
        missing_tiers=tuple(t for t in OPTIONAL_IF_ABSENT if not (root / "tests" / t).is_dir()),
        has_shipline_table=isinstance(shipline_table, dict),
        code=tuple(c.path for c in code.everything),
        candidates=candidates,
        **_surroundings(root, table, shipline_table),
    )


def _surroundings(root: Path, project: dict[str, Any], shipline_table: object) -> dict[str, Any]:
    """Project's fields read from git, CI and the tests (shipline.surroundings' rules)."""
    top = surroundings.git_root(root)
    configured = shipline_table.get("default-branch") if isinstance(shipline_table, dict) else None
    branch = (
        Chosen(configured, "[tool.shipline] default-branch")
        if isinstance(configured, str) and configured
        else surroundings.default_branch(root)
    )
    requires = project.get("requires-python")
    home = surroundings.workflow_home(root, top)
    homes = [root] if top is None or home == "." else [root, top]
    in_ci = surroundings.ci_python(homes, requires if isinstance(requires, str) else None)
    pinned = (root / ".python-version").is_file()
    tests = root / "tests"
    return {
        # The project's CI first: the image should run the Python its tests run on.
        "python": in_ci.value if in_ci else python_version(root, project),
        "python_source": in_ci.source
        if in_ci
        else ".python-version"
        if pinned
        else "requires-python",
        "default_branch": branch,
        "workflow_dir": home,
        "migrations": surroundings.migrations(root),
        "remote_tiers": surroundings.remote_tiers(tests),
        "has_unit_tests": surroundings.has_tests(tests, NOT_UNIT),
    }


NOT_UNIT = tuple(t for t in (*SESSION_TIERS, SECURITY) if t != "unit")
"""Tier directories whose tests are not the unit tier's (tests/unit and loose tests are)."""


@dataclass(frozen=True)
class _Code:
    package: tuple[str, str] | None
    everything: tuple[packages.Code, ...]


def _code(root: Path, name: str, configured: object) -> _Code:
    """The package and the code init reads: shipline.packages' rules, no code an error here."""
    given = configured if isinstance(configured, str) and configured else None
    found = packages.find_package(root, name, given)
    everything = packages.project_code(root, found, given is not None)
    if everything:
        return _Code(found, everything)
    expected = packages.import_name(name)
    raise ConfigError(
        f"no package found for project {name!r}: expected src/{expected}/ or {expected}/, "
        f"a module {expected}.py, or packages with an __init__.py or modules in src/ or at "
        'the root; set [tool.shipline] package = "your_package"'
    )


def _holding(code: tuple[packages.Code, ...], entry: str) -> tuple[str, str]:
    """The package or module the entry's module is in; the first one when none is."""
    top = entry.partition(":")[0].split(".")[0]
    return next(((c.name, c.path) for c in code if c.name == top), (code[0].name, code[0].path))


def find_health_path(root: Path, code: tuple[packages.Code, ...]) -> str | None:
    """The health route the project's code declares (by ast), else the first health-like string."""
    declared = surroundings.find_health_route(*(root / item.path for item in code))
    if declared is not None:
        return declared
    for item in code:
        top = root / item.path
        for path in [top] if top.is_file() else sorted(top.rglob("*.py")):
            try:
                match = HEALTH_ROUTE.search(path.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, OSError):
                continue
            if match:
                return match.group(1)
    return None


def python_version(root: Path, project: dict[str, Any]) -> str:
    """`.python-version` if present, else 3.12 when requires-python allows it, else the newest."""
    pinned = root / ".python-version"
    if pinned.is_file():
        match = re.match(r"\s*(3\.\d+)", pinned.read_text(encoding="utf-8", errors="replace"))
        if match:
            return match.group(1)
    requires = project.get("requires-python")
    if not isinstance(requires, str):
        return PYTHONS[0]
    try:
        spec = SpecifierSet(requires)
    except InvalidSpecifier:
        raise ConfigError(
            f"project.requires-python: {requires!r} is not a version specifier; "
            'expected e.g. ">=3.11"'
        ) from None
    for version in PYTHONS:
        # The image has the minor version's latest release: ">=3.11.4" or "~=3.11.4"
        # allow python:3.11-slim though they exclude 3.11(.0) itself.
        if spec.contains(version) or spec.contains(f"{version}.99"):
            return version
    raise ConfigError(
        f"project.requires-python: {requires!r} allows none of Python {', '.join(PYTHONS)}; "
        "widen it, or write the version to build with in .python-version"
    )


def declares(data: dict[str, Any], requirement: str) -> bool:
    """Whether any dependency list (main, extras, groups) names `requirement`."""
    lists: list[object] = []
    project = data.get("project", {})
    if isinstance(project, dict):
        lists.append(project.get("dependencies", []))
        extras = project.get("optional-dependencies", {})
        if isinstance(extras, dict):
            lists.extend(extras.values())
    groups = data.get("dependency-groups", {})
    if isinstance(groups, dict):
        lists.extend(groups.values())
    pattern = re.compile(rf"{re.escape(requirement)}(?![\w.-])", re.IGNORECASE)
    return any(
        isinstance(item, str) and pattern.match(item.strip())
        for group in lists
        if isinstance(group, list)
        for item in group
    )
