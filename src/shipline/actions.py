"""Composite GitHub Actions generated from the catalogue and the tasks, and their mirror check.

Every check session has exactly one action (the tier sessions share `test`,
chosen by its `tier` input) running the same `nox -s NAME` a developer runs;
every delivery task (`shipline.delivery.TASKS`, the data `shipline.tasks`
builds those tasks from) has one running the same `invoke NAME`.
`invoke actions` writes the files; `invoke actions --check` fails when a
committed file differs, a session or task has no action, or an action
directory has neither.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import jinja2

from shipline import catalogue, delivery
from shipline.tiers import DEFAULT_TIER, SESSION_TIERS

PINNED: Mapping[str, str] = {
    "setup-python": "actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065 # v5.6.0",
    "cache": "actions/cache@5a3ec84eff668545956fd18022155c47e93e2684 # v4.2.3",
}
"""Third-party actions the composite actions use, pinned to full commit SHAs."""

REGENERATE = "invoke actions"


@dataclass(frozen=True)
class Input:
    name: str
    description: str
    default: str
    env: str | None = None
    """The variable the run step receives it in; inputs never expand inside `run:`."""


@dataclass(frozen=True)
class Output:
    name: str
    description: str


@dataclass(frozen=True)
class Action:
    name: str
    description: str
    sessions: tuple[str, ...]
    """The nox sessions it runs; empty for a task action."""
    inputs: tuple[Input, ...]
    outputs: tuple[Output, ...] = ()

    @property
    def task(self) -> str | None:
        """The invoke task it runs, for a delivery action."""
        return None if self.sessions else self.name

    @property
    def command(self) -> str:
        if self.task:
            return f"invoke {self.task}"
        if self.name == "coverage":
            return "nox -s coverage -- <tier>"
        return "nox -s <tier>" if self.name == "test" else f"nox -s {self.sessions[0]}"

    @property
    def path(self) -> Path:
        return Path("actions", self.name, "action.yml")


COMMON_INPUTS = (
    Input("python-version", "Python version to run the session with", "3.12"),
    Input("working-directory", "The project's directory (where its pyproject.toml is)", "."),
    Input("args", "Arguments passed to the session after --, shell-quoted", "", "SHIPLINE_ARGS"),
)
TASK_INPUTS = (
    Input("python-version", "Python version to run the task with", "3.12"),
    Input("working-directory", "The project's directory (where its tasks.py is)", "."),
    Input("args", "Arguments passed to the task, shell-quoted", "", "SHIPLINE_ARGS"),
)
TASK_OUTPUTS: Mapping[str, tuple[Output, ...]] = {
    "build": (
        Output("image-id", "The built image's ID"),
        Output("tags", "The image references, one per line"),
        Output("version", "The main tag, passed to the build as APP_VERSION"),
    ),
    "push": (
        Output("digest", "The pushed manifest's digest"),
        Output("tags", "The pushed image references, one per line"),
    ),
    "deploy": (
        Output("version", "The version now live on every host"),
        Output("overhead-seconds", "Deploy time minus time to healthy, slowest host"),
    ),
}
SARIF_INPUT = Input(
    "sarif", "Also write SARIF for code scanning (true/false)", "false", catalogue.SARIF_ENV
)


SARIF_OUTPUT = Output("sarif", "Path of the SARIF file, when sarif is true")


def action_name(check: catalogue.Check) -> str:
    return "test" if check.tier in SESSION_TIERS else check.name


def check_actions() -> tuple[Action, ...]:
    """One action per check session, derived from the catalogue."""
    actions: dict[str, Action] = {}
    for check in catalogue.CHECKS:
        name = action_name(check)
        if name in actions:
            continue
        if name == "test":
            tiers = tuple(c.name for c in catalogue.CHECKS if action_name(c) == "test")
            actions[name] = Action(
                name="test",
                description=f"shipline test tiers by pytest marker ({', '.join(tiers)}): "
                "`nox -s <tier>` with coverage gate, xdist and reports",
                sessions=tiers,
                inputs=(
                    Input(
                        "tier",
                        f"The tier to run: one of {', '.join(tiers)}",
                        DEFAULT_TIER,
                        "SHIPLINE_TIER",
                    ),
                    Input(
                        "shard",
                        "K/N: run the K-th of N groups of the tier's tests (no gate; "
                        "the coverage action gates the total); empty: all of them",
                        "",
                        "SHIPLINE_SHARD",
                    ),
                    *COMMON_INPUTS,
                ),
                outputs=(
                    Output("junit", "Path of the JUnit XML report"),
                    Output("coverage", "Path of the coverage XML report"),
                    Output("coverage-percent", "Total coverage, in percent"),
                ),
            )
            continue
        if name == "coverage":
            actions[name] = _coverage_action(check)
            continue
        sarif = check.name in ("lint", "security")
        actions[name] = Action(
            name=name,
            description=f"shipline {name}: {check.description} (`nox -s {name}`)",
            sessions=(check.name,),
            inputs=(*COMMON_INPUTS, *((SARIF_INPUT,) if sarif else ())),
            outputs=(SARIF_OUTPUT,) if sarif else (),
        )
    return tuple(actions.values())


def _coverage_action(check: catalogue.Check) -> Action:
    """The job after a sharded tier's shards: `nox -s coverage -- <tier>` over their data."""
    return Action(
        name=check.name,
        description=f"shipline coverage: {check.description} (`nox -s coverage -- <tier>`)",
        sessions=(check.name,),
        inputs=(
            Input("tier", "The sharded tier to combine", DEFAULT_TIER, "SHIPLINE_TIER"),
            *COMMON_INPUTS,
        ),
        outputs=(
            Output("coverage", "Path of the combined coverage XML report"),
            Output("coverage-percent", "Total coverage of every shard, in percent"),
        ),
    )


