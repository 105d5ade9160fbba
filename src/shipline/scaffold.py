"""`invoke init`: render shipline's templates into an existing project.

Planned first, written second: every file's fate (create, unchanged, conflict) is
decided before anything is written, so a conflict or an error leaves the project
as it was. A file that differs from its template is never overwritten without
`--force`; its diff is shown instead. Starter files (conftest, a smoke test) are
the user's once written: created when missing, never compared again.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import jinja2

from shipline import adoption, config, inputs, noxversion
from shipline.errors import ConfigError, ShiplineError
from shipline.images import dependencies
from shipline.project import Project

SERVER_PACKAGES = {
    True: '"gunicorn>=20.1" "uvicorn-worker>=0.2"',
    False: '"gunicorn>=20.1"',
}
"""The image's application server, resolved together with the project's own dependencies.

Floors, not pins: a project that pins gunicorn or uvicorn itself keeps its pin (an
`==` here made pip fail with ResolutionImpossible), and one that does not gets the
newest release. The floors are the oldest releases gunicorn.conf.py works with;
uvicorn comes with uvicorn-worker, at the version the project allows."""

FileKind = Literal["owned", "starter"]
"""Owned files follow the templates (a difference is a conflict); starters are the user's."""
OWNED: Final = "owned"
STARTER: Final = "starter"
FILES: tuple[tuple[str, str, FileKind], ...] = (
    ("Dockerfile", "Dockerfile", OWNED),
    (".dockerignore", ".dockerignore", OWNED),
    ("compose.yml", "compose.yml", OWNED),
    ("nginx.conf", "nginx.conf", OWNED),
    ("gunicorn.conf.py", "gunicorn.conf.py", OWNED),
    ("noxfile.py", "noxfile.py", OWNED),
    ("tasks.py", "tasks.py", OWNED),
    ("workflows/ci.yml", ".github/workflows/ci.yml", OWNED),
    ("workflows/cd.yml", ".github/workflows/cd.yml", OWNED),
    ("conftest.py", "tests/conftest.py", STARTER),
    ("test_smoke.py", "tests/smoke/test_smoke.py", STARTER),
    ("test_unit.py", "tests/unit/test_health.py", STARTER),
)
"""(template, path in the project, kind)."""


def templates_dir() -> Path:
    """Inside the wheel (force-included), else the checkout's top-level templates/."""
    packaged = Path(__file__).parent / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "templates"


