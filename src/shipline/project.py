"""What `invoke init` needs to know about an existing project, read from its files.

Detection only: the package, the Python version, the ASGI or WSGI entry point and
the health route. Nothing here writes; `scaffold` renders from the result.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from shipline import config, packages, surroundings
from shipline.errors import ConfigError, UsageError
from shipline.surroundings import Chosen, RemoteTier
from shipline.tiers import OPTIONAL_IF_ABSENT, SECURITY, SESSION_TIERS

ASGI_FACTORIES = {
    "FastAPI": "fastapi",
    "Starlette": "starlette",
    "Quart": "quart",
    "Litestar": "litestar",
    "get_asgi_application": "django",
}
WSGI_FACTORIES = {"Flask": "flask", "Bottle": "bottle", "get_wsgi_application": "django"}
PREFERRED_MODULES = ("main", "app", "asgi", "wsgi", "api", "server", "application")
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
    """`module:attribute` as gunicorn takes it."""
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
    package, package_dir = _package(root, name, configured)
    if entry:
        if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\(\))?", entry):
            raise UsageError(f"--entry {entry!r}: expected module:attribute, e.g. app.main:app")
        asgi, framework = not wsgi, ""
    else:
        entry, asgi, framework = find_entry(root, package, package_dir)
    health = find_health_path(root / package_dir)
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


def _package(root: Path, name: str, configured: object) -> tuple[str, str]:
    """The package init renders for: shipline.packages' rule, its absence an error here."""
    given = configured if isinstance(configured, str) and configured else None
    found = packages.find_package(root, name, given)
    if found is not None:
        return found
    several = packages.top_level(root)
    expected = packages.import_name(name)
    more = f" (found several: {', '.join(several)})" if several else ""
    raise ConfigError(
        f"no package found for project {name!r}: expected src/{expected}/ or {expected}/, "
        f"a module {expected}.py or a single package with an __init__.py{more}; "
        'set [tool.shipline] package = "your_package"'
    )


def _factory(node: ast.expr) -> str | None:
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _modules(root: Path, package_dir: str) -> list[Path]:
    """The package's modules, the likely homes of an app first."""
    top = root / package_dir
    files = [top] if top.is_file() else sorted(top.rglob("*.py"))

    def rank(path: Path) -> tuple[int, int, str]:
        stem = path.stem
        preferred = PREFERRED_MODULES.index(stem) if stem in PREFERRED_MODULES else 99
        return (len(path.relative_to(root).parts), preferred, path.as_posix())

    return sorted(files, key=rank)


def find_entry(root: Path, package: str, package_dir: str) -> tuple[str, bool, str]:
    """`module:attribute` of the first module-level `x = FastAPI(...)` (or a WSGI factory)."""
    base = Path(package_dir).parent
    for path in _modules(root, package_dir):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        for node in tree.body:
            value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, ast.AnnAssign)
                else []
            )
            factory = _factory(value) if value is not None else None
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            if factory is None or not names:
                continue
            module_path = path.relative_to(root / base).with_suffix("")
            parts = module_path.parts[:-1] if module_path.name == "__init__" else module_path.parts
            module = ".".join(parts)
            if factory in ASGI_FACTORIES:
                return f"{module}:{names[0]}", True, ASGI_FACTORIES[factory]
            if factory in WSGI_FACTORIES:
                return f"{module}:{names[0]}", False, WSGI_FACTORIES[factory]
    raise ConfigError(
        f"no ASGI or WSGI app found in {package_dir}/ (looked for a module-level "
        "app = FastAPI(...), Starlette, Flask, Django's get_asgi_application() and others); "
        "pass --entry module:attribute"
    )


def find_health_path(package: Path) -> str | None:
    """The health route the app declares (by ast), else the first health-like string."""
    declared = surroundings.find_health_route(package)
    if declared is not None:
        return declared
    for path in [package] if package.is_file() else sorted(package.rglob("*.py")):
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
