"""The project's own pins of shipline's tools win over shipline's floors.

A session installs the project (with its dev extras and groups) and the check's
tools in one resolver call, so a floor such as `pytest-xdist>=3.6` beside the
project's `pytest-xdist==3.5.0` is unsatisfiable. Wherever the project declares a
tool (any spelling, extras, markers; in its dependencies, its dev extras, extras
of itself or its dependency groups), the floor gives way to the project's
requirement. Only a pin below what shipline needs to work at all (`needs`) stops
the session, before anything is installed, with one line naming both.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from packaging.markers import UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import Specifier
from packaging.utils import canonicalize_name
from packaging.version import Version

from shipline import installplan
from shipline.config import Config
from shipline.errors import ConfigError


@dataclass(frozen=True)
class Declared:
    """One requirement the project declares, and where, for the error that names it."""

    requirement: Requirement
    where: str


@dataclass(frozen=True)
class Need:
    """The oldest version of a tool that shipline works with, and why."""

    minimum: Version
    why: str


def needs(config: Config) -> dict[str, Need]:
    """Hard minimums by tool name: below these the session could not work at all."""
    found = {"pytest": Need(Version("7.0"), "shipline's pytest plugin (it uses pytest.StashKey)")}
    since = {"worksteal": "3.2", "loadgroup": "2.5"}
    if config.tests.workers != "0" and config.tests.dist in since:
        found["pytest-xdist"] = Need(
            Version(since[config.tests.dist]),
            f"tool.shipline.tests.dist = {config.tests.dist!r}",
        )
    return found


def _parse(text: str, where: str) -> Requirement:
    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        reason = str(exc).splitlines()[0]
        raise ConfigError(f"{where}: {text!r} is not a valid requirement ({reason})") from None


def _group(groups: Mapping[str, Any], name: str, seen: tuple[str, ...]) -> Iterator[Declared]:
    """A PEP 735 group's requirements, following `{include-group = ...}`."""
    for item in groups.get(name, []):
        if isinstance(item, str):
            yield Declared(_parse(item, f"dependency-groups.{name}"), f"dependency-groups.{name}")
        elif isinstance(item, dict) and isinstance(item.get("include-group"), str):
            included = item["include-group"]
            if included not in seen:
                yield from _group(groups, included, (*seen, included))


def declared(config: Config) -> list[Declared]:
    """What the project installs in a session: dependencies, dev extras (and extras of
    itself they name, like `app[test]`), dev dependency groups and the requirement
    files it installs with -r."""
    data = config.raw_pyproject
    project = data.get("project", {})
    project = project if isinstance(project, dict) else {}
    own = canonicalize_name(str(project.get("name", "")))
    optional = project.get("optional-dependencies", {})
    optional = optional if isinstance(optional, dict) else {}
    found: list[Declared] = []
    todo = [("project.dependencies", project.get("dependencies", []))]
    todo += [(f"project.optional-dependencies.{e}", optional.get(e, [])) for e in config.extras]
    done = set(config.extras)
    while todo:
        where, items = todo.pop(0)
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, str):
                continue
            requirement = _parse(item, where)
            if own and canonicalize_name(requirement.name) == own:
                for extra in sorted(requirement.extras - done):
                    done.add(extra)
                    todo.append((f"project.optional-dependencies.{extra}", optional.get(extra)))
                continue
            found.append(Declared(requirement, where))
    groups = data.get("dependency-groups", {})
    for name in config.dependency_groups if isinstance(groups, dict) else ():
        found.extend(_group(groups, name, (name,)))
    files = installplan.plan(config).requirements  # a tool pinned in requirements-dev.txt
    found += [Declared(r, f) for r, f in installplan.declared_in_files(config.root, files)]
    return found


def _applies(requirement: Requirement) -> bool:
    """Whether the requirement's marker holds here (the sessions' Python is alike)."""
    if requirement.marker is None:
        return True
    try:
        return requirement.marker.evaluate({"extra": ""})
    except UndefinedEnvironmentName:
        return True


def _excludes(spec: Specifier, minimum: Version) -> bool:
    """Whether `spec` caps the versions below `minimum` (then no allowed version meets it)."""
    if spec.operator in {"<", "<="}:
        return not spec.contains(minimum, prereleases=True)
    if spec.operator in {"==", "===", "~="}:
        version = Version(spec.version.removesuffix(".*"))
        return version < minimum and not spec.contains(minimum, prereleases=True)
    return False  # >=, > and != leave newer versions allowed


def check_need(declared: Declared, need: Need, floor: str) -> None:
    """One line naming the project's pin and shipline's minimum when they cannot meet."""
    requirement = declared.requirement
    if requirement.url or not _applies(requirement):
        return
    try:
        capped = any(_excludes(spec, need.minimum) for spec in requirement.specifier)
    except ValueError:  # an `===` arbitrary string: not a version to compare
        return
    if capped:
        name = requirement.name
        raise ConfigError(
            f"{declared.where} pins {requirement}, but {need.why} needs "
            f"{name}>={need.minimum}; raise the pin to {name}>={need.minimum} "
            f"(or remove it and shipline installs {floor})"
        )


def _spelled(name: str, extras: set[str], requirement: Requirement) -> str:
    text = name + (f"[{','.join(sorted(extras))}]" if extras else "")
    if requirement.url:
        text += f" @ {requirement.url}"
        return text + (f" ; {requirement.marker}" if requirement.marker else "")
    text += str(requirement.specifier)
    return text + (f"; {requirement.marker}" if requirement.marker else "")


def resolve(
    tools: Sequence[str], floors: Mapping[str, str], project: Sequence[Declared], config: Config
) -> tuple[str, ...]:
    """Requirements for the tools: the project's own where it declares a tool, else the floor.

    The project's requirement keeps its specifier, URL and marker and gains the
    extras the tool needs (`bandit[sarif]`); when every one of them has a marker,
    the bare tool comes too, so it is installed where no marker holds.
    """
    hard = needs(config)
    out: list[str] = []
    for tool in tools:
        wanted = Requirement(tool)
        key = canonicalize_name(wanted.name)
        theirs = [d for d in project if canonicalize_name(d.requirement.name) == key]
        if not theirs:
            out.append(floors[tool])
            continue
        for found in theirs:
            if key in hard:
                check_need(found, hard[key], floors[tool])
            extras = wanted.extras | found.requirement.extras
            out.append(_spelled(found.requirement.name, extras, found.requirement))
        if all(d.requirement.marker for d in theirs):
            out.append(_spelled(wanted.name, set(wanted.extras), Requirement(wanted.name)))
    return tuple(dict.fromkeys(out))
