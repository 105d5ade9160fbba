"""The example service is wired exactly as `shipline init` wires a project."""

from __future__ import annotations

from pathlib import Path

from shipline import project, scaffold

EXAMPLE = Path(__file__).parents[2] / "examples" / "service"


def test_init_on_the_example_would_change_nothing() -> None:
    found = project.read(EXAMPLE)
    assert (found.package_dir, found.entry, found.asgi) == ("src/service", "service.app:app", True)
    planned = {action.path: action.status for action in scaffold.plan(found)}
    owned = {path for _, path, kind in scaffold.FILES if kind == scaffold.OWNED}
    assert {path: planned[path] for path in owned} == dict.fromkeys(owned, "unchanged")
    # A starter is the project's own once written: the example added fixtures to it.
    assert planned["tests/conftest.py"] == "skip"
    assert planned["pyproject.toml"] == "unchanged"