def environment() -> jinja2.Environment:
    """Square-bracket delimiters: the templates are full of `${{ }}` and `{}` of their own."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        variable_start_string="[[",
        variable_end_string="]]",
        block_start_string="[%",
        block_end_string="%]",
        comment_start_string="[#",
        comment_end_string="#]",
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 - renders Dockerfiles, YAML and Python, never HTML
    )


def context(project: Project, base_image: str | None) -> dict[str, object]:
    if base_image is not None:  # rendered into the Dockerfile's ARG line as it is
        inputs.image_reference(base_image, "--base-image")
    module, _, attribute = project.entry.partition(":")
    client = _client(project)
    remote = {tier.tier for tier in project.remote_tiers}
    pr_tiers = [t for t in ("unit", "integration", "database") if t not in remote]
    deps = dependencies.detect(project.root)
    return {
        "dependencies": deps.source,
        "dependency_copies": deps.copies(),
        "requirement_args": " ".join(f"-r {file}" for file in deps.requirements),
        "app": project.name.lower().replace("_", "-").replace(".", "-"),
        "base_image": base_image or f"python:{project.python}-slim",
        "entry": project.entry,
        "app_module": module,
        "app_name": attribute.removesuffix("()"),
        # The app itself: a factory entry (`create_app()`) is called for the test client.
        "app_value": attribute,
        "asgi": project.asgi,
        "worker_class": "uvicorn_worker.UvicornWorker" if project.asgi else "gthread",
        "server_packages": SERVER_PACKAGES[project.asgi],
        "health_path": project.health_path,
        "client": client,
        "testclient": f"{'fastapi' if project.framework == 'fastapi' else 'starlette'}.testclient",
        "default_branch": project.default_branch.value,
        "branches": f"[{project.default_branch.value}]",
        "working_directory": project.workflow_dir,
        "action_inputs": _action_inputs(project),
        "optional_tiers": _optional_tiers(project, client),
        "migrations": project.migrations.value if project.migrations else "",
        "migrations_active": "database" not in project.missing_tiers,
        "pr_tiers": pr_tiers,
        "nox_needs": noxversion.needs(),
        "shards": {tier: n for tier, n in _shards(project).items() if tier in pr_tiers},
        "live_steps": live_steps(project),
        "dockerfile": None,
        "compose_file": None,
    }


def _shards(project: Project) -> dict[str, int]:
    """The tiers split into shards (`shards` over 1), as [tool.shipline] says at init time:
    each becomes a matrix of shard jobs and a job that combines and gates their coverage."""
    try:
        cfg = config.load(project.root)
    except ShiplineError:  # init reports the configuration's problems elsewhere
        return {}
    return {name: tier.shards for name, tier in cfg.tiers.items() if tier.shards > 1}


def _optional_tiers(project: Project, client: str) -> tuple[str, ...]:
    """Tiers with no tests yet; unit too when init cannot write a first unit test."""
    if not project.has_unit_tests and not (client and project.health_found):
        return ("unit", *project.missing_tiers)
    return project.missing_tiers


def live_steps(project: Project) -> list[tuple[str, tuple[str, ...]]]:
    """The tiers CD runs against the deployed service, with the URL variables each reads.

    e2e always; a tier of the project's own that reaches a deployed service (its
    tests read BASE_URL or name a remote host) runs here instead of on every pull
    request, with its variables set to the service's URL.
    """
    remote = {tier.tier: tier.variables for tier in project.remote_tiers}
    steps = [(tier, remote[tier]) for tier in remote if tier != "e2e"]
    return [*steps, ("e2e", remote.get("e2e", ()))]


def _action_inputs(project: Project) -> str:
    """The `with:` lines every shipline action gets, joined at the templates' indent."""
    lines = [f'python-version: "{project.python}"']
    if project.workflow_dir != ".":
        lines.append(f"working-directory: {project.workflow_dir}")
    return "\n          ".join(lines)


def placed(project: Project, relative: str) -> str:
    """Where a file goes, from the project root: workflows at the git root's .github/."""
    if relative in adoption.WORKFLOWS and project.workflow_dir != ".":
        depth = len(Path(project.workflow_dir).parts)
        return "/".join([".."] * depth + [relative])
    return relative


def _client(project: Project) -> str:
    """The in-process test client the starters use: "starlette", "flask" or none."""
    if project.framework in ("fastapi", "starlette") and project.has_httpx:
        return "starlette"
    if project.framework == "flask":
        return "flask"
    return ""


ChangeStatus = Literal["create", "unchanged", "conflict", "overwrite", "append", "skip", "adopt"]


@dataclass(frozen=True)
class FileChange:
    """What init does to one file (not an Action: shipline.actions are GitHub actions)."""

    path: str
    """Relative to the project root."""
    status: ChangeStatus
    content: str
    diff: str = ""
    note: str = ""
    """Why a file is adopted or skipped, shown beside it."""


@dataclass(frozen=True)
class Plan:
    """Every file's fate, and what init says about the project's own files it keeps."""

    changes: list[FileChange]
    notes: tuple[str, ...] = ()


def plan(
    project: Project,
    base_image: str | None = None,
    force: bool = False,
    *,
    dockerfile: str | None = None,
) -> list[FileChange]:
    """What init would do to each file; pure apart from reading the project's files."""
    return full_plan(project, base_image, force, dockerfile=dockerfile).changes