def task_actions() -> tuple[Action, ...]:
    """One action per delivery task, described by the task's docstring (`shipline.delivery`)."""
    return tuple(
        Action(
            name=task.name,
            description=f"shipline {task.name}: {task.summary} (`invoke {task.name}`)",
            sessions=(),
            inputs=TASK_INPUTS,
            outputs=TASK_OUTPUTS.get(task.name, ()),
        )
        for task in delivery.TASKS
    )


def all_actions() -> tuple[Action, ...]:
    return (*check_actions(), *task_actions())


TEMPLATE = """\
# Generated by `{{ regenerate }}` from shipline's catalogue and tasks; do not edit.
# It runs exactly what a developer runs: {{ sessions }}.
name: "shipline {{ action.name }}"
description: "{{ action.description }}"
author: "shipline"
branding:
  icon: "check-circle"
  color: "green"
inputs:
{%- for input in action.inputs %}
  {{ input.name }}:
    description: "{{ input.description }}"
    required: false
    default: "{{ input.default }}"
{%- endfor %}
{%- if action.outputs %}
outputs:
{%- for output in action.outputs %}
  {{ output.name }}:
    description: "{{ output.description }}"
    value: {{ expr("steps.run.outputs." + output.name) }}
{%- endfor %}
{%- endif %}
runs:
  using: "composite"
  steps:
    - name: "Set up Python"
      uses: {{ pinned["setup-python"] }}
      with:
        python-version: {{ expr("inputs.python-version") }}
    - name: "Cache pip and uv downloads"
      uses: {{ pinned["cache"] }}
      with:
        path: |
          ~/.cache/pip
          ~/.cache/uv
        key: {{ cache_prefix }}{{ expr(lock_hash) }}
        restore-keys: |
          {{ cache_prefix }}
    - name: "Install shipline from this action's own checkout"
      shell: bash
      env:
        SHIPLINE_SOURCE: {{ expr("github.action_path") }}/../..
      run: python -m pip install --disable-pip-version-check --quiet "$SHIPLINE_SOURCE"
    - name: "{{ action.command }}"
      id: run
      shell: bash
      working-directory: {{ expr("inputs.working-directory") }}
      env:
{%- for input in action.inputs if input.env %}
        {{ input.env }}: {{ expr("inputs." + input.name) }}
{%- endfor %}
      run: python -m shipline.ci {{ action.name }}
"""

LOCK_HASH = (
    "hashFiles(format('{0}/uv.lock', inputs.working-directory), "
    "format('{0}/pyproject.toml', inputs.working-directory))"
)


def expr(expression: str) -> str:
    """A GitHub Actions expression, for `with:`, `env:` and outputs, never `run:`."""
    return "${{ " + expression + " }}"


def render(action: Action) -> str:
    env = jinja2.Environment(autoescape=False, keep_trailing_newline=True)  # noqa: S701 - YAML
    prefix = f"shipline-{action.name}-{expr('runner.os')}-py{expr('inputs.python-version')}-"
    return env.from_string(TEMPLATE).render(
        action=action,
        pinned=PINNED,
        regenerate=REGENERATE,
        sessions=", ".join(f"nox -s {s}" for s in action.sessions) or action.command,
        expr=expr,
        cache_prefix=prefix,
        lock_hash=LOCK_HASH,
    )


def expected(actions: tuple[Action, ...] | None = None) -> dict[Path, str]:
    """The action files as the catalogue says they must be, by path relative to the root."""
    return {action.path: render(action) for action in actions or all_actions()}


def problems(root: Path, actions: tuple[Action, ...] | None = None) -> list[str]:
    """Why the committed actions do not mirror the catalogue; empty when they do."""
    actions = actions or all_actions()
    found: list[str] = []
    covered = {session for action in actions for session in action.sessions}
    for name in catalogue.NAMES:
        if name not in covered:
            found.append(f"session {name!r} has no action; add it in shipline.actions")
    task_actions_ = {action.task for action in actions if action.task}
    for name in delivery.DELIVERY:
        if name not in task_actions_:
            found.append(f"task {name!r} has no action; add it in shipline.actions")
    for name in sorted(task_actions_ - set(delivery.DELIVERY)):
        found.append(f"actions/{name} runs task {name!r}, which is not a delivery task")
    for path, text in expected(actions).items():
        target = root / path
        if not target.is_file():
            found.append(f"{path} is missing; run `{REGENERATE}` to create it")
        elif target.read_text() != text:
            found.append(f"{path} is out of date with the catalogue; run `{REGENERATE}`")
    known = {action.name for action in actions}
    for directory in sorted((root / "actions").glob("*/")):
        if (
            directory.is_dir()
            and directory.name not in known
            and (directory / "action.yml").exists()
        ):
            found.append(
                f"actions/{directory.name} has no session or task; remove it, "
                "or add its check to the catalogue or its task to shipline.tasks"
            )
    return found


def write(root: Path, actions: tuple[Action, ...] | None = None) -> list[Path]:
    """Write the action files; returns those that changed."""
    changed: list[Path] = []
    for path, text in expected(actions).items():
        target = root / path
        if not target.is_file() or target.read_text() != text:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            changed.append(path)
    return changed
