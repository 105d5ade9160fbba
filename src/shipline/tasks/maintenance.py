"""Maintenance of shipline's own repository: the generated composite actions.

Only the repository's own tasks.py adds `actions`: in a project it would list a
task that fails there (a project has no catalogue-mirrored actions/ directory).
"""

from __future__ import annotations

from pathlib import Path

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from shipline import actions as generated_actions


@task(
    help={"check": "Only check that the committed action files mirror the catalogue."},
    auto_shortflags=False,
)
def actions(c: Context, check: bool = False) -> None:
    """Write actions/<name>/action.yml from the catalogue of checks (or --check them)."""
    root = Path.cwd()
    if check:
        found = generated_actions.problems(root)
        if found:
            raise Exit("\n".join(f"shipline: error: {p}" for p in found), code=1)
        print(f"shipline: actions mirror the catalogue ({len(generated_actions.all_actions())})")
        return
    changed = generated_actions.write(root)
    for path in changed:
        print(f"wrote {path}")
    if not changed:
        print("shipline: actions already up to date")
