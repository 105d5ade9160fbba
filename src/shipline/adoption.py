"""The project's own Docker, compose, proxy and workflow files, which `init` keeps.

A project that already has a Dockerfile has already decided how its image is
built; a template over it is a loss, not a start. So `init` tells its own files
(their first line is the template's, or names `invoke init`) from the project's:
the project's are adopted, kept byte for byte and configured
(`[tool.shipline.image] dockerfile`, `[tool.shipline.deploy] compose-file`), and
the templates that only serve them (gunicorn.conf.py for an adopted Dockerfile,
nginx.conf for an adopted compose file) are left out. A file of init's that the
user edited is still a conflict: `scaffold` decides that, as before.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from shipline.errors import UsageError
from shipline.images.build import buildkit_only

DOCKERFILE = "Dockerfile"
DOCKERIGNORE = ".dockerignore"
COMPOSE = "compose.yml"
NGINX = "nginx.conf"
GUNICORN = "gunicorn.conf.py"
WORKFLOWS = (".github/workflows/ci.yml", ".github/workflows/cd.yml")
COMPOSE_NAMES = ("compose.yml", "compose.yaml", "docker-compose.yml", "docker-compose.yaml")
DOCKERFILE_DIRS = ("", "docker/", "deploy/")
"""Where a project's Dockerfile is looked for: the root, then the usual homes."""
_DOCKERFILE_NAME = re.compile(r"(?i)^(dockerfile([.-][\w.-]+)?|[\w.-]+\.dockerfile)$")


def is_inits(text: str, template_first_line: str) -> bool:
    """Whether an existing file is one init rendered: its first line, or a mention of init.

    The first line of every template says what the file is and who rendered it; a
    user editing the body keeps it, a project's own file never has it.
    """
    lines = [line for line in text.splitlines()[:3] if line.strip()]
    if not lines:
        return False
    return (
        lines[0].strip() == template_first_line.strip()
        or lines[0].startswith("# shipline ")  # the workflows' own first lines
        or any("`invoke init`" in line for line in lines)
    )


@dataclass(frozen=True)
class Survey:
    """What init keeps of the project's own files, and what that changes in its plan."""

    dockerfile: str | None = None
    """The project's Dockerfile, relative to the root, when init adopts one."""
    compose: str | None = None
    """The project's compose file, when init adopts one."""
    kept: frozenset[str] = frozenset()
    """Paths of init's files the project already has its own of: left as they are."""
    skipped: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Paths init would write that nothing uses beside the adopted files: why not."""
    moved: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Init's path -> the path its file goes to instead (beside the project's workflow)."""
    notes: tuple[str, ...] = ()
    """One line each, printed after the plan."""


def _q(value: str) -> str:
    """As TOML writes it, the way the user will find it in pyproject.toml."""
    return json.dumps(value, ensure_ascii=False)


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def find_dockerfile(
    root: Path, first_line: str, configured: str | None, given: str | None
) -> str | None:
    """The project's own Dockerfile: `--dockerfile`, the configured one, or the only one found.

    Several candidates and no word from the user is a usage error: building the
    wrong one would be worse than asking.
    """
    if given is not None:
        if not (root / given).is_file():
            raise UsageError(f"--dockerfile {given}: no such file in {root}")
        return Path(given).as_posix()
    if configured is not None:
        path = root / configured
        return configured if path.is_file() and not is_inits(_read(path), first_line) else None
    if (root / DOCKERFILE).is_file() and is_inits(_read(root / DOCKERFILE), first_line):
        return None  # init's own image: a docker/Dockerfile.dev beside it is not the image's
    found = [
        f"{directory}{path.name}"
        for directory in DOCKERFILE_DIRS
        if (root / directory).is_dir()
        for path in sorted((root / directory).iterdir())
        if path.is_file()
        and _DOCKERFILE_NAME.match(path.name)
        and not path.name.endswith(".dockerignore")
        and not is_inits(_read(path), first_line)
    ]
    if DOCKERFILE in found:
        return DOCKERFILE
    if len(found) > 1:
        production = [f for f in found if "prod" in f.lower()]
        if len(production) == 1:
            return production[0]
        raise UsageError(
            f"several Dockerfiles ({', '.join(found)}); name the image's: "
            "rerun init with --dockerfile PATH"
        )
    return found[0] if found else None


