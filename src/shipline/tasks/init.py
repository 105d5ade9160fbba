"""The init task: render shipline's files into a project."""

from __future__ import annotations

from pathlib import Path

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from shipline.tasks.errors import one_line_errors


@task(
    auto_shortflags=False,
    help={
        "force": "Overwrite files that differ from the templates (their diffs are shown first)",
        "dry_run": "Show what init would write and change nothing",
        "entry": "The app as module:attribute, e.g. app.main:app, or a factory as "
        "module:create_app() (default: detected)",
        "wsgi": "With --entry: the app is WSGI (default ASGI)",
        "base_image": "The Dockerfile's default BASE_IMAGE (default: python:<version>-slim)",
    },
)
def init(
    c: Context,
    force: bool = False,
    dry_run: bool = False,
    entry: str | None = None,
    wsgi: bool = False,
    base_image: str | None = None,
) -> None:
    """Render shipline's Dockerfile, compose, proxy, server, nox, tasks, workflows and config."""
    from shipline import project as detect
    from shipline import scaffold

    root = Path.cwd()
    with one_line_errors():
        found = detect.read(root, entry, wsgi)
        planned = scaffold.plan(found, base_image, force)
    conflicts = [c for c in planned if c.status in ("conflict", "overwrite")]
    for change in conflicts:
        print(change.diff, end="" if change.diff.endswith("\n") else "\n")
    blocked = [a.path for a in planned if a.status == "conflict"]
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
        f"{'ASGI' if found.asgi else 'WSGI'} app {found.entry}, Python {found.python}"
    )
    if len(found.candidates) > 1:
        print(
            f"shipline: note: {len(found.candidates)} apps found ({', '.join(found.candidates)}); "
            f"using {found.entry}, the first by module (main, app, ... nearest the top); "
            "pass --entry module:attribute to use another"
        )
    for change in planned:
        shown = f"{change.path} ([tool.shipline])" if change.status == "append" else change.path
        print(f"  {change.status:>9}  {shown}")
    if not found.health_found:
        print(
            f"shipline: note: no {found.health_path} route found in {code}; "
            "the image's HEALTHCHECK, the deploy and the smoke checks use it: add one"
        )
    if dry_run:
        print("shipline: dry run; nothing written")
        return
    try:
        scaffold.apply(root, planned)
    except OSError as exc:
        raise Exit(
            f"shipline: error: cannot write {exc.filename}: {exc.strerror}; nothing was changed",
            code=1,
        ) from None
