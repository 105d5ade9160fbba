"""Where the image's dependencies come from, decided when `invoke init` renders the Dockerfile.

The image must hold what the developer's own install holds, not a guess from
`[project].dependencies`: a `uv.lock` is installed as locked, requirements files
(those feeding dynamic dependencies, or a top-level requirements.txt) as written,
and only a project with neither is installed from its own metadata. Each source
gets a dependency layer built from those files alone, so a code change reuses it.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

UV = "uv"
REQUIREMENTS = "requirements"
PYPROJECT = "pyproject"

_INCLUDE = re.compile(r"^\s*(?:-r|-c|--requirement|--constraint)(?:\s+|=)(\S+)")
_LOCAL = re.compile(r"^\s*(?:-e|--editable|\.|/|file:)")
"""A requirement line that installs from the source tree, which the dependency layer lacks."""


@dataclass(frozen=True)
class Dependencies:
    source: str
    """uv, requirements or pyproject."""
    requirements: tuple[str, ...] = ()
    """The files given to `pip install -r`, relative to the project root (POSIX)."""
    files: tuple[str, ...] = ()
    """Every file the dependency layer copies in: the above and the files they include."""

    def copies(self) -> list[str]:
        """COPY arguments keeping each file at its own path (a `-r base/common.txt` resolves)."""
        by_dir: dict[str, list[str]] = {}
        for file in self.files:
            parent = PurePosixPath(file).parent.as_posix()
            by_dir.setdefault("./" if parent == "." else f"{parent}/", []).append(file)
        return [" ".join([*sorted(by_dir[target]), target]) for target in sorted(by_dir)]


def detect(root: Path) -> Dependencies:
    """The project's own record of its dependencies: uv.lock, requirements files, or metadata."""
    if (root / "uv.lock").is_file():
        return Dependencies(UV, files=("pyproject.toml", "uv.lock"))
    try:
        with (root / "pyproject.toml").open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        data = {}
    listed = dynamic_requirement_files(data)
    if not listed and (root / "requirements.txt").is_file():
        listed = ("requirements.txt",)
    files = _with_includes(root, listed)
    if listed and files is not None:
        return Dependencies(REQUIREMENTS, requirements=listed, files=files)
    return Dependencies(PYPROJECT, files=("pyproject.toml",))


def dynamic_requirement_files(data: dict[str, Any]) -> tuple[str, ...]:
    """The files setuptools or hatch-requirements-txt read `dynamic` dependencies from."""
    project = data.get("project")
    dynamic = project.get("dynamic", []) if isinstance(project, dict) else []
    if not isinstance(dynamic, list) or "dependencies" not in dynamic:
        return ()
    tool = data.get("tool", {})
    setuptools = _table(tool, "setuptools", "dynamic", "dependencies")
    hatch = _table(tool, "hatch", "metadata", "hooks", "requirements_txt")
    files = setuptools.get("file") if setuptools else hatch.get("files")
    if isinstance(files, str):
        files = [files]
    if not isinstance(files, list):
        return ()
    return tuple(str(PurePosixPath(f)) for f in files if isinstance(f, str) and f)


def _table(data: object, *keys: str) -> dict[str, Any]:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data if isinstance(data, dict) else {}


def _with_includes(root: Path, listed: tuple[str, ...]) -> tuple[str, ...] | None:
    """The listed files and those they include (-r/-c), or None when a line needs the source."""
    found: list[str] = []
    pending = list(listed)
    while pending:
        relative = pending.pop(0)
        path = (root / relative).resolve()
        if relative in found:
            continue
        if not path.is_relative_to(root.resolve()) or not path.is_file():
            return None  # outside the build context, or missing: leave it to the metadata
        found.append(relative)
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if _LOCAL.match(line):
                return None
            include = _INCLUDE.match(line)
            if include and "://" not in include.group(1):
                nested = PurePosixPath(relative).parent / include.group(1)
                pending.append(str(PurePosixPath(*_normal(nested.parts))))
    return tuple(found)


def _normal(parts: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for part in parts:
        if part == "..":
            if out:
                out.pop()
        elif part != ".":
            out.append(part)
    return out
