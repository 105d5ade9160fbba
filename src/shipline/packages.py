"""Where a project's import package is: one rule for the configuration and for `init`.

The configuration (the paths mypy and bandit check, `--cov`) and `invoke init`
(the entry point, the health route) must agree on the package, so both ask here.
Standard library only: the configuration is imported by the pytest plugin.
"""

from __future__ import annotations

import re
from pathlib import Path

from shipline.errors import ConfigError

NOT_PACKAGES = frozenset({"tests", "test", "docs", "migrations", "src"})
"""Top-level directories that are never the project's package, __init__.py or not."""


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
