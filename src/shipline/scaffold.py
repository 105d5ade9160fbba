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
import os
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import jinja2

from shipline import inputs
from shipline.errors import ConfigError
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
    client = ""
    if project.framework in ("fastapi", "starlette") and project.has_httpx:
        client = "starlette"
    elif project.framework == "flask":
        client = "flask"
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
        "default_branch": "main",
        "optional_tiers": project.missing_tiers,
    }


ChangeStatus = Literal["create", "unchanged", "conflict", "overwrite", "append", "skip"]


@dataclass(frozen=True)
class FileChange:
    """What init does to one file (not an Action: shipline.actions are GitHub actions)."""

    path: str
    """Relative to the project root."""
    status: ChangeStatus
    content: str
    diff: str = ""


def plan(project: Project, base_image: str | None = None, force: bool = False) -> list[FileChange]:
    """What init would do to each file; pure apart from reading the project's files."""
    env = environment()
    values = context(project, base_image)
    changes: list[FileChange] = []
    for template, relative, kind in FILES:
        if relative == "tests/smoke/test_smoke.py" and _has_tests(project.root / "tests/smoke"):
            changes.append(FileChange(relative, "skip", ""))
            continue
        rendered = env.get_template(template).render(values)
        target = project.root / relative
        if not target.exists():
            changes.append(FileChange(relative, "create", rendered))
            continue
        if not target.is_file():
            note = f"{relative} is a directory (or not a regular file); move it away first\n"
            changes.append(FileChange(relative, "conflict", rendered, note))
            continue
        current = target.read_text(encoding="utf-8", errors="replace")
        if kind == STARTER or current == rendered:
            changes.append(FileChange(relative, "unchanged" if current == rendered else "skip", ""))
            continue
        diff = "".join(
            difflib.unified_diff(
                current.splitlines(keepends=True),
                rendered.splitlines(keepends=True),
                f"a/{relative} (yours)",
                f"b/{relative} (template)",
            )
        )
        changes.append(FileChange(relative, "overwrite" if force else "conflict", rendered, diff))
    if project.has_shipline_table:
        changes.append(FileChange("pyproject.toml", "unchanged", ""))
    else:
        changes.append(_append_config(project.root / "pyproject.toml", env, values))
    return changes


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