def full_plan(
    project: Project,
    base_image: str | None = None,
    force: bool = False,
    *,
    dockerfile: str | None = None,
) -> Plan:
    """`plan`, with the notes on the files adopted (`adoption`): init prints both."""
    env = environment()
    values = context(project, base_image)
    rendered = {relative: env.get_template(t).render(values) for t, relative, _ in FILES}
    templates = adoption.Templates(
        {relative: text.partition("\n")[0] for relative, text in rendered.items()}
    )
    survey = adoption.survey(project.root, templates, _configured(project.root), dockerfile)
    changes = [
        _change(project, survey, (relative, kind), rendered[relative], force=force)
        for _, relative, kind in FILES
    ]
    if project.has_shipline_table:
        changes.append(FileChange("pyproject.toml", "unchanged", ""))
    else:
        values["dockerfile"] = _toml_string(survey.dockerfile)
        compose = survey.compose if survey.compose != adoption.COMPOSE else None
        values["compose_file"] = _toml_string(compose)
        changes.append(_append_config(project.root / "pyproject.toml", env, values))
    return Plan(changes, survey.notes)


def _toml_string(value: str | None) -> str | None:
    """A TOML basic string: JSON's escapes are TOML's, for the paths init writes."""
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _configured(root: Path) -> dict[str, str]:
    """The paths [tool.shipline] already names: the project's word on its own files."""
    data = config.read_pyproject(root / "pyproject.toml")
    tool = data.get("tool")
    table = tool.get("shipline") if isinstance(tool, dict) else None
    found: dict[str, str] = {}
    for section, key in (("image", "dockerfile"), ("deploy", "compose-file")):
        sub = table.get(section) if isinstance(table, dict) else None
        value = sub.get(key) if isinstance(sub, dict) else None
        if isinstance(value, str) and value:
            found[key] = value
    return found


def _change(
    project: Project,
    survey: adoption.Survey,
    file: tuple[str, FileKind],
    rendered: str,
    *,
    force: bool,
) -> FileChange:
    """One file's fate: adopted, skipped, created, unchanged, or a conflict (or --force)."""
    relative, kind = file
    if relative in survey.kept:
        shown = {adoption.DOCKERFILE: survey.dockerfile, adoption.COMPOSE: survey.compose}
        return FileChange(shown.get(relative) or relative, "adopt", "", note="yours, kept")
    if relative in survey.skipped:
        return FileChange(relative, "skip", "", note=survey.skipped[relative])
    relative = placed(project, survey.moved.get(relative, relative))
    if _has_own(project, relative):
        return FileChange(relative, "skip", "")
    target = project.root / relative
    if not target.exists():
        return FileChange(relative, "create", rendered)
    if not target.is_file():
        note = f"{relative} is a directory (or not a regular file); move it away first\n"
        return FileChange(relative, "conflict", rendered, note)
    current = target.read_text(encoding="utf-8", errors="replace")
    if kind == STARTER or current == rendered:
        return FileChange(relative, "unchanged" if current == rendered else "skip", "")
    diff = "".join(
        difflib.unified_diff(
            current.splitlines(keepends=True),
            rendered.splitlines(keepends=True),
            f"a/{relative} (yours)",
            f"b/{relative} (template)",
        )
    )
    return FileChange(relative, "overwrite" if force else "conflict", rendered, diff)


def _append_config(
    pyproject: Path, env: jinja2.Environment, values: dict[str, object]
) -> FileChange:
    """The [tool.shipline] block after the file's own text, in the file's line endings."""
    with pyproject.open(encoding="utf-8", newline="") as handle:
        current = handle.read()
    newline = "\r\n" if "\r\n" in current else "\n"
    block = env.get_template("shipline.toml").render(values).replace("\n", newline)
    joiner = "" if current.endswith("\n") else newline
    content = current + joiner + block
    try:
        tomllib.loads(content)
    except tomllib.TOMLDecodeError:
        raise ConfigError(
            f"{pyproject}: [tool.shipline] cannot be appended (an inline `tool = {{...}}` "
            "table?); add the block of templates/shipline.toml by hand, then run init again"
        ) from None
    return FileChange("pyproject.toml", "append", content)


