"""The init task: render shipline's files into a project."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from shipline.tasks.errors import one_line_errors

if TYPE_CHECKING:
    from shipline.project import Project
    from shipline.proposal import Proposal
    from shipline.scaffold import Plan


@task(
    auto_shortflags=False,
    help={
        "force": "Overwrite files that differ from the templates (their diffs are shown first)",
        "dry_run": "Show what init would write and change nothing",
        "entry": "The app as module:attribute, e.g. app.main:app, or a factory as "
        "module:create_app() (default: detected)",
        "wsgi": "With --entry: the app is WSGI (default ASGI)",
        "base_image": "The Dockerfile's default BASE_IMAGE (default: python:<version>-slim)",
        "dockerfile": "The project's own Dockerfile to keep and build (default: the one found)",
        "adopt": "Add the proposed [project] table to a project without one, then init",
    },
)
def init(
    c: Context,
    force: bool = False,
    dry_run: bool = False,
    entry: str | None = None,
    wsgi: bool = False,
    base_image: str | None = None,
    dockerfile: str | None = None,
    adopt: bool = False,
) -> None:
    """Render shipline's Dockerfile, compose, proxy, server, nox, tasks, workflows and config."""
    from shipline import project as detect
    from shipline import proposal as proposals
    from shipline import scaffold

    root = Path.cwd()
    with one_line_errors():
        proposal, content = _proposal(root)
    if proposal is not None and not adopt:
        print(proposal.text, end="")
        raise Exit(
            "shipline: error: no [project] table in pyproject.toml, and shipline's sessions, "
            f"image and deploy read it; rerun init with --adopt to add the tables above "
            f"({proposal.summary})",
            code=2,
        )
    with proposals.staged(root, content, keep=not dry_run):
        with one_line_errors():
            found = detect.read(root, entry, wsgi)
            planned = scaffold.full_plan(found, base_image, force, dockerfile=dockerfile)
        _report(found, planned, proposal)
        if dry_run:
            print("shipline: dry run; nothing written")
            return
        try:
            scaffold.apply(root, planned.changes)
        except OSError as exc:
            raise Exit(
                f"shipline: error: cannot write {exc.filename}: {exc.strerror}; "
                "nothing was changed",
                code=1,
            ) from None


def _proposal(root: Path) -> tuple[Proposal | None, str | None]:
    """The [project] tables a project without them needs, and pyproject.toml with them."""
    from shipline import config
    from shipline import proposal as proposals

    if not proposals.missing(root):
        return None, None
    pyproject = root / "pyproject.toml"
    data = config.read_pyproject(pyproject) if pyproject.exists() else {}
    proposal = proposals.propose(root, data)
    return proposal, proposals.merged(pyproject, proposal)


def _report(found: Project, planned: Plan, proposal: Proposal | None) -> None:
    """The diffs, then a conflict's exit 2, else the plan, the adoptions and the notes."""
    from shipline import scaffold

    for change in planned.changes:
        if change.status in ("conflict", "overwrite"):
            print(change.diff, end="" if change.diff.endswith("\n") else "\n")
    blocked = [a.path for a in planned.changes if a.status == "conflict"]
    if blocked:
        raise Exit(
            f"shipline: error: {len(blocked)} file(s) differ from the templates: "
            f"{', '.join(blocked)}; keep yours, or rerun with --force to take the template "
            "(diffs above; nothing was written)",
            code=2,
        )
    code = ", ".join(found.code) or found.package_dir
    where = f"package {found.package_dir}" if len(found.code) <= 1 else f"code {code}"
    print(
        f"shipline: {found.name}: {where}, "
        f"{'ASGI' if found.asgi else 'WSGI'} app {found.entry}, "
        f"Python {found.python} (from {found.python_source})"
    )
    if len(found.candidates) > 1:
        print(
            f"shipline: note: {len(found.candidates)} apps found ({', '.join(found.candidates)}); "
            f"using {found.entry}, the first by module (main, app, ... nearest the top); "
            "pass --entry module:attribute to use another"
        )
    if proposal is not None:
        print(f"shipline: adding [project] to pyproject.toml (--adopt): {proposal.summary}")
    for change in planned.changes:
        shown = f"{change.path} ([tool.shipline])" if change.status == "append" else change.path
        note = f"  ({change.note})" if change.note else ""
        print(f"  {change.status:>9}  {shown}{note}")
    for note in planned.notes:
        print(f"shipline: {note}")
    for line in scaffold.choices(found, planned.changes):
        print(f"shipline: {line}")
    for line in scaffold.notes(found):
        print(f"shipline: note: {line}")
