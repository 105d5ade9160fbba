"""What a session installs the project from: its uv.lock, its requirement files, or pyproject.

CI must test what the project locked. With a `uv.lock` the session exports it
(`uv export --locked`: an out-of-date lock fails here, with one line) and installs
the export as requirements *and* as constraints, beside the project (editable)
and the check's tools: the tools are resolved around the locked versions and can
never move one. A project with no lock but requirement files (a deploy's
`requirements.txt`, `requirements-dev.txt`, `constraints.txt`) gets those with
`-r`/`-c`. Only a project with neither is resolved afresh from pyproject.toml.
The plan is data (`plan`), so which files and flags a project gets is tested
without nox.
"""

from __future__ import annotations

import re
import subprocess  # nosec B404 - runs uv, found by nox, with fixed arguments
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from shipline.config import Config
from shipline.errors import ConfigError, ShiplineError
from shipline.images.dependencies import dynamic_requirement_files

LOCK = "uv.lock"
RUNTIME_REQUIREMENTS = ("requirements.txt",)
DEV_REQUIREMENTS = (
    "requirements-dev.txt",
    "requirements_dev.txt",
    "dev-requirements.txt",
    "requirements-test.txt",
    "test-requirements.txt",
    "requirements/dev.txt",
    "requirements/test.txt",
)
CONSTRAINTS = ("constraints.txt", "requirements/constraints.txt")
OUT_OF_DATE = "uv.lock is out of date with pyproject.toml; run `uv lock`"

Source = Literal["uv.lock", "requirements", "pyproject"]

_PINNED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==")


@dataclass(frozen=True)
class Plan:
    """How a session installs the project: from where, with which -r and -c files."""

    source: Source
    requirements: tuple[str, ...] = ()
    """Files for `-r`, relative to the project root; the lock's export is added at run time."""
    constraints: tuple[str, ...] = ()
    """Files for `-c`."""
    lock_off: bool = False
    """A uv.lock is there but `lock = "off"` leaves it aside."""

    def export_args(self, config: Config, output: Path) -> tuple[str, ...]:
        """`uv export` of the locked versions of what the sessions install, the project aside."""
        return (
            *("export", "--locked", "--format", "requirements-txt", "--no-hashes"),
            *("--no-emit-project", "--no-default-groups"),
            *(f"--extra={extra}" for extra in config.extras),
            *(f"--group={group}" for group in config.dependency_groups),
            f"--output-file={output}",
        )

    def install_args(
        self, project: Sequence[str], tools: Sequence[str], locked: Path | None = None
    ) -> tuple[str, ...]:
        """One resolver call: the files, the project and the tools, constrained alike.

        `locked` is the lock's export: installed with -r, and its pinned lines
        (`constraints_of`) with -c, so no tool can move a locked version.
        """
        requirements = (*self.requirements, *((str(locked),) if locked else ()))
        constraints = (*self.constraints, *((str(constraints_of(locked)),) if locked else ()))
        return (
            *(arg for file in requirements for arg in ("-r", file)),
            *(arg for file in constraints for arg in ("-c", file)),
            *project,
            *tools,
        )

    def describe(self) -> str:
        if self.source == "uv.lock":
            return "installing the versions uv.lock locks (uv export --locked)"
        if self.source == "requirements":
            files = [f"-r {f}" for f in self.requirements] + [f"-c {f}" for f in self.constraints]
            return f"installing with the project's requirement files: {' '.join(files)}"
        if self.lock_off:
            return 'lock = "off": resolving from pyproject.toml, uv.lock left aside'
        return "no uv.lock or requirement files: resolving from pyproject.toml"


def _found(root: Path, names: Iterable[str]) -> tuple[str, ...]:
    return tuple(name for name in names if (root / name).is_file())


def _configured(root: Path, key: str, files: tuple[str, ...]) -> tuple[str, ...]:
    for file in files:
        if not (root / file).is_file():
            raise ConfigError(f"tool.shipline.{key}: {file!r} does not exist in {root}")
    return files


def plan(config: Config) -> Plan:
    """Where the project's dependencies come from, by `lock`, `requirements`, `constraints`."""
    root = config.root
    has_lock = (root / LOCK).is_file()
    if config.lock == "uv" and not has_lock:
        raise ConfigError(
            f'tool.shipline.lock = "uv", but there is no {LOCK} in {root}; '
            'run `uv lock` or set lock = "auto"'
        )
    if config.lock != "off" and has_lock:
        return Plan("uv.lock")
    if config.requirements is not None:
        requirements = _configured(root, "requirements", config.requirements)
    else:
        dynamic = dynamic_requirement_files(dict(config.raw_pyproject))
        requirements = _found(
            root, dict.fromkeys((*dynamic, *RUNTIME_REQUIREMENTS, *DEV_REQUIREMENTS))
        )
    if config.constraints is not None:
        constraints = _configured(root, "constraints", config.constraints)
    else:
        constraints = _found(root, CONSTRAINTS)
    if requirements or constraints:
        return Plan("requirements", requirements, constraints)
    return Plan("pyproject", lock_off=has_lock)


def constraints_of(locked: Path) -> Path:
    """Where the export's pinned lines go: constraints cannot be editable or unnamed."""
    return locked.with_name(f"{locked.stem}-constraints.txt")


def export(uv: str, config: Config, plan: Plan, output: Path) -> Path:
    """Write the lock's requirements to `output`; one line when the lock is stale or broken."""
    output.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(  # nosec B603 - uv with arguments built here
        [uv, *plan.export_args(config, output)],
        cwd=config.root,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        said = done.stderr.strip()
        if "--locked" in said or "needs to be updated" in said:
            raise ShiplineError(OUT_OF_DATE)
        last = said.splitlines()[-1] if said else f"exit status {done.returncode}"
        raise ShiplineError(f"uv export of {LOCK} failed: {last.removeprefix('error: ')}")
    lines = output.read_text(encoding="utf-8").splitlines()
    pinned = [line for line in lines if _PINNED.match(line.strip())]
    constraints_of(output).write_text("\n".join(pinned) + "\n", encoding="utf-8")
    return output


def locked_names(exported: str) -> frozenset[str]:
    """The (canonical) names the export pins with `==`."""
    names = (_PINNED.match(line.strip()) for line in exported.splitlines())
    return frozenset(canonicalize_name(m.group(1)) for m in names if m)


def defer_to_lock(tools: Sequence[str], locked: frozenset[str]) -> tuple[str, ...]:
    """Tools the lock pins lose shipline's floor: the locked version is the one to test with."""
    out: list[str] = []
    for tool in tools:
        try:
            requirement = Requirement(tool)
        except InvalidRequirement:
            out.append(tool)
            continue
        if requirement.url is None and canonicalize_name(requirement.name) in locked:
            extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
            marker = f"; {requirement.marker}" if requirement.marker else ""
            out.append(f"{requirement.name}{extras}{marker}")
        else:
            out.append(tool)
    return tuple(out)


def declared_in_files(root: Path, files: Sequence[str]) -> list[tuple[Requirement, str]]:
    """The named requirements a plan's -r files list, with their file, for `shipline.pins`."""
    found: list[tuple[Requirement, str]] = []
    for file in files:
        try:
            text = (root / file).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            line = line.split(" #", 1)[0].strip()
            if not line or line.startswith(("#", "-", ".", "/")):
                continue
            try:
                found.append((Requirement(line), file))
            except InvalidRequirement:
                continue
    return found