def compose_services(text: str) -> list[str]:
    """The service names of a compose file, read by indentation (no YAML parser needed
    for a hint; a file this misreads only loses the hint)."""
    names: list[str] = []
    inside, indent = False, None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            inside, indent = line.rstrip() == "services:", None
            continue
        if not inside:
            continue
        depth = len(line) - len(line.lstrip())
        indent = depth if indent is None else indent
        match = re.match(r"\s*([\w.-]+):", line)
        if depth == indent and match:
            names.append(match.group(1))
    return names


def _compose_notes(name: str, text: str) -> list[str]:
    """One line each on what to change for the deploy: its image variable, its service."""
    notes = []
    if not re.search(r"\$\{?APP_IMAGE\b", text):
        notes.append(
            f"note: {name} has no ${{APP_IMAGE}}: `invoke deploy` sets it per slot; give the "
            "app service `image: ${APP_IMAGE:-app:dev}` before deploying"
        )
    services = compose_services(text)
    if services and "app" not in services:
        notes.append(
            f"note: {name} has no `app` service (it has {', '.join(services)}): set "
            "[tool.shipline.deploy] services to the ones `invoke deploy` runs in slots"
        )
    return notes


@dataclass(frozen=True)
class Templates:
    """The first lines of init's files, to tell them from the project's own."""

    first_lines: Mapping[str, str]
    """Path in the project -> its template's first line."""

    def ours(self, root: Path, relative: str) -> bool:
        return is_inits(_read(root / relative), self.first_lines.get(relative, ""))


def survey(
    root: Path,
    templates: Templates,
    configured: Mapping[str, str],
    dockerfile: str | None = None,
) -> Survey:
    """Which of the project's own files init adopts; pure apart from reading them.

    `configured` holds the [tool.shipline] paths already set (`dockerfile`,
    `compose-file`): the project's word on which file is which.
    """
    kept: set[str] = set()
    skipped: dict[str, str] = {}
    moved: dict[str, str] = {}
    notes: list[str] = []
    adopted = find_dockerfile(
        root, templates.first_lines[DOCKERFILE], configured.get("dockerfile"), dockerfile
    )
    if adopted is not None:
        kept.add(DOCKERFILE)
        notes.append(
            f"keeping your {adopted}: [tool.shipline.image] dockerfile = {_q(adopted)}, "
            'context = "."; `invoke build` builds it'
        )
        needs = buildkit_only(root / adopted)
        if needs:  # named as Dockerfile:LINE; the path tells docker/Dockerfile from others
            needs = adopted + needs[len(Path(adopted).name) :]
            notes.append(
                f"note: {needs} is BuildKit syntax: `invoke build` needs an engine with "
                "buildx for it (the classic builder cannot build it)"
            )
        if GUNICORN not in _read(root / adopted) and not (root / GUNICORN).exists():
            skipped[GUNICORN] = f"{adopted} does not use it"
        if not (root / DOCKERIGNORE).exists():
            skipped[DOCKERIGNORE] = f"{adopted}'s build context is yours to filter"
    if (root / DOCKERIGNORE).is_file() and not templates.ours(root, DOCKERIGNORE):
        kept.add(DOCKERIGNORE)
    compose = _find_compose(root, templates, configured.get("compose-file"))
    if compose is not None:
        kept.add(COMPOSE)
        key = f": [tool.shipline.deploy] compose-file = {_q(compose)}"
        key = "" if compose == COMPOSE else key
        notes.append(f"keeping your {compose}{key}")
        notes += _compose_notes(compose, _read(root / compose))
        if not (root / NGINX).exists():
            skipped[NGINX] = f"{compose} runs the services, its own proxy if any"
    if (root / NGINX).is_file() and not templates.ours(root, NGINX):
        kept.add(NGINX)
    for workflow in WORKFLOWS:
        if (root / workflow).is_file() and not templates.ours(root, workflow):
            head, _, name = workflow.rpartition("/")
            moved[workflow] = f"{head}/shipline-{name}"
            notes.append(
                f"keeping your {workflow}; shipline's goes to {moved[workflow]} "
                "(both run: remove the one you no longer want)"
            )
    return Survey(
        dockerfile=adopted,
        compose=compose,
        kept=frozenset(kept),
        skipped=MappingProxyType(skipped),
        moved=MappingProxyType(moved),
        notes=tuple(notes),
    )


def _find_compose(root: Path, templates: Templates, configured: str | None) -> str | None:
    """The project's own compose file: the configured one, else the first usual name."""
    names = (configured,) if configured else COMPOSE_NAMES
    for name in names:
        path = root / name
        if path.is_file() and not is_inits(_read(path), templates.first_lines[COMPOSE]):
            return name
    return None