def _has_own(project: Project, relative: str) -> bool:
    """A starter test the project needs none of: it has tests there, or nothing to test."""
    if relative == "tests/smoke/test_smoke.py":
        return _has_tests(project.root / "tests/smoke")
    if relative == "tests/unit/test_health.py":
        return project.has_unit_tests or "unit" in _optional_tiers(project, _client(project))
    return False


def _has_tests(directory: Path) -> bool:
    return any(directory.glob("test_*.py")) or any(directory.glob("*_test.py"))


WRITES: tuple[ChangeStatus, ...] = ("create", "overwrite", "append")


def apply(root: Path, changes: list[FileChange]) -> None:
    """Write every planned file, or none: a failure puts back what was already written."""
    done: list[tuple[Path, bytes | None]] = []
    made: list[Path] = []
    try:
        for change in changes:
            if change.status not in WRITES:
                continue
            target = root / change.path
            # Bytes, not text: a file being replaced may be in any encoding (plan reads it
            # leniently), and a rollback must put back exactly what was there.
            before = target.read_bytes() if target.exists() else None
            missing = [p for p in reversed(target.parents) if p.is_relative_to(root)]
            made += [p for p in missing if not p.exists()]
            target.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write(target, change.content.encode("utf-8"))
            done.append((target, before))
    except OSError:
        for target, before in reversed(done):
            if before is None:
                target.unlink(missing_ok=True)
            else:
                _atomic_write(target, before)
        for directory in reversed(made):
            with contextlib.suppress(OSError):
                directory.rmdir()
        raise


def _atomic_write(target: Path, data: bytes) -> None:
    mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def choices(project: Project, changes: list[FileChange]) -> list[str]:
    """What init chose on the project's behalf and why, one line each, for its output."""
    lines: list[str] = []
    if any(c.path == "pyproject.toml" and c.status == "append" for c in changes):
        branch = project.default_branch
        lines.append(f'default-branch = "{branch.value}" (from {branch.source})')
    if project.health_found:
        lines.append(f"health path {project.health_path} (a route the app declares)")
    if project.workflow_dir != ".":
        lines.append(
            "workflows in the repository root's .github/workflows/ (GitHub reads no other), "
            f"each shipline step run in {project.workflow_dir}/"
        )
    if project.migrations is not None:
        active = "database" not in project.missing_tiers
        state = "on" if active else "commented out until tests/database exists"
        lines.append(
            f"migrations {project.migrations.value} (from {project.migrations.source}): {state}"
        )
    if any(c.path == "tests/unit/test_health.py" and c.status in WRITES for c in changes):
        lines.append(
            "no unit tests yet: a first one, tests/unit/test_health.py, calls the health route"
        )
    return lines


def notes(project: Project) -> list[str]:
    """What the user should know or do after init, one line each."""
    lines: list[str] = []
    if not project.health_found:
        where = ", ".join(project.code) or project.package_dir
        lines.append(
            f"no {project.health_path} route found in {where}; the image's "
            "HEALTHCHECK, the deploy and the smoke checks use it: add one"
        )
    for tier in project.remote_tiers:
        if tier.tier != "e2e":
            lines.append(
                f"tests/{tier.tier} reaches a deployed service ({tier.evidence}): CI does not "
                "run it on pull requests; CD runs it after the deploy, against vars.SERVICE_URL"
            )
    if not project.has_unit_tests and "unit" in _optional_tiers(project, _client(project)):
        lines.append(
            "no unit tests and no test client to write one with (httpx for FastAPI/Starlette): "
            "the unit tier is optional until you add tests"
        )
    return lines
