"""What the wheel ships: the library only, never the demo or the tests' sandbox.

The wheel is built from src/shipline (hatch's `packages`) plus the templates, so the
source tree is the wheel's file list: these checks read it rather than build a wheel.
"""

from __future__ import annotations

import ast
import importlib.util
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[2]
PACKAGE = ROOT / "src" / "shipline"
OUTSIDE = {"demo", "support", "tests", "tomli_w"}
"""What lives beside the library (the demo, the tests' support modules) or only in the dev
extra: a library module importing one would break in an installed wheel."""


def pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(node.module.split(".")[0])
    return roots


def test_the_wheel_is_built_from_the_library_and_its_templates_only() -> None:
    hatch = pyproject()["tool"]["hatch"]["build"]["targets"]["wheel"]  # type: ignore[index]
    assert hatch["packages"] == ["src/shipline"]
    assert hatch["force-include"] == {"templates": "shipline/templates"}


def test_the_demo_is_not_in_the_library() -> None:
    assert not (PACKAGE / "demo").exists()
    assert importlib.util.find_spec("shipline.demo") is None


def test_no_library_module_imports_the_demo_the_tests_or_a_dev_dependency() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_roots(path) & OUTSIDE)
        for path in sorted(PACKAGE.rglob("*.py"))
        if imported_roots(path) & OUTSIDE
    }
    assert offenders == {}


def test_tomli_w_is_a_dev_dependency_only() -> None:
    project = pyproject()["project"]
    assert isinstance(project, dict)
    names = [spec.split(">")[0].split("=")[0] for spec in project["dependencies"]]
    assert "tomli-w" not in names
    assert any(spec.startswith("tomli-w") for spec in project["optional-dependencies"]["dev"])
