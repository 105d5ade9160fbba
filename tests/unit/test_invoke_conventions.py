"""How a project meets shipline's tasks through invoke, run as the user runs it.

A project's own `@task` beside shipline's, `-h` as help, parse errors as usage
errors, no maintainer task in a project. Each case is a fresh interpreter: invoke
pops a task's help entries as it parses, so an in-process run would leave the
shared task objects changed for the tests after it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from shipline.tasks import all_tasks, namespace

ROOT = Path(__file__).parents[2]
TEMPLATE = (ROOT / "templates" / "tasks.py").read_text()
OWN_TASK = '''
from invoke import task


@task
def hello(c, name="world"):
    """Say hello."""
    print(f"hello {name}")
'''
SHIPLINE = "import sys; from shipline.cli import program; program.run(['shipline', *sys.argv[1:]])"


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str


def run(cwd: Path, *argv: str) -> Ran:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    return Ran(done.returncode, done.stdout, done.stderr)


def invoke(cwd: Path, *argv: str) -> Ran:
    return run(cwd, sys.executable, "-m", "invoke", *argv)


def shipline(cwd: Path, *argv: str) -> Ran:
    return run(cwd, sys.executable, "-c", SHIPLINE, *argv)


def listed(output: str) -> set[str]:
    return {
        line.split()[0] for line in output.splitlines() if line.startswith("  ") and line[2] != " "
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project whose tasks.py is the generated one plus a task of its own."""
    (tmp_path / "tasks.py").write_text(TEMPLATE + OWN_TASK)
    return tmp_path


def test_a_projects_own_task_is_listed_beside_shiplines_and_runs(project: Path) -> None:
    listing = invoke(project, "--list")
    assert listing.code == 0, listing
    assert listed(listing.out) == {*all_tasks.__all__, "hello"}
    assert invoke(project, "hello").out == "hello world\n"
    assert invoke(project, "hello", "--name", "you").out == "hello you\n"


def test_a_tasks_file_generated_before_keeps_its_tasks(tmp_path: Path) -> None:
    (tmp_path / "tasks.py").write_text("from shipline.tasks import namespace  # noqa: F401\n")
    listing = invoke(tmp_path, "--list")
    assert listing.code == 0, listing
    assert listed(listing.out) == set(all_tasks.__all__)


def test_a_project_has_no_maintainer_task_and_shiplines_repository_has() -> None:
    assert set(namespace.tasks) == set(all_tasks.__all__)
    assert "actions" not in namespace.tasks
    own = invoke(ROOT, "--list")
    assert listed(own.out) == {*all_tasks.__all__, "actions"}


def test_no_shipline_task_has_a_short_flag() -> None:
    """`-h` is help everywhere: invoke would otherwise make it `--host` of deploy."""
    names = run(
        ROOT,
        sys.executable,
        "-c",
        "import json; from shipline.tasks import namespace as n; from shipline.tasks import "
        "maintenance as m; print(json.dumps({t.name: [a.names for a in t.get_arguments()] "
        "for t in [*n.tasks.values(), m.actions]}))",
    )
    flags = json.loads(names.out)
    assert set(flags) == {*all_tasks.__all__, "actions"}
    short = {
        task: n for task, args in flags.items() for names in args for n in names if len(n) == 1
    }
    assert short == {}


@pytest.mark.parametrize("how", [invoke, shipline], ids=["invoke", "shipline"])
def test_dash_h_after_a_task_is_its_help(project: Path, how: Callable[..., Ran]) -> None:
    shown = how(project, "deploy", "-h")
    assert shown.code == 0, shown
    assert "deploy [--options]" in shown.out
    assert "--host" in shown.out
    assert shown.err == ""


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (("deploy", "--bogus"), "No idea what '--bogus' is!"),
        (("deploy", "--batch"), "Flag --batch needed value and was not given one!"),
        (("nope",), "No idea what 'nope' is!"),
        (("--bogus",), "No idea what '--bogus' is!"),
    ],
)
def test_shipline_parse_errors_are_one_line_and_exit_2(
    project: Path, argv: tuple[str, ...], line: str
) -> None:
    failed = shipline(project, *argv)
    assert (failed.code, failed.err, failed.out) == (2, f"shipline: error: {line}\n", "")


def test_plain_invoke_parse_errors_are_invokes_one_line_and_exit_1(project: Path) -> None:
    """A tasks file has no say in invoke's exit status; README documents the difference."""
    failed = invoke(project, "deploy", "--bogus")
    assert (failed.code, failed.err, failed.out) == (1, "No idea what '--bogus' is!\n", "")


def test_the_readmes_example_tasks_file_works(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Your `tasks.py`", 1)[1]
    example = section.split("```python\n")[2].split("```")[0]
    assert "@task" in example
    (tmp_path / "tasks.py").write_text(example)
    assert listed(invoke(tmp_path, "--list").out) == {*all_tasks.__all__, "hello"}
    said = invoke(tmp_path, "hello")
    assert (said.code, said.out) == (0, "hello\n")
