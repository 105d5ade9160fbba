"""Runs a composite action's steps the way the GitHub runner does, without a runner.

What it does: reads action.yml; resolves `${{ inputs.* }}`, `${{ github.action_path }}`,
`${{ runner.os }}` and `${{ steps.<id>.outputs.* }}` in `env:`, `with:` and
`working-directory:` as the runner would; runs each `run:` step with
`bash --noprofile --norc -eo pipefail` and GITHUB_ACTIONS, GITHUB_OUTPUT,
GITHUB_STEP_SUMMARY and GITHUB_ACTION_PATH set; collects outputs.

What it does not do: it is not GitHub's runner. `actions/setup-python` is
stood in for by a virtualenv made once from this interpreter (the requested
version must be the one running the tests), `actions/cache` is a no-op, other
`uses:` are refused, and the expression language is limited to the names above
(a `run:` script with any `${{ }}` is refused outright, as shipline's rules say).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from support.run import clean_env

EXPRESSION = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")


@dataclass(frozen=True)
class ActionRun:
    code: int
    log: str
    outputs: dict[str, str]
    summary: str

    def __str__(self) -> str:
        return f"exit {self.code}\n{self.log}"


def make_runner_python(directory: Path) -> Path:
    """The stand-in for actions/setup-python: a fresh virtualenv's bin directory."""
    subprocess.run([sys.executable, "-m", "venv", str(directory)], check=True)
    return directory / "bin"


def _read_outputs(path: Path) -> dict[str, str]:
    """GITHUB_OUTPUT's two forms, as the runner reads them: key=value and key<<DELIMITER."""
    values: dict[str, str] = {}
    lines = path.read_text().splitlines() if path.is_file() else []
    index = 0
    while index < len(lines):
        line = lines[index]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, index + 1)
            values[key] = "\n".join(lines[index + 1 : end])
            index = end + 1
            continue
        if "=" in line:
            key, value = line.split("=", 1)
            values[key] = value
        index += 1
    return values


class _Evaluator:
    def __init__(self, inputs: Mapping[str, str], action_path: Path) -> None:
        self.inputs = inputs
        self.action_path = action_path
        self.steps: dict[str, dict[str, str]] = {}

    def value(self, expression: str) -> str:
        parts = expression.split(".")
        if parts[0] == "inputs" and len(parts) == 2:
            return self.inputs[parts[1]]
        if expression == "github.action_path":
            return str(self.action_path)
        if expression == "runner.os":
            return "Linux"
        if parts[0] == "steps" and len(parts) == 4 and parts[2] == "outputs":
            return self.steps.get(parts[1], {}).get(parts[3], "")
        raise ValueError(f"expression not supported by the harness: {expression}")

    def text(self, text: str) -> str:
        return EXPRESSION.sub(lambda m: self.value(m.group(1)), str(text))


def run_action(
    action_yml: Path,
    inputs: Mapping[str, str],
    workspace: Path,
    python_bin: Path,
    env: Mapping[str, str] | None = None,
) -> ActionRun:
    spec: dict[str, Any] = yaml.safe_load(action_yml.read_text())
    assert spec["runs"]["using"] == "composite"
    declared = spec.get("inputs", {})
    unknown = set(inputs) - set(declared)
    assert not unknown, f"inputs not declared by the action: {unknown}"
    resolved = {name: str(inputs.get(name, d.get("default", ""))) for name, d in declared.items()}
    evaluate = _Evaluator(resolved, action_yml.parent)
    runner_files = workspace / ".runner"
    runner_files.mkdir(exist_ok=True)
    summary = runner_files / "step_summary.md"
    summary.write_text("")
    log: list[str] = []
    code = 0
    for step in spec["runs"]["steps"]:
        if "uses" in step:
            uses = step["uses"]
            if uses.startswith("actions/setup-python@"):
                wanted = evaluate.text(step["with"]["python-version"])
                here = f"{sys.version_info.major}.{sys.version_info.minor}"
                assert wanted == here, f"harness python is {here}, action asked for {wanted}"
            elif not uses.startswith("actions/cache@"):
                raise AssertionError(f"the harness cannot run {uses}")
            log.append(f"[harness] {step.get('name', uses)}: environment setup")
            continue
        script = step["run"]
        assert "${{" not in script, f"expression inside run: in {action_yml}: {script}"
        output_file = runner_files / f"output-{len(log)}"
        output_file.write_text("")
        step_env = clean_env(env)
        step_env.update({k: evaluate.text(v) for k, v in step.get("env", {}).items()})
        step_env.update(
            {
                "GITHUB_ACTIONS": "true",
                "GITHUB_OUTPUT": str(output_file),
                "GITHUB_STEP_SUMMARY": str(summary),
                "GITHUB_ACTION_PATH": str(action_yml.parent),
                "PATH": f"{python_bin}{os.pathsep}{step_env.get('PATH', '')}",
            }
        )
        cwd = workspace / evaluate.text(step.get("working-directory", "."))
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=cwd,
            env=step_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
            timeout=900,
        )
        log.append(f"[harness] {step.get('name', 'run')}: exit {done.returncode}")
        log.append(done.stdout)
        if "id" in step:
            evaluate.steps[step["id"]] = _read_outputs(output_file)
        if done.returncode != 0:
            code = done.returncode
            break
    outputs = {name: evaluate.text(o["value"]) for name, o in spec.get("outputs", {}).items()}
    return ActionRun(code, "\n".join(log), outputs, summary.read_text())
