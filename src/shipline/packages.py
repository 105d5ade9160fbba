"""Where a project's import package is, and what its own code is: one rule for the
configuration and for `init`.

The configuration (the paths mypy and bandit check, `--cov`) and `invoke init`
(the entry point, the health route) must agree on the package and on the code
around it (`project_code`), so both ask here.
Standard library only: the configuration is imported by the pytest plugin.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

from shipline.errors import ConfigError

NOT_PACKAGES = frozenset(
    {"tests", "test", "docs", "doc", "migrations", "alembic", "scripts", "examples", "src"}
)
"""Top-level directories that are never the project's code, __init__.py or not: tests,
documentation, alembic's migrations (generated, and never imported by the tests, so
measuring them only lowers coverage) and scripts."""
NOT_MODULES = frozenset({"noxfile", "tasks", "setup", "conftest", "manage", "fabfile", "dodo"})
"""Top-level modules that drive the project (nox, invoke, setuptools, pytest, Django's
manage.py) rather than being its code: the tests never import them."""


def import_name(project_name: str) -> str:
    """The import name a distribution name suggests: `Acme.Web-API` -> `acme_web_api`."""
    return re.sub(r"[-_.]+", "_", project_name).lower()


def named(root: Path, name: str) -> str | None:
    """`src/<name>/` or `<name>/`, else the module `src/<name>.py` or `<name>.py`.

    A directory named after the package counts without an __init__.py (a namespace
    package): the name is the evidence, as mypy and bandit take such a directory.
    """
    for candidate in (f"src/{name}", name):
        if (root / candidate).is_dir():
            return candidate
    for candidate in (f"src/{name}.py", f"{name}.py"):
        if (root / candidate).is_file():
            return candidate
    return None


def top_level(root: Path) -> list[str]:
    """Every directory with an __init__.py in `src/` or at the root, but tests and docs.

    Without a name to go by only a regular package counts: a bare directory at the
    root is as likely static files or scripts as code.
    """
    return sorted(
        path.parent.relative_to(root).as_posix()
        for pattern in ("src/*/__init__.py", "*/__init__.py")
        for path in root.glob(pattern)
        if path.parent.name not in NOT_PACKAGES
    )


def find_package(
    root: Path, project_name: str | None, configured: str | None
) -> tuple[str, str] | None:
    """(import name, path relative to root) of the project's package, or None.

    The configured name, which must exist: never guess past the user's word. Else
    the name [project].name suggests, else the only package there is. None when
    there is none or several: the caller says whether that is an error.
    """
    if configured is not None:
        path = named(root, configured)
        if path is None:
            raise ConfigError(
                f"tool.shipline.package: no package {configured!r} (expected src/{configured}/ "
                f"or {configured}/, or a module {configured}.py); "
                "set it to the import name of your package"
            )
        return configured, path
    if project_name is not None:
        name = import_name(project_name)
        path = named(root, name)
        if path is not None:
            return name, path
    found = top_level(root)
    if len(found) == 1:
        return found[0].rsplit("/", 1)[-1], found[0]
    return None


class Code(NamedTuple):
    """One top-level package or module of the project's own code."""

    name: str
    """The import name: what coverage measures (`--cov=name`)."""
    path: str
    """Relative to the root: what the type checker and bandit are given."""


def _is_code(path: Path) -> bool:
    name = path.name if path.is_dir() else path.stem
    return (
        name.isidentifier()
        and name not in NOT_PACKAGES
        and name not in NOT_MODULES
        and not name.startswith("test_")
        and not name.endswith("_test")
    )


def _code_in(root: Path, base: str) -> list[Code]:
    """The regular packages and the modules directly in `base` (the root when "")."""
    top = root / base if base else root
    found = [p.parent for p in top.glob("*/__init__.py")] + list(top.glob("*.py"))
    return [
        Code(path.name if path.is_dir() else path.stem, path.relative_to(root).as_posix())
        for path in found
        if _is_code(path)
    ]


def project_code(root: Path, package: tuple[str, str] | None, configured: bool) -> tuple[Code, ...]:
    """Every top-level package and module of the project's own code, sorted by path.

    One notion for coverage (`--cov=` each), the type checker's paths and bandit's
    targets, so none of them checks one package of a project made of several (a flat
    layout of routers/, services/, models/ and main.py measured only routers). The
    configured package alone when there is one: never more than the user's word.
    Else what sits beside the package found (in src/ or at the root), or without
    one, src/'s packages and modules if it has any, else the root's.
    """
    if package is not None and configured:
        return (Code(*package),)
    if package is not None:
        base = "src" if package[1].startswith("src/") else ""
        found = _code_in(root, base)
        if package[1] not in {code.path for code in found}:
            found.append(Code(*package))
    else:
        found = _code_in(root, "src") or _code_in(root, "")
    return tuple(sorted(found, key=lambda code: code.path))
